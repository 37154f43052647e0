import { ConfigurationError } from '@digestline/base';
import { secret } from './outputs.js';

/** Whether the job may ask for an OIDC token: `permissions: id-token: write` puts these in its environment. */
export function hasIdToken(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
}

/**
 * The job's OIDC identity token for `audience` (e.g. `sigstore` for a Fulcio certificate), masked before
 * anything could print it. The runner issues it only to jobs with `permissions: id-token: write`.
 */
export async function idToken(audience: string): Promise<string> {
  if (!hasIdToken()) {
    throw new ConfigurationError(
      'This job has no OIDC token: add `permissions: id-token: write` to the job (keyless signing asks the runner for its identity token).',
    );
  }
  // Loaded only here: @actions/core brings its HTTP client, which no other step of a run needs.
  const core = await import('@actions/core');
  return secret(await core.getIDToken(audience)) as string;
}
