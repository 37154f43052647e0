import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Trivy's vulnerability database cannot be downloaded on a machine without internet: this writes an empty
 * one, so Trivy runs its real scan (secrets, misconfigurations, and vulnerability matching that finds
 * nothing) instead of failing on the download. Vulnerability findings come from recorded reports.
 *
 * The database is a bbolt file: two meta pages, an empty freelist page and an empty root leaf page
 * (the layout bbolt itself writes for a new file), plus the `metadata.json` Trivy reads to decide
 * whether an update is due. `NextUpdate` one day ahead makes Trivy use it as it is.
 */
export async function writeEmptyTrivyDatabase(cacheDir: string, now = new Date()): Promise<string> {
  const PAGE = 4096;
  const file = Buffer.alloc(PAGE * 4);
  const META = 0x04;
  const FREELIST = 0x10;
  const LEAF = 0x02;
  const header = (id: number, flags: number) => {
    file.writeBigUInt64LE(BigInt(id), id * PAGE);
    file.writeUInt16LE(flags, id * PAGE + 8);
  };
  for (const id of [0, 1]) {
    header(id, META);
    const meta = id * PAGE + 16;
    file.writeUInt32LE(0xed0cdaed, meta); // magic
    file.writeUInt32LE(2, meta + 4); // format version
    file.writeUInt32LE(PAGE, meta + 8);
    file.writeUInt32LE(0, meta + 12); // flags
    file.writeBigUInt64LE(3n, meta + 16); // root bucket's page
    file.writeBigUInt64LE(0n, meta + 24); // root bucket's sequence
    file.writeBigUInt64LE(2n, meta + 32); // freelist page
    file.writeBigUInt64LE(4n, meta + 40); // high-water page id
    file.writeBigUInt64LE(BigInt(id), meta + 48); // transaction id
    file.writeBigUInt64LE(fnv1a64(file.subarray(meta, meta + 56)), meta + 56);
  }
  header(2, FREELIST);
  header(3, LEAF);
  const dir = join(cacheDir, 'db');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'trivy.db'), file);
  const day = 24 * 60 * 60 * 1000;
  await writeFile(
    join(dir, 'metadata.json'),
    JSON.stringify({
      Version: 2,
      NextUpdate: new Date(now.getTime() + day).toISOString(),
      UpdatedAt: now.toISOString(),
      DownloadedAt: now.toISOString(),
    }),
  );
  return dir;
}

function fnv1a64(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash;
}
