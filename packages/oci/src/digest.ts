import { createHash } from 'node:crypto';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Only sha256 is accepted: it is the one algorithm every registry and signer agrees on. */
export function isDigest(value: string): boolean {
  return SHA256_DIGEST.test(value);
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Hashes and counts a byte stream as it passes through, so a blob can be verified while it is
 * streamed from one registry to another without holding it in memory.
 */
export function digestingStream(source: AsyncIterable<Uint8Array>, onChunk?: (bytesSoFar: number) => void) {
  const hash = createHash('sha256');
  let size = 0;
  let finished = false;
  async function* pass() {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
      onChunk?.(size);
      yield chunk;
    }
    finished = true;
  }
  return {
    stream: pass(),
    size: () => size,
    finished: () => finished,
    /** Only once the stream was read to its end. */
    digest(): string {
      if (!finished) throw new Error('the stream was not read to its end');
      return `sha256:${hash.digest('hex')}`;
    },
  };
}
