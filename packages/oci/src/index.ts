export {
  MAX_BLOB_BYTES,
  MAX_REFERRERS,
  MAX_TAGS,
  type Manifest,
  type PushProgress,
  RegistryClient,
  type RegistryClientOptions,
} from './client.js';
export {
  type BlobCopyResult,
  type BlobLocation,
  copyBlob,
  copyImage,
  type ImageCopyResult,
  MAX_INDEX_DEPTH,
} from './copy.js';
export { isDigest, sha256Digest } from './digest.js';
export type { Credentials } from './docker-config.js';
export { DigestMismatchError, RegistryError } from './errors.js';
export { mergeIntoTag, type TagMerge } from './merge.js';
export { type ImageReference, InvalidReferenceError, isTag, parseReference } from './reference.js';
export { fallbackTag, referrerTag } from './referrers.js';
export { MAX_LIST_PAGES } from './request.js';
export type { RetryOptions } from './retry.js';
export {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  MediaType,
  type Platform,
} from './types.js';
