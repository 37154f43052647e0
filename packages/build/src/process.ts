import { childEnvironment, DigestlineError } from '@digestline/base';

/** How much of a failed tool's output an error message quotes: the end, where the reason is. */
const TAIL_CHARS = 4_000;

export class ToolError extends DigestlineError<'TOOL_FAILED'> {
  override name = 'ToolError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly output: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { code: 'TOOL_FAILED', fault: 'environment', cause: options.cause });
  }
}

export interface RunOptions {
  /** Added to the host's own environment, less what no child may see (`toolEnvironment`). */
  env?: Record<string, string>;
  /** Copy the tool's output to the step log as it comes (a build's progress); otherwise it is only kept. */
  stream?: boolean;
  timeoutMs?: number;
}

/**
 * Runs buildah, docker, syft and trivy for the build, the way its host runs processes (the action: on
 * the runner, its output in the step log), with `toolEnvironment`. A tool runs without a shell, so
 * arguments are never re-parsed (a path or build arg with spaces or quotes stays one argument). Resolves
 * with the tool's output (stdout and stderr as they came); rejects with `toolFailed` or `toolNotStarted`.
 */
export interface ProcessRunner {
  run(command: string, args: string[], options?: RunOptions): Promise<string>;
}

/**
 * The environment a tool starts with: the host's without the action's inputs, the runner's tokens and
 * saved state (a tool runs the repository's Dockerfile and reads its files), plus what `options` adds.
 */
export function toolEnvironment(
  options: RunOptions = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  return childEnvironment(env, options.env);
}

/** A tool exited non-zero or was killed: the error quotes the end of its output. */
export function toolFailed(
  command: string,
  args: string[],
  ended: { code: number | null; signal: string | null },
  output: string,
): ToolError {
  const tail = output.trim().slice(-TAIL_CHARS);
  const how = ended.signal === null ? `exited with ${ended.code}` : `was killed (${ended.signal})`;
  return new ToolError(
    `${command} ${args[0] ?? ''} ${how}${tail === '' ? '' : `:\n${tail}`}`,
    ended.code,
    output,
  );
}

/** A tool could not be started at all (not on PATH, not executable). */
export function toolNotStarted(command: string, error: Error): ToolError {
  return new ToolError(`could not run ${command}: ${error.message}`, null, '', { cause: error });
}

/** Whether `command` runs at all (it is on PATH and answers `args`). */
export async function answers(
  runner: ProcessRunner,
  command: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<boolean> {
  try {
    await runner.run(command, args, { timeoutMs });
    return true;
  } catch {
    return false;
  }
}
