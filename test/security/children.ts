import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';

/** One process an action started through PATH: its name, arguments and environment. */
export interface ChildCall {
  tool: string;
  args: string[];
  env: Record<string, string>;
}

export interface ChildRecorder {
  /** A PATH with the recording tools first, then the system's (never pnpm's node_modules/.bin). */
  path: string;
  /** Every call so far, in no particular order. */
  calls(): Promise<ChildCall[]>;
  remove(): Promise<void>;
}

export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Puts a tool of each given name first on PATH that writes down its arguments and environment, then
 * runs `body` (shell text that sees the arguments as "$@", e.g. `exec /usr/bin/buildah "$@"`).
 */
export async function recordChildren(tools: Record<string, string>): Promise<ChildRecorder> {
  const dir = await makeTempDir('children');
  const bin = join(dir.path, 'bin');
  const log = join(dir.path, 'log');
  await Promise.all([mkdir(bin), mkdir(log)]);
  for (const [tool, body] of Object.entries(tools)) {
    // Absolute paths only: `sh` itself may be one of the recorded tools.
    const script = [
      '#!/bin/sh',
      `call=$(/usr/bin/mktemp ${log}/call.XXXXXXXX)`,
      `printf '%s\\0' ${JSON.stringify(tool)} "$@" > "$call"`,
      '/usr/bin/env -0 > "$call.env"',
      body,
      '',
    ].join('\n');
    await writeFile(join(bin, tool), script);
    await chmod(join(bin, tool), 0o755);
  }
  return {
    path: `${bin}:${SYSTEM_PATH}`,
    async calls() {
      const files = (await readdir(log)).filter((name) => !name.endsWith('.env'));
      const calls: ChildCall[] = [];
      for (const file of files) {
        const [tool = '', ...args] = (await readFile(join(log, file), 'utf8')).split('\0').slice(0, -1);
        const env: Record<string, string> = {};
        for (const entry of (await readFile(join(log, `${file}.env`), 'utf8')).split('\0')) {
          const eq = entry.indexOf('=');
          if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
        }
        calls.push({ tool, args, env });
      }
      return calls;
    },
    remove: () => dir.remove(),
  };
}

/** The names of variables a child must never get: the action's inputs, the runner's tokens, saved state. */
export function runnerVariables(call: ChildCall): string[] {
  return Object.keys(call.env).filter((name) => /^(INPUT|ACTIONS|STATE)_/i.test(name));
}
