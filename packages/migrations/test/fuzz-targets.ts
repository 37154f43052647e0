// What the discovery fuzz test runs in its worker: a tree written to a fresh directory, then discovery
// on it as the action calls it.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { discoverMigrations, type Format } from '../src/discovery.js';

export interface TreeEntry {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  bytes?: Uint8Array;
  /** For a symlink: where it points, as written (absolute, or relative to the link). */
  target?: string;
}

export interface DiscoveryInput {
  entries: TreeEntry[];
  paths: string[];
  format: string;
}

export async function discovery(input: DiscoveryInput): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'fuzz-discovery-'));
  try {
    for (const entry of input.entries) {
      // A name the file system refuses (too long, a directory where a file is) is not discovery's input.
      const at = join(root, entry.path);
      try {
        await mkdir(dirname(at), { recursive: true });
        if (entry.kind === 'dir') await mkdir(at, { recursive: true });
        else if (entry.kind === 'symlink') await symlink(entry.target ?? '.', at);
        else await writeFile(at, entry.bytes ?? new Uint8Array());
      } catch {}
    }
    await discoverMigrations({ paths: input.paths, root, format: input.format as Format });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
