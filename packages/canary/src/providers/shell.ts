import { spawn } from 'node:child_process';
import { childEnvironment, errorClass } from '@digestline/base';

/** Runs `command` with `sh -c`; rejects with its exit status and the end of its output. */
export function runShell(
  what: string,
  command: string,
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    onOutput?: (line: string) => void;
  } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      cwd: options.cwd,
      // Never the action's inputs or the runner's tokens: the command is the workflow's own shell text.
      env: childEnvironment(options.env ?? process.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 300_000,
    });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-2000);
      for (const line of text.split('\n')) if (line !== '') options.onOutput?.(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (error) =>
      reject(new CommandError(`the ${what} command could not start`, { cause: error })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      const lines = tail.trim().split('\n').slice(-5).join(' | ');
      reject(
        new CommandError(
          `the ${what} command failed with ${how}${lines === '' ? '' : `; its output ended with: ${lines}`}`,
        ),
      );
    });
  });
}

export class CommandError extends errorClass('CommandError', 'COMMAND_FAILED', 'environment') {}
