import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ActionResult } from '@digestline/local';
import type { ChildCall } from './children.js';

/** Lines of a multi-line secret shorter than this are structure (`-----END…`), not secret material. */
const MIN_LINE = 16;
/** Bytes of one file searched; test artifacts are far smaller. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

/**
 * The secret values of a sweep, each under the name of the input it was given as. A value is found as
 * it is, base64-encoded, and (multi-line) by any of its lines.
 */
export class Secrets {
  private readonly needles: { name: string; needle: string }[] = [];

  /** A fresh value nobody else uses, registered under `name`. */
  marker(name: string): string {
    return this.add(name, `sweep-${name}-${randomBytes(9).toString('hex')}`);
  }

  add(name: string, value: string): string {
    this.needles.push({ name, needle: value });
    this.needles.push({ name: `${name} (base64)`, needle: Buffer.from(value).toString('base64') });
    const lines = value.split(/\r?\n/).map((line) => line.trim());
    if (lines.length > 1) {
      for (const line of lines) if (line.length >= MIN_LINE) this.needles.push({ name, needle: line });
    }
    return value;
  }

  /** Names of the secrets that occur in `text`, each once. */
  in(text: string): string[] {
    return [...new Set(this.needles.filter(({ needle }) => text.includes(needle)).map(({ name }) => name))];
  }
}

/** Where to look after a run, beside the run's own output. */
export interface Places {
  result?: ActionResult;
  /** Directories whose files are searched (workspace, RUNNER_TEMP, the registry's storage). */
  dirs?: Record<string, string>;
  /** Anything else a run produced (webhook bodies, GitHub API request bodies), as JSON. */
  values?: Record<string, unknown>;
  /** Processes the action started: their arguments are searched. */
  calls?: ChildCall[];
}

/** Every place a secret was found, as `place: secret name`; empty when there is none. */
export async function findLeaks(secrets: Secrets, places: Places): Promise<string[]> {
  const found: string[] = [];
  const look = (place: string, text: string) => {
    for (const name of secrets.in(text)) found.push(`${place}: ${name}`);
  };
  const { result } = places;
  if (result !== undefined) {
    for (const [stream, text] of [
      ['stdout', result.stdout],
      ['stderr', result.stderr],
    ] as const) {
      // Registering a secret is the one place its value may be written.
      const shown = text.split('\n').filter((line) => !line.startsWith('::add-mask::'));
      look(stream, shown.join('\n'));
    }
    look('job summary', result.summary);
    look('outputs', JSON.stringify(result.outputs));
    look('saved state', JSON.stringify(result.state));
    look('exported environment', JSON.stringify(result.exportedEnv));
  }
  for (const [place, dir] of Object.entries(places.dirs ?? {})) {
    for (const file of await filesUnder(dir)) {
      const bytes = await readFile(file);
      for (const text of readable(bytes.subarray(0, MAX_FILE_BYTES)))
        look(`${place}/${relative(dir, file)}`, text);
    }
  }
  for (const [place, value] of Object.entries(places.values ?? {})) {
    for (const text of readable(Buffer.from(JSON.stringify(value) ?? ''))) look(place, text);
  }
  for (const call of places.calls ?? []) look(`arguments of ${call.tool}`, call.args.join('\n'));
  return [...new Set(found)];
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return files;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) files.push(...(await filesUnder(path)));
    else if (info?.isFile()) files.push(path);
  }
  return files;
}

/**
 * The text of some bytes and of what they carry encoded: a gzip stream (layers, uploaded SARIF) and
 * base64 runs (DSSE payloads, the SARIF upload's body, basic credentials), one level deep.
 */
function readable(bytes: Buffer, depth = 0): string[] {
  const plain = isGzip(bytes) ? gunzipOrSelf(bytes) : bytes;
  const text = plain.toString('utf8');
  const texts = [text];
  if (depth > 1) return texts;
  for (const match of text.matchAll(/[A-Za-z0-9+/_-]{24,}={0,2}/g)) {
    const decoded = Buffer.from(match[0].replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    texts.push(...readable(decoded, depth + 1));
  }
  return texts;
}

function isGzip(bytes: Buffer): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gunzipOrSelf(bytes: Buffer): Buffer {
  try {
    return gunzipSync(bytes);
  } catch {
    return bytes;
  }
}
