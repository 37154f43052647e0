import { type Descriptor, type ImageIndex, type ImageManifest, MediaType } from './types.js';

/** The tag a registry without the referrers API keeps a subject's referrers under: `sha256-<hex>`. */
export function fallbackTag(subjectDigest: string): string {
  return subjectDigest.replace(':', '-');
}

/** Hex digits of the referrer's digest in its own tag: 128 bits, within the 128 characters a tag may have. */
const OWN_TAG_HEX = 32;

/**
 * The tag one referrer is kept under, beside the shared fallback index, on a registry without the
 * referrers API: `sha256-<subject hex>.<first 32 hex of the referrer's digest>.ref`. Only the writer of
 * that referrer writes it, so no read-modify-write of another writer can drop it.
 */
export function referrerTag(subjectDigest: string, referrerDigest: string): string {
  const hex = referrerDigest.slice(referrerDigest.indexOf(':') + 1);
  return `${fallbackTag(subjectDigest)}.${hex.slice(0, OWN_TAG_HEX)}.ref`;
}

/** The digest prefix (`sha256:<32 hex>`) a referrerTag() of this subject names; undefined for any other tag. */
export function referrerTagDigestPrefix(tag: string, subjectDigest: string): string | undefined {
  const head = `${fallbackTag(subjectDigest)}.`;
  if (!tag.startsWith(head) || !tag.endsWith('.ref')) return undefined;
  const hex = tag.slice(head.length, -'.ref'.length);
  return new RegExp(`^[0-9a-f]{${OWN_TAG_HEX}}$`).test(hex) ? `sha256:${hex}` : undefined;
}

export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

/** The descriptor a referrers list holds for a manifest (artifactType falls back to the config's type). */
export function referrerDescriptor(
  manifest: ImageManifest,
  mediaType: string,
  digest: string,
  size: number,
): Descriptor {
  return {
    mediaType,
    digest,
    size,
    artifactType: manifest.artifactType ?? manifest.config.mediaType,
    ...(manifest.annotations === undefined ? {} : { annotations: manifest.annotations }),
  };
}

/**
 * Always applied on our side: a registry that implements the API may still ignore the filter
 * (it says so only through `OCI-Filters-Applied`), and the fallback index is never filtered.
 */
export function filterReferrers(descriptors: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined
    ? descriptors
    : descriptors.filter((d) => d.artifactType === artifactType);
}

export function parseIndex(bytes: Buffer, what: string): ImageIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error(`${what} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const manifests = (parsed as { manifests?: unknown }).manifests;
  if (manifests !== undefined && manifests !== null && !Array.isArray(manifests)) {
    throw new Error(`${what} is not an image index: "manifests" is not a list`);
  }
  return { ...(parsed as ImageIndex), manifests: (manifests ?? []) as Descriptor[] };
}
