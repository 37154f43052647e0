import { spawn } from 'node:child_process';
import { DigestlineError } from '@digestline/base';

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

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Copy the tool's output to the step log as it comes (a build's progress); otherwise it is only kept. */
  stream?: boolean;
  timeoutMs?: number;
}

/**
 * Runs a tool without a shell (arguments are never re-parsed, so a path or build arg with spaces or
 * quotes stays one argument) and resolves with its output; a non-zero exit rejects with the tail.
 */
export function exec(command: string, args: string[], options: ExecOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (options.stream) process.stdout.write(text);
      output += text;
      if (output.length > 8 * TAIL_CHARS) output = output.slice(-2 * TAIL_CHARS);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new ToolError(`could not run ${command}: ${error.message}`, null, '', { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(output);
        return;
      }
      const tail = output.trim().slice(-TAIL_CHARS);
      const how = signal === null ? `exited with ${code}` : `was killed (${signal})`;
      reject(
        new ToolError(`${command} ${args[0] ?? ''} ${how}${tail === '' ? '' : `:\n${tail}`}`, code, output),
      );
    });
  });
}

/** Whether `command` runs at all (it is on PATH and answers `args`). */
export async function answers(command: string, args: string[], timeoutMs = 10_000): Promise<boolean> {
  try {
    await exec(command, args, { timeoutMs });
    return true;
  } catch {
    return false;
  }
}
