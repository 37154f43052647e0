import {
  type BlobLocation,
  copyBlob,
  copyImage,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  type Manifest,
  RegistryError,
} from '@digestline/oci';
import { signatureTag } from '@digestline/signing';

export interface CopyReport {
  /** Layer and config blobs: streamed (bytes counted), mounted within one registry, or already there. */
  blobs: { copied: number; mounted: number; existed: number; bytes: number };
  /** Signature manifest copied or merged into the target's. */
  signatures: 'copied' | 'merged' | 'present' | 'none';
  /** Referrers (attestations, promotion records) added to the target. */
  referrers: number;
}

/** What a copy reports as it goes, for a front end to draw; signatures and referrers follow `image` unreported. */
export type CopyProgress =
  /** Before the first blob: the image's blobs (configs and layers, each once) and their total size. */
  | { step: 'start'; from: string; to: string; blobs: number; bytes: number }
  /** Bytes of one blob streamed so far; a blob that is mounted or already there sends none. */
  | { step: 'blob'; digest: string; bytes: number }
  /** Every blob of the image is in the target: how they got there. */
  | { step: 'image'; blobs: CopyReport['blobs'] };

export interface CopyOptions {
  onProgress?: (progress: CopyProgress) => void;
}

/** The manifest at `reference`, or undefined where the registry has none. */
export async function manifestOrNothing(at: BlobLocation, reference: string): Promise<Manifest | undefined> {
  try {
    return await at.client.getManifest(at.repository, reference);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return undefined;
    throw error;
  }
}

async function copyBlobsOf(
  from: BlobLocation,
  to: BlobLocation,
  manifest: ImageManifest,
  blobs: CopyReport['blobs'],
): Promise<void> {
  for (const descriptor of [manifest.config, ...manifest.layers]) {
    const result = await copyBlob(from, to, descriptor);
    if (result === 'copied') {
      blobs.copied++;
      blobs.bytes += descriptor.size;
    } else if (result === 'mounted') blobs.mounted++;
    else blobs.existed++;
  }
}

/**
 * cosign keeps all signatures of a digest in one manifest under one tag. Signatures the target already
 * holds (made there by another signer) are kept: the source's are added, never swapped in.
 */
async function copySignatures(
  from: BlobLocation,
  to: BlobLocation,
  digest: string,
  blobs: CopyReport['blobs'],
): Promise<CopyReport['signatures']> {
  const tag = signatureTag(digest);
  const source = await manifestOrNothing(from, tag);
  if (source === undefined) return 'none';
  const sourceManifest = JSON.parse(source.bytes.toString('utf8')) as ImageManifest;
  const existing = await manifestOrNothing(to, tag);
  if (existing?.digest === source.digest) return 'present';
  await copyBlobsOf(from, to, sourceManifest, blobs);
  if (existing === undefined) {
    await to.client.putManifest(to.repository, tag, source.bytes, source.mediaType);
    return 'copied';
  }
  const target = JSON.parse(existing.bytes.toString('utf8')) as ImageManifest;
  const key = (l: ImageManifest['layers'][number]) => `${l.digest} ${JSON.stringify(l.annotations ?? {})}`;
  const held = new Set(target.layers.map(key));
  const added = sourceManifest.layers.filter((l) => !held.has(key(l)));
  if (added.length === 0) return 'present';
  const layers = [...target.layers, ...added];
  const zero = '0001-01-01T00:00:00Z';
  const config = await to.client.pushBlob(
    to.repository,
    JSON.stringify({
      architecture: '',
      created: zero,
      history: layers.map(() => ({ created: zero })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const merged: ImageManifest = {
    ...target,
    config: { ...target.config, digest: config.digest, size: config.size },
    layers,
  };
  await to.client.putManifest(to.repository, tag, Buffer.from(JSON.stringify(merged)), existing.mediaType);
  return 'merged';
}

/** The blobs an image (or every image of an index) is made of, each once. */
async function blobsOf(from: BlobLocation, reference: string): Promise<Descriptor[]> {
  const { bytes, mediaType } = await from.client.getManifest(from.repository, reference);
  const parsed = JSON.parse(bytes.toString('utf8')) as Partial<ImageManifest & ImageIndex>;
  const blobs =
    isIndexMediaType(mediaType) || Array.isArray(parsed.manifests)
      ? (await Promise.all((parsed.manifests ?? []).map((m) => blobsOf(from, m.digest)))).flat()
      : parsed.config === undefined
        ? []
        : [parsed.config, ...(parsed.layers ?? [])];
  return [...new Map(blobs.map((d) => [d.digest, d])).values()];
}

/**
 * Copies an image by digest into another repository or registry with its signatures and every referrer
 * (attestations, earlier promotion records). Nothing here moves a tag an environment owns.
 */
export async function copyWithEvidence(
  from: BlobLocation,
  to: BlobLocation,
  digest: string,
  options: CopyOptions = {},
): Promise<CopyReport> {
  const { onProgress } = options;
  if (onProgress !== undefined) {
    const blobs = await blobsOf(from, digest);
    onProgress({
      step: 'start',
      from: `${from.client.registry}/${from.repository}`,
      to: `${to.client.registry}/${to.repository}`,
      blobs: blobs.length,
      bytes: blobs.reduce((sum, b) => sum + b.size, 0),
    });
  }
  const image = await copyImage(
    { ...from, reference: digest },
    to,
    onProgress === undefined
      ? {}
      : { onProgress: (bytes, _total, blob) => onProgress({ step: 'blob', digest: blob, bytes }) },
  );
  onProgress?.({ step: 'image', blobs: { ...image.blobs } });
  const blobs = { ...image.blobs };
  const signatures = await copySignatures(from, to, digest, blobs);

  const present = new Set((await to.client.referrers(to.repository, digest)).map((d) => d.digest));
  let referrers = 0;
  for (const descriptor of await from.client.referrers(from.repository, digest)) {
    if (present.has(descriptor.digest)) continue;
    const { bytes, mediaType } = await from.client.getManifest(from.repository, descriptor.digest);
    const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
    await copyBlobsOf(from, to, manifest, blobs);
    // pushReferrer re-serialises the manifest; the signed content is the bundle blob, whose bytes stay as they were.
    await to.client.pushReferrer(to.repository, manifest, mediaType);
    referrers++;
  }
  return { blobs, signatures, referrers };
}
