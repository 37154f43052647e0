import { spawn } from 'node:child_process';
import { type Annotation, parseAnnotations } from '@digestline/local';

export interface ProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
}

/**
 * Runs one step's process in its own process group, so a timeout or a cancelled job ends the step and
 * everything it started.
 */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number; signal?: AbortSignal },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let cancelled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ exitCode: code, stdout, stderr, timedOut, cancelled });
    });
  });
}

/**
 * The step's output as the runner shows it: `::add-mask::` lines hidden and every masked value (the
 * secrets of the job and the values masked so far) replaced by `***`; annotations collected.
 */
export function readLog(
  stdout: string,
  stderr: string,
  masks: Set<string>,
): { log: string; annotations: Annotation[] } {
  const shown: string[] = [];
  for (const line of `${stdout}${stderr}`.split('\n')) {
    const mask = /^::add-mask::(.*)$/.exec(line);
    if (mask) {
      const value = (mask[1] ?? '').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
      if (value !== '') masks.add(value);
      continue;
    }
    shown.push(mask === null ? hide(line, masks) : line);
  }
  const annotations = parseAnnotations(stdout).map((annotation) => ({
    ...annotation,
    message: hide(annotation.message, masks),
  }));
  return { log: shown.join('\n'), annotations };
}

export function hide(text: string, masks: Set<string>): string {
  let out = text;
  for (const value of [...masks].sort((a, b) => b.length - a.length))
    if (value.length > 0) out = out.split(value).join('***');
  return out;
}
