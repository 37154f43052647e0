import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  MediaType,
  type Platform,
  type RegistryClient,
  sha256Digest,
} from '@digestline/oci';
import { LAYOUT_TAG } from './builder.js';
import { BuildOutputError, MergeError } from './errors.js';

/** A manifest as it is (or will be) in the registry: exact bytes, digest, media type. */
export interface PushedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  platform?: Platform;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', ...digest.split(':'));
}

async function readJson<T>(path: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw new BuildOutputError(`the builder's OCI layout has an unreadable ${what} (${path})`, {
      cause: error,
    });
  }
}

/** The platform an image manifest is for, from its config (what `docker pull` matches on). */
export function platformOf(config: {
  os?: unknown;
  architecture?: unknown;
  variant?: unknown;
}): Platform | undefined {
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') return undefined;
  return {
    os: config.os,
    architecture: config.architecture,
    ...(typeof config.variant === 'string' && config.variant !== '' ? { variant: config.variant } : {}),
  };
}

/**
 * Pushes the one image of an OCI layout: blobs the repository lacks, then the manifest by digest. No tag
 * is written, so a failure after this leaves nothing anyone would pull by name.
 */
export async function pushLayout(
  client: RegistryClient,
  repository: string,
  layout: string,
): Promise<PushedManifest> {
  const index = await readJson<ImageIndex>(join(layout, 'index.json'), 'index.json');
  const entry =
    index.manifests.length === 1
      ? index.manifests[0]
      : index.manifests.find((d) => d.annotations?.[REF_NAME] === LAYOUT_TAG);
  if (entry === undefined || isIndexMediaType(entry.mediaType)) {
    throw new BuildOutputError(
      `the builder's OCI layout at ${layout} does not hold exactly one image manifest`,
    );
  }
  const bytes = await readFile(blobPath(layout, entry.digest));
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  for (const blob of [manifest.config, ...manifest.layers]) await pushBlob(client, repository, layout, blob);
  const config = await readJson<Record<string, unknown>>(
    blobPath(layout, manifest.config.digest),
    'image config',
  );
  const mediaType = manifest.mediaType ?? entry.mediaType;
  const { digest } = await client.putManifest(repository, sha256Digest(bytes), bytes, mediaType);
  const platform = platformOf(config);
  return { bytes, digest, mediaType, ...(platform === undefined ? {} : { platform }) };
}

async function pushBlob(
  client: RegistryClient,
  repository: string,
  layout: string,
  blob: Descriptor,
): Promise<void> {
  if (await client.blobExists(repository, blob.digest)) return;
  const path = blobPath(layout, blob.digest);
  await client.pushBlobStream(repository, { digest: blob.digest, size: blob.size }, async () =>
    readExactly(path, blob.size),
  );
}

const CHUNK_BYTES = 1024 * 1024;

/**
 * The file's first `size` bytes, with the file closed before the last chunk is handed out: the client
 * hashes the stream and needs it to have ended by the time the registry answers the upload, which a
 * file stream that still has an end-of-file read and a close ahead of it does not promise.
 */
async function* readExactly(path: string, size: number): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  let closed = false;
  try {
    for (let offset = 0; offset < size; ) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - offset));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      if (offset >= size) {
        closed = true;
        await file.close();
      }
      yield chunk.subarray(0, bytesRead);
    }
  } finally {
    if (!closed) await file.close();
  }
}

/** An OCI image index over per-platform manifests, in the order given. */
export function imageIndex(manifests: PushedManifest[]): PushedManifest {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: manifests.map((m) => ({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.bytes.length,
      ...(m.platform === undefined ? {} : { platform: m.platform }),
    })),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  return { bytes, digest: sha256Digest(bytes), mediaType: MediaType.ociIndex };
}

/** A manifest already in the repository (pushed by another runner), with its platform. */
export async function fetchPlatformManifest(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<PushedManifest> {
  const { bytes, mediaType } = await client.getManifest(repository, digest);
  if (isIndexMediaType(mediaType)) {
    throw new MergeError(
      `${client.registry}/${repository}@${digest} is already an index; merge the per-platform image digests instead`,
    );
  }
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  const config = JSON.parse((await client.getBlob(repository, manifest.config.digest)).toString('utf8'));
  const platform = platformOf(config);
  if (platform === undefined) {
    throw new MergeError(`${client.registry}/${repository}@${digest} has no os/architecture in its config`);
  }
  return { bytes, digest, mediaType, platform };
}

/** Two manifests for one platform would make an index whose pull result depends on the client. */
export function assertDistinctPlatforms(manifests: PushedManifest[]): void {
  const seen = new Map<string, string>();
  for (const m of manifests) {
    const key = [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/');
    const other = seen.get(key);
    if (other !== undefined) {
      throw new MergeError(`${other} and ${m.digest} are both ${key}: give one digest per platform`);
    }
    seen.set(key, m.digest);
  }
}
