import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { type Descriptor, type ImageIndex, type ImageManifest, isIndexMediaType } from './types.js';

export interface BlobLocation {
  client: RegistryClient;
  repository: string;
}

export type BlobCopyResult = 'exists' | 'mounted' | 'copied';

/** How many blobs of one image move at once: enough to fill a link, few enough not to trip rate limits. */
const BLOB_CONCURRENCY = 4;
/**
 * How deep indexes may nest below the top one. Real images nest one level (an index of platform
 * images), rarely two; a source nesting deeper would have the copy recurse as far as it likes.
 */
export const MAX_INDEX_DEPTH = 8;

/**
 * Copies one blob, doing the least work possible: nothing when the target has it, a mount within
 * one registry, otherwise a stream from source to target that is hashed on the way and committed
 * only when it matches. `onProgress` reports the bytes streamed so far.
 */
export async function copyBlob(
  from: BlobLocation,
  to: BlobLocation,
  descriptor: { digest: string; size: number },
  options: { onProgress?: (bytes: number, total: number) => void } = {},
): Promise<BlobCopyResult> {
  if (await to.client.blobExists(to.repository, descriptor.digest)) return 'exists';
  if (from.client.registry === to.client.registry) {
    try {
      if (await to.client.mountBlob(to.repository, descriptor.digest, from.repository)) return 'mounted';
    } catch (error) {
      // The target's credentials may not read the source repository; the source client can.
      if (!(error instanceof RegistryError && (error.status === 401 || error.status === 403))) throw error;
    }
  }
  await to.client.pushBlobStream(
    to.repository,
    descriptor,
    async () => (await from.client.openBlob(from.repository, descriptor.digest)).stream,
    options,
  );
  return 'copied';
}

export interface ImageCopyResult {
  digest: string;
  blobs: { copied: number; mounted: number; existed: number; bytes: number };
}

/**
 * Copies an image or an index with everything below it, children before parents, so the target
 * never holds a manifest whose content is missing. Manifests keep their exact bytes (and so their
 * digests); the top one is pushed as `to.tag`, or by digest alone. A manifest the target already
 * has is not descended into.
 */
export async function copyImage(
  from: BlobLocation & { reference: string },
  to: BlobLocation & { tag?: string },
  options: { onProgress?: (bytes: number, total: number, digest: string) => void } = {},
): Promise<ImageCopyResult> {
  const blobs = { copied: 0, mounted: 0, existed: 0, bytes: 0 };

  const copyBlobs = async (descriptors: Descriptor[]) => {
    const unique = [...new Map(descriptors.map((d) => [d.digest, d])).values()];
    await eachLimited(unique, BLOB_CONCURRENCY, async (descriptor) => {
      const result = await copyBlob(from, to, descriptor, {
        onProgress: (bytes, total) => options.onProgress?.(bytes, total, descriptor.digest),
      });
      if (result === 'copied') {
        blobs.copied++;
        blobs.bytes += descriptor.size;
      } else if (result === 'mounted') blobs.mounted++;
      else blobs.existed++;
    });
  };

  const copyContent = async (bytes: Buffer, mediaType: string, depth: number): Promise<void> => {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<ImageManifest & ImageIndex>;
    if (isIndexMediaType(mediaType) || Array.isArray(parsed.manifests)) {
      if (depth >= MAX_INDEX_DEPTH) {
        throw new RegistryError(
          `copying ${from.client.registry}/${from.repository}@${from.reference}: its indexes nest more than ${MAX_INDEX_DEPTH} deep, and digestline copies no deeper: the copy stopped there and tagged nothing. Fix: copy the platform images, or an index of them, instead.`,
          { registry: from.client.registry, repository: from.repository },
        );
      }
      for (const child of parsed.manifests ?? []) {
        if (await to.client.headManifest(to.repository, child.digest)) continue;
        const manifest = await from.client.getManifest(from.repository, child.digest);
        await copyContent(manifest.bytes, manifest.mediaType, depth + 1);
        await to.client.putManifest(to.repository, child.digest, manifest.bytes, manifest.mediaType);
      }
      return;
    }
    if (parsed.config === undefined) {
      throw new Error(
        `copying ${from.client.registry}/${from.repository}: a manifest of type ${mediaType} has no config`,
      );
    }
    await copyBlobs([parsed.config, ...(parsed.layers ?? [])]);
  };

  const root = await from.client.getManifest(from.repository, from.reference);
  if (!(await to.client.headManifest(to.repository, root.digest)))
    await copyContent(root.bytes, root.mediaType, 0);
  await to.client.putManifest(to.repository, to.tag ?? root.digest, root.bytes, root.mediaType);
  return { digest: root.digest, blobs };
}

async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
