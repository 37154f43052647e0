import { createHash } from 'node:crypto';
import { corpusBytes } from '../../../test/harness/corpus.js';

/** A file of the real cosign output in the shared corpus. */
export function corpusFile(path: string): Buffer {
  return corpusBytes(`cosign/${path}`);
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
