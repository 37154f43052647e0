import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Authenticator, repositoryScope } from './auth.js';
import { isDigest, sha256Digest } from './digest.js';
import type { Credentials } from './docker-config.js';
import { DigestMismatchError, RegistryError } from './errors.js';
import {
  assertDigest,
  assertRepository,
  assertTagOrDigest,
  DOCKER_HUB,
  InvalidReferenceError,
  parseReference,
} from './reference.js';
import {
  emptyIndex,
  fallbackTag,
  filterReferrers,
  parseIndex,
  referrerDescriptor,
  referrerTag,
  referrerTagDigestPrefix,
} from './referrers.js';
import { displayName, Requester } from './request.js';
import { type RetryOptions, retryPolicy } from './retry.js';
import { HttpTransport, header, registryOrigin } from './transport/http.js';
import { type Descriptor, type ImageManifest, MediaType, manifestMediaTypes } from './types.js';
import { cancelUpload, patchThenCommit, putWhole, uploadSession } from './upload.js';

export interface RegistryClientOptions {
  /** Wins over `dockerConfig`. A username of `<token>` marks an identity (OAuth2 refresh) token. */
  credentials?: Credentials;
  /** A Docker config.json to read credentials from; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` when present. */
  dockerConfig?: string;
  /** PEM of an extra CA to trust for HTTPS. */
  ca?: string | Buffer;
  /** Allows plain HTTP for a registry that is not on this machine. */
  insecure?: boolean;
  /** Forces HTTPS, e.g. for a loopback registry with TLS. */
  tls?: boolean;
  retry?: RetryOptions;
  userAgent?: string;
}

/** The spec lets registries refuse larger manifests; a client refusing them bounds its memory. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** What `getBlob` holds in memory at most when the caller names no smaller bound. */
export const MAX_BLOB_BYTES = 64 * 1024 * 1024;
/** Most tags `listTags` collects, and most referrers `referrers` collects, over all pages. */
export const MAX_TAGS = 100_000;
export const MAX_REFERRERS = 10_000;
const EMPTY_CONFIG_DIGEST = sha256Digest('{}');

/** A manifest as the registry holds it: the exact bytes, their digest and their media type. */
export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface PushProgress {
  onProgress?: (bytes: number, total: number) => void;
}

/**
 * One registry, reached per the OCI distribution spec v1.1. Manifests travel as the exact bytes
 * the registry holds, and anything fetched by or announced with a digest is checked against it.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly transport: HttpTransport;
  private readonly requester: Requester;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    if (parseReference(`${registry}/probe`).registry !== registry) {
      throw new InvalidReferenceError(
        `invalid registry ${JSON.stringify(registry)}: expected a host with an optional :port, e.g. ghcr.io or 127.0.0.1:5000`,
      );
    }
    this.registry = registry;
    this.transport = new HttpTransport({ ca: options.ca, userAgent: options.userAgent ?? 'digestline-oci' });
    const auth = new Authenticator({
      registry,
      transport: this.transport,
      scheme: options,
      credentials: options.credentials,
      dockerConfig: options.dockerConfig,
    });
    // Docker Hub's API lives on another host than the name images use.
    const origin = registryOrigin(registry === DOCKER_HUB ? 'registry-1.docker.io' : registry, options);
    this.requester = new Requester(registry, origin, this.transport, auth, retryPolicy(options.retry));
  }

  /** Closes pooled connections; the client cannot be used afterwards. */
  close(): Promise<void> {
    return this.transport.close();
  }

  async ping(): Promise<void> {
    await this.requester.send({
      what: `checking the registry API of ${this.registry}`,
      method: 'GET',
      path: '/v2/',
      expect: [200],
      idempotent: true,
    });
  }

  async getManifest(
    repository: string,
    reference: string,
    options: { accept?: string[] } = {},
  ): Promise<Manifest> {
    return this.fetchManifest(repository, reference, options.accept ?? manifestMediaTypes);
  }

  async headManifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    assertRepository(repository);
    assertTagOrDigest(reference);
    const answer = await this.requester.send({
      what: `checking manifest ${this.name(repository, reference)}`,
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      access: 'pull',
      headers: { accept: manifestMediaTypes.join(', ') },
      expect: [200, 404],
      idempotent: true,
    });
    if (answer.status === 404) return undefined;
    const announced = this.announcedDigest(
      answer.headers,
      `checking manifest ${this.name(repository, reference)}`,
      repository,
      reference,
    );
    // Without the header a tag's digest is only known from the bytes themselves.
    if (announced === undefined && !isDigest(reference)) {
      const { digest, mediaType, bytes } = await this.getManifest(repository, reference);
      return { digest, mediaType, size: bytes.length };
    }
    return {
      digest: announced ?? reference,
      mediaType: contentType(answer.headers) ?? '',
      size: Number(header(answer.headers, 'content-length') ?? 0),
    };
  }

  async putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<{ digest: string; subject?: string }> {
    assertRepository(repository);
    assertTagOrDigest(reference);
    const digest = sha256Digest(bytes);
    const what = `pushing manifest ${this.name(repository, reference)}`;
    if (isDigest(reference) && reference !== digest) {
      throw new DigestMismatchError(
        `${what}: the bytes hash to ${digest}, not to the digest they are pushed as`,
        {
          registry: this.registry,
          repository,
          expected: reference,
          actual: digest,
        },
      );
    }
    const answer = await this.requester.send({
      what,
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      access: 'push',
      headers: { 'content-type': mediaType },
      body: bytes,
      expect: [201],
      // Re-sending a tag could move it back after someone else moved it in between; a digest
      // names the same content however often it is sent.
      idempotent: isDigest(reference),
    });
    const stored = header(answer.headers, 'docker-content-digest');
    if (stored !== undefined && stored !== digest) {
      throw new DigestMismatchError(
        `${what}: the registry stored ${stored}, but the bytes sent hash to ${digest}`,
        {
          registry: this.registry,
          repository,
          expected: digest,
          actual: stored,
        },
      );
    }
    const subject = header(answer.headers, 'oci-subject');
    return subject === undefined ? { digest } : { digest, subject };
  }

  /** Succeeds when the manifest is gone, including when it was never there. */
  async deleteManifest(repository: string, digest: string): Promise<void> {
    assertRepository(repository);
    assertDigest(digest);
    await this.requester.send({
      what: `deleting manifest ${this.name(repository, digest)}`,
      method: 'DELETE',
      path: `/v2/${repository}/manifests/${digest}`,
      repository,
      access: 'delete',
      expect: [202, 404],
      idempotent: true,
    });
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    assertRepository(repository);
    assertDigest(digest);
    const answer = await this.requester.send({
      what: `checking blob ${this.name(repository, digest)}`,
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      repository,
      access: 'pull',
      expect: [200, 404],
      idempotent: true,
    });
    return answer.status === 200;
  }

  /**
   * The whole blob in memory, verified against its digest: for configs and small artifacts. Given its
   * descriptor, no more than the descriptor's size is read (and a size above `maxBytes` is refused
   * before anything is fetched); given a bare digest, no more than `maxBytes`.
   */
  async getBlob(
    repository: string,
    blob: string | { digest: string; size: number },
    options: { maxBytes?: number } = {},
  ): Promise<Buffer> {
    const { digest, size } = typeof blob === 'string' ? { digest: blob, size: undefined } : blob;
    assertRepository(repository);
    assertDigest(digest);
    const what = `getting blob ${this.name(repository, digest)}`;
    const maxBytes = options.maxBytes ?? MAX_BLOB_BYTES;
    if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0 && size <= maxBytes)) {
      throw new RegistryError(
        `${what}: its descriptor gives a size of ${size}, where at most ${maxBytes} bytes are read into memory; nothing was fetched`,
        { registry: this.registry, repository },
      );
    }
    const { bytes } = await this.requester.send({
      what,
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      repository,
      access: 'pull',
      expect: [200],
      idempotent: true,
      limit: size ?? maxBytes,
      limitReason: size === undefined ? 'the most read into memory' : 'the size its descriptor gives',
    });
    this.verify(what, repository, digest, bytes);
    if (size !== undefined && bytes.length !== size) {
      throw new RegistryError(
        `${what}: the registry sent ${bytes.length} bytes where its descriptor gives ${size}; they were discarded`,
        { registry: this.registry, repository },
      );
    }
    return bytes;
  }

  /** The blob as a stream, not verified: the reader hashes it (as `pushBlobStream` does). */
  async openBlob(repository: string, digest: string): Promise<{ size?: number; stream: Readable }> {
    assertRepository(repository);
    assertDigest(digest);
    const answer = await this.requester.send({
      what: `getting blob ${this.name(repository, digest)}`,
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      repository,
      access: 'pull',
      expect: [200],
      idempotent: true,
      stream: true,
    });
    const length = header(answer.headers, 'content-length');
    // The requester leaves the body of an expected answer to a streaming operation unread.
    const stream = answer.body as Readable;
    return { ...(length === undefined ? {} : { size: Number(length) }), stream };
  }

  /** Uploads in one request after a POST; skipped when the repository already has the blob. */
  async pushBlob(repository: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256Digest(bytes);
    if (await this.blobExists(repository, digest)) return { digest, size: bytes.length };
    const target = { repository, digest, what: `pushing blob ${this.name(repository, digest)}` };
    await uploadSession(
      this.requester,
      target,
      () => this.blobExists(repository, digest),
      (session) => putWhole(this.requester, target, session, bytes),
    );
    return { digest, size: bytes.length };
  }

  /**
   * Streams a blob of known digest and size, committing it only once the bytes hashed to the
   * digest. `open` is called again when the upload has to start over.
   */
  async pushBlobStream(
    repository: string,
    descriptor: { digest: string; size: number },
    open: () => Promise<AsyncIterable<Uint8Array>>,
    options: PushProgress = {},
  ): Promise<void> {
    assertRepository(repository);
    assertDigest(descriptor.digest);
    const target = {
      repository,
      ...descriptor,
      what: `pushing blob ${this.name(repository, descriptor.digest)}`,
    };
    await uploadSession(
      this.requester,
      target,
      () => this.blobExists(repository, descriptor.digest),
      async (session) => patchThenCommit(this.requester, target, session, await open(), options.onProgress),
    );
  }

  /** True when the registry mounted the blob (201); false when it offered an upload instead (202). */
  async mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    assertRepository(repository);
    assertRepository(fromRepository);
    assertDigest(digest);
    const answer = await this.requester.send({
      what: `mounting blob ${digest} from ${this.registry}/${fromRepository} into ${this.registry}/${repository}`,
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/?mount=${digest}&from=${encodeURIComponent(fromRepository)}`,
      repository,
      access: 'push',
      extraScopes: [repositoryScope(fromRepository, 'pull')],
      expect: [201, 202],
      idempotent: false,
    });
    if (answer.status === 201) return true;
    await cancelUpload(this.requester, repository, this.requester.location(answer));
    return false;
  }

  /** Every tag, following `Link` pages; `pageSize` asks for pages of that many (`n`). */
  async listTags(repository: string, options: { pageSize?: number } = {}): Promise<string[]> {
    assertRepository(repository);
    const tags: string[] = [];
    const what = `listing tags of ${this.registry}/${repository}`;
    const first = `/v2/${repository}/tags/list${options.pageSize === undefined ? '' : `?n=${options.pageSize}`}`;
    await this.requester.paginate({ what, repository, path: first, expect: [200] }, (bytes) => {
      const page = JSON.parse(bytes.toString('utf8')) as { tags?: string[] | null };
      tags.push(...(page.tags ?? []));
      this.bound(what, repository, tags.length, MAX_TAGS, 'tags');
    });
    return tags;
  }

  /**
   * Manifests whose `subject` is `digest`: from the referrers API, or where a registry lacks it
   * (it answers 404), from the `sha256-<hex>` fallback tag.
   */
  async referrers(
    repository: string,
    digest: string,
    options: { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    assertRepository(repository);
    assertDigest(digest);
    const query =
      options.artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(options.artifactType)}`;
    const what = `listing referrers of ${this.name(repository, digest)}`;
    const found: Descriptor[] = [];
    const api = await this.requester.paginate(
      { what, repository, path: `/v2/${repository}/referrers/${digest}${query}`, expect: [200, 404] },
      (bytes) => {
        found.push(...parseIndex(bytes, `the referrers list of ${digest}`).manifests);
        this.bound(what, repository, found.length, MAX_REFERRERS, 'referrers');
      },
    );
    if (api === 'absent') {
      const tag = fallbackTag(digest);
      const [index, tagged] = await Promise.all([
        this.fetchManifest(repository, tag, [MediaType.ociIndex], true),
        this.referrerTags(repository, digest),
      ]);
      found.push(
        ...(index === undefined ? [] : parseIndex(index.bytes, `the fallback tag ${tag}`).manifests),
      );
      found.push(...(await this.ownTagReferrers(repository, digest, tagged, found)));
      this.bound(what, repository, found.length, MAX_REFERRERS, 'referrers');
    }
    return filterReferrers(found, options.artifactType);
  }

  /** Digest prefixes of the subject's referrers that have tags of their own (`referrerTag`). */
  private async referrerTags(repository: string, subject: string): Promise<string[]> {
    const what = `listing tags of ${this.registry}/${repository}`;
    const prefixes: string[] = [];
    let tags = 0;
    await this.requester.paginate(
      { what, repository, path: `/v2/${repository}/tags/list`, expect: [200, 404] },
      (bytes) => {
        const page = JSON.parse(bytes.toString('utf8')) as { tags?: string[] | null };
        for (const tag of page.tags ?? []) {
          const prefix = referrerTagDigestPrefix(tag, subject);
          if (prefix !== undefined) prefixes.push(prefix);
        }
        tags += page.tags?.length ?? 0;
        this.bound(what, repository, tags, MAX_TAGS, 'tags');
      },
    );
    return prefixes;
  }

  /**
   * Referrers under tags of their own that the fallback index does not list: a writer may have dropped
   * another's entry from the index, never from its own tag. A manifest is read only for a referrer the
   * index lacks.
   */
  private async ownTagReferrers(
    repository: string,
    subject: string,
    prefixes: readonly string[],
    indexed: readonly Descriptor[],
  ): Promise<Descriptor[]> {
    const found: Descriptor[] = [];
    for (const prefix of prefixes) {
      if (indexed.some((d) => d.digest.startsWith(prefix))) continue;
      const stored = await this.fetchManifest(
        repository,
        referrerTag(subject, prefix),
        manifestMediaTypes,
        true,
      );
      // Gone since the list, or moved to other content: not a referrer of this subject.
      if (stored === undefined || !stored.digest.startsWith(prefix)) continue;
      let manifest: Partial<ImageManifest>;
      try {
        manifest = JSON.parse(stored.bytes.toString('utf8')) as Partial<ImageManifest>;
      } catch {
        continue;
      }
      if (manifest.subject?.digest !== subject || manifest.config === undefined) continue;
      found.push(
        referrerDescriptor(manifest as ImageManifest, stored.mediaType, stored.digest, stored.bytes.length),
      );
    }
    return found;
  }

  /**
   * Pushes a manifest with a `subject` by digest. A registry with the referrers API confirms with
   * `OCI-Subject`. Otherwise the manifest is added to the subject's fallback tag index, which other tools
   * read, and tagged under a tag of its own (`referrerTag`), which `referrers` lists too. The index is read,
   * extended and written once: registries have no compare-and-set on a tag, so a writer at the same moment
   * may drop this entry from the index, but never from its own tag. No writer waits to confirm, and none
   * loses what it wrote.
   */
  async pushReferrer(
    repository: string,
    manifest: ImageManifest,
    mediaType: string = MediaType.ociManifest,
  ): Promise<{ digest: string }> {
    const subject = manifest.subject;
    if (subject === undefined) {
      throw new Error(
        'a referrer needs a subject: set manifest.subject to the descriptor of the image it refers to',
      );
    }
    // The empty config is part of nearly every artifact; registries refuse a manifest whose blobs they lack.
    if (manifest.config.digest === EMPTY_CONFIG_DIGEST) await this.pushBlob(repository, '{}');
    const bytes = Buffer.from(JSON.stringify(manifest));
    const tag = fallbackTag(subject.digest);
    const { digest, subject: confirmed } = await this.putManifest(
      repository,
      sha256Digest(bytes),
      bytes,
      mediaType,
    );
    if (confirmed !== undefined) return { digest };
    const existing = await this.fetchManifest(repository, tag, [MediaType.ociIndex], true);
    const index =
      existing === undefined ? emptyIndex() : parseIndex(existing.bytes, `the fallback tag ${tag}`);
    if (!index.manifests.some((d) => d.digest === digest)) {
      const merged = {
        ...index,
        manifests: [...index.manifests, referrerDescriptor(manifest, mediaType, digest, bytes.length)],
      };
      await this.putManifest(repository, tag, Buffer.from(JSON.stringify(merged)), MediaType.ociIndex);
    }
    await this.putManifest(repository, referrerTag(subject.digest, digest), bytes, mediaType);
    return { digest };
  }

  private fetchManifest(repository: string, reference: string, accept: readonly string[]): Promise<Manifest>;
  private fetchManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    allowMissing: true,
  ): Promise<Manifest | undefined>;
  private async fetchManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    allowMissing = false,
  ): Promise<Manifest | undefined> {
    assertRepository(repository);
    assertTagOrDigest(reference);
    const what = `getting manifest ${this.name(repository, reference)}`;
    const answer = await this.requester.send({
      what,
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      access: 'pull',
      headers: { accept: accept.join(', ') },
      expect: allowMissing ? [200, 404] : [200],
      idempotent: true,
      limit: MAX_MANIFEST_BYTES,
      limitReason: 'the most a manifest may be',
    });
    if (answer.status === 404) return undefined;
    const announced = this.announcedDigest(answer.headers, what, repository, reference);
    const expected = isDigest(reference) ? reference : announced;
    const digest = this.verify(what, repository, expected, answer.bytes);
    return { bytes: answer.bytes, mediaType: manifestMediaType(answer.headers, answer.bytes), digest };
  }

  /**
   * The registry's `Docker-Content-Digest`, checked before anything uses it: a sha256 digest, and the
   * very digest asked for when a digest was asked for. A value that is neither is refused.
   */
  private announcedDigest(
    headers: IncomingHttpHeaders,
    what: string,
    repository: string,
    reference: string,
  ): string | undefined {
    const announced = header(headers, 'docker-content-digest');
    if (announced === undefined) return undefined;
    if (!isDigest(announced)) {
      throw new RegistryError(
        `${what}: the registry announced the Docker-Content-Digest ${JSON.stringify(announced.slice(0, 100))}, which is not a sha256:<64 hex> digest; it was not used`,
        { registry: this.registry, repository },
      );
    }
    if (isDigest(reference) && announced !== reference) {
      throw new DigestMismatchError(
        `${what}: the registry announced ${announced} for the manifest asked for by its digest; it was not used`,
        { registry: this.registry, repository, expected: reference, actual: announced },
      );
    }
    return announced;
  }

  /** A list that outgrew what a caller could sensibly hold is refused rather than cut short. */
  private bound(what: string, repository: string, count: number, max: number, noun: string): void {
    if (count <= max) return;
    throw new RegistryError(
      `${what} failed: the registry listed more than ${max} ${noun}; digestline stops there rather than hold a list without end. Fix: check the registry, or remove what fills the list.`,
      { registry: this.registry, repository },
    );
  }

  private verify(what: string, repository: string, expected: string | undefined, bytes: Buffer): string {
    const actual = sha256Digest(bytes);
    if (expected !== undefined && expected !== actual) {
      throw new DigestMismatchError(
        `${what}: the registry sent bytes hashing to ${actual}, not ${expected}; they were discarded`,
        { registry: this.registry, repository, expected, actual },
      );
    }
    return actual;
  }

  private name(repository: string, reference: string): string {
    return displayName(this.registry, repository, reference);
  }
}

function contentType(headers: IncomingHttpHeaders): string | undefined {
  return header(headers, 'content-type')?.split(';')[0]?.trim();
}

/** The Content-Type, unless a registry sent a generic one; then the manifest's own `mediaType`. */
function manifestMediaType(headers: IncomingHttpHeaders, bytes: Buffer): string {
  const type = contentType(headers);
  if (type !== undefined && manifestMediaTypes.includes(type)) return type;
  try {
    const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    if (typeof declared === 'string') return declared;
  } catch {
    // Not JSON: the caller gets the bytes and whatever type the registry claimed.
  }
  return type ?? '';
}
