import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared, read-only corpus of real cosign output (see corpus/PROVENANCE.md). */
const root = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'shared',
  'corpus',
  'cosign',
);

export function corpusFile(path: string): Buffer {
  return readFileSync(join(root, path));
}

export interface CorpusSignature {
  payload: Buffer;
  signature: string;
  /** sha256 of the image manifest the payload names. */
  digest: string;
  reference: string;
}

export function corpusSignature(name: 'key-valid' | 'key-rekor-valid'): CorpusSignature {
  const payload = corpusFile(`${name}/simplesigning-payload.json`);
  const manifest = corpusFile(`${name}/image-manifest.json`);
  return {
    payload,
    signature: corpusFile(`${name}/signature.b64`).toString('utf8').trim(),
    digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
    reference: JSON.parse(payload.toString()).critical.identity['docker-reference'],
  };
}
