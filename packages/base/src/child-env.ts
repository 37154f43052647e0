/**
 * What a child process (a builder, a scanner, a deploy command, a reload shell) is never given: the
 * action's inputs, which the runner passes as `INPUT_<NAME>` and which hold the cosign key, registry
 * passwords and tokens; the runner's own `ACTIONS_*` variables (the runtime and cache tokens, the OIDC
 * request token and URL); and a post step's saved `STATE_*`. A child that needs a credential gets it
 * by name, added on purpose.
 */
const WITHHELD = /^(?:INPUT|ACTIONS|STATE)_/i;

/** Whether a variable of this name is kept from child processes. */
export function isWithheld(name: string): boolean {
  return WITHHELD.test(name);
}

/**
 * The environment to start a child process with: `env` (by default this process's) without the
 * withheld variables, then `added`, which the caller means the child to have.
 */
export function childEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
  added: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isWithheld(name)) kept[name] = value;
  }
  for (const [name, value] of Object.entries(added)) if (value !== undefined) kept[name] = value;
  return kept;
}
