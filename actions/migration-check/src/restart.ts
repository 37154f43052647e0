import { lstatSync, readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** V8's switch that keeps WebAssembly on its baseline compiler (Liftoff), without TurboFan tier-up. */
export const BASELINE_WASM_FLAG = '--liftoff-only';

/** From this much SQL on, a restart with {@link BASELINE_WASM_FLAG} saves more than the restart costs. */
export const RESTART_FROM_BYTES = 256 * 1024;

// The estimate stops counting here: the answer is known, and a huge tree is discovery's to refuse.
const MAX_ENTRIES = 10_000;

/**
 * PostgreSQL's parser is WebAssembly, and its grammar is one huge function. By default V8 recompiles it
 * with TurboFan as soon as it is hot, on background threads that compete with the parse for a runner's
 * two cores and touch about 500 MB of memory; within one pass over the migrations that never pays back.
 * On the bench's 20,000 statements the whole step took 0.71–0.78 s with tier-up and 0.57–0.59 s without
 * (peak memory 740 MB against 250 MB). V8 reads the flag only at start-up (`v8.setFlagsFromString` comes
 * too late and changes nothing), and a runner starts `node dist/index.js` without flags: so for a large
 * input this process, before it has loaded anything else or written anything, is replaced by one started
 * with the flag: same pid, arguments, environment and output streams. Returns whether the migrations
 * are that large (in the process that goes on).
 */
export function restartForLargeParse(workspace: string, pathInput: string | undefined): boolean {
  if (sqlBytes(workspace, pathInput) < RESTART_FROM_BYTES) return false;
  // Node 23.11 and later; the installed @types/node predates it.
  const { execve } = process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never };
  if (process.execArgv.includes(BASELINE_WASM_FLAG) || execve === undefined) return true;
  return execve.call(
    process,
    process.execPath,
    [process.execPath, BASELINE_WASM_FLAG, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
}

/**
 * About how many bytes of SQL the `path` input names: only whether a restart pays depends on it, so a
 * glob counts its fixed leading directory, links are not followed and errors count nothing (discovery
 * reports them properly afterwards).
 */
export function sqlBytes(workspace: string, pathInput: string | undefined): number {
  const entries = (pathInput ?? '')
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) entries.push('migrations');
  let bytes = 0;
  let seen = 0;
  const walk = (path: string): void => {
    if (++seen > MAX_ENTRIES || bytes >= RESTART_FROM_BYTES) return;
    try {
      const info = lstatSync(path);
      if (info.isFile() && path.endsWith('.sql')) bytes += info.size;
      else if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    } catch {}
  };
  for (const entry of entries) {
    const fixed = entry.split('/').findIndex((segment) => /[*?[\]{}!]/.test(segment));
    const base = fixed === -1 ? entry : entry.split('/').slice(0, fixed).join('/');
    walk(isAbsolute(base) ? base : join(workspace, base));
  }
  return bytes;
}
