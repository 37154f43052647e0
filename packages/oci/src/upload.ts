import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { repositoryScope } from './auth.js';
import { digestingStream } from './digest.js';
import { DigestMismatchError, RegistryError } from './errors.js';
import type { Requester } from './request.js';

/** Where the next request of an upload goes: each answer hands out a new location (with new state). */
export interface UploadSession {
  location: URL;
}

/**
 * POST, then `upload(session)`. An upload is never resumed or re-sent halfway: on a failure that
 * is worth retrying the session is cancelled and a fresh one started — unless `exists()` finds the
 * blob, because the answer to a completed upload can be lost on the way back.
 */
export async function uploadSession(
  requester: Requester,
  target: { repository: string; digest: string; what: string },
  exists: () => Promise<boolean>,
  upload: (session: UploadSession) => Promise<void>,
): Promise<void> {
  const { repository } = target;
  await requester.retrying(target.what, repository, async (attempt) => {
    if (attempt > 1 && (await exists())) return;
    const started = await requester.send({
      what: `starting an upload to ${requester.registry}/${repository}`,
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/`,
      repository,
      access: 'push',
      expect: [202],
      idempotent: false,
    });
    const session = { location: requester.location(started) };
    try {
      await upload(session);
    } catch (error) {
      await cancelUpload(requester, repository, session.location);
      throw error;
    }
  });
}

/** Best effort: a session left behind only costs the registry some space until it expires. */
export async function cancelUpload(requester: Requester, repository: string, location: URL): Promise<void> {
  await requester
    .send({
      what: `cancelling an upload to ${requester.registry}/${repository}`,
      method: 'DELETE',
      path: location,
      repository,
      access: 'push',
      // distribution wants the delete action for any DELETE; asking up front saves a 401.
      extraScopes: [repositoryScope(repository, 'delete')],
      expect: [204, 404],
      idempotent: false,
    })
    .catch(() => undefined);
}

/** The whole blob in the PUT that closes the session (a "monolithic" upload). */
export async function putWhole(
  requester: Requester,
  target: { repository: string; digest: string; what: string },
  session: UploadSession,
  bytes: Buffer,
): Promise<void> {
  await requester.send({
    what: target.what,
    method: 'PUT',
    path: withDigest(session.location, target.digest),
    repository: target.repository,
    access: 'push',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
    expect: [201],
    idempotent: false,
  });
}

/**
 * One PATCH carrying the stream, then — only once the bytes hashed to the digest — the PUT that
 * commits them. On a mismatch the caller's session is cancelled, so nothing reaches the repository.
 */
export async function patchThenCommit(
  requester: Requester,
  target: { repository: string; digest: string; size: number; what: string },
  session: UploadSession,
  source: AsyncIterable<Uint8Array>,
  onProgress?: (bytes: number, total: number) => void,
): Promise<void> {
  const { repository, digest, size, what } = target;
  const hashed = digestingStream(source, (bytes) => onProgress?.(bytes, size));
  const sizeMismatch = () =>
    new RegistryError(`${what}: the source sent ${hashed.size()} bytes, not ${size}; nothing was committed`, {
      registry: requester.registry,
      repository,
    });
  const body = Readable.from(hashed.stream);
  const patched = await requester
    .send({
      what,
      method: 'PATCH',
      path: session.location,
      repository,
      access: 'push',
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        ...(size > 0 ? { 'content-range': `0-${size - 1}` } : {}),
      },
      body,
      expect: [202],
      idempotent: false,
    })
    .catch((error: unknown) => {
      // A source shorter than announced shows up as the request's length error; say what it means.
      throw hashed.finished() && hashed.size() !== size ? sizeMismatch() : error;
    });
  session.location = requester.location(patched);
  // The registry may answer as soon as it has Content-Length bytes, before the source has signalled its
  // end (a file stream's last read): wait for that end, briefly, so the hash covers the whole source.
  if (!hashed.finished()) await endWithin(body, SOURCE_END_TIMEOUT_MS, sizeMismatch);
  const actual = hashed.digest();
  if (actual !== digest) {
    throw new DigestMismatchError(
      `${what}: the source sent bytes hashing to ${actual}; nothing was committed`,
      {
        registry: requester.registry,
        repository,
        expected: digest,
        actual,
      },
    );
  }
  if (hashed.size() !== size) throw sizeMismatch();
  await requester.send({
    what,
    method: 'PUT',
    path: withDigest(session.location, digest),
    repository,
    access: 'push',
    headers: { 'content-length': '0' },
    expect: [201],
    idempotent: false,
  });
}

const SOURCE_END_TIMEOUT_MS = 5_000;

async function endWithin(stream: Readable, timeoutMs: number, onTimeout: () => Error): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.destroy();
      reject(onTimeout());
    }, timeoutMs);
  });
  try {
    await Promise.race([finished(stream), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}
