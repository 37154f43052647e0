import { type Descriptor, type ImageIndex, type ImageManifest, MediaType } from './types.js';

/** The tag a registry without the referrers API keeps a subject's referrers under: `sha256-<hex>`. */
export function fallbackTag(subjectDigest: string): string {
  return subjectDigest.replace(':', '-');
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
