/**
 * Issue 13, item 12: the fallback tag index is read-modify-write, and writers of one subject at the same
 * moment must not lose each other's referrers. The proxy holds back the first writes of the fallback tag so
 * that every writer reads it before any write lands, the way a busy registry interleaves them: the index
 * then keeps only some entries, and every referrer is still found through the tag of its own.
 */
import type { LocalRegistry } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type FaultProxy, startFaultProxy } from '../../../test/harness/fault-proxy.js';
import {
  fallbackTag,
  type ImageManifest,
  MediaType,
  type RegistryClient,
  referrerTag,
  sha256Digest,
} from '../src/index.js';
import { pushSmallImage, resources } from './helpers.js';

const WRITERS = 8;

describe('concurrent referrers of one subject on a registry without the referrers API', () => {
  const owned = resources();
  let registry: LocalRegistry;
  let proxy: FaultProxy;

  beforeAll(async () => {
    registry = await owned.registry({ mode: 'open' });
    proxy = await startFaultProxy({ url: registry.url });
    owned.onClose(() => proxy.close());
  });
  afterAll(() => owned.closeAll());

  test(`${WRITERS} writers at once: every referrer is listed, none waits to confirm`, async () => {
    const direct = owned.client(registry);
    const subject = await pushSmallImage(direct, 'team/app', 'v1');
    const empty = await direct.pushBlob('team/app', '{}');
    const artifacts: ImageManifest[] = Array.from({ length: WRITERS }, (_, i) => ({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: 'application/vnd.example.note',
      config: { mediaType: MediaType.ociEmpty, digest: empty.digest, size: empty.size },
      layers: [],
      subject: { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.manifest.length },
      annotations: { writer: String(i) },
    }));
    const tagPath = new RegExp(`/manifests/${fallbackTag(subject.digest)}$`);
    proxy.fault({ method: 'PUT', path: tagPath, delayMs: 400, times: WRITERS });

    // One client per writer, as separate jobs would have.
    const writers: RegistryClient[] = artifacts.map(() => owned.client(registry, { host: proxy.host }));
    const pushed = await Promise.all(
      artifacts.map((artifact, i) => writers[i]?.pushReferrer('team/app', artifact)),
    );

    const expected = artifacts.map((a) => sha256Digest(JSON.stringify(a))).sort();
    expect(pushed.map((p) => p?.digest).sort()).toEqual(expected);
    const listed = await direct.referrers('team/app', subject.digest);
    expect(listed.map((d) => d.digest).sort()).toEqual(expected);
    expect(listed.map((d) => d.annotations?.writer).sort()).toEqual(
      artifacts.map((_, i) => String(i)).sort(),
    );
    // Each referrer under a tag of its own, which no other writer writes.
    const tags = await direct.listTags('team/app');
    for (const digest of expected) expect(tags).toContain(referrerTag(subject.digest, digest));
    // The index is written once per writer: nobody reads it back to confirm.
    const writes = proxy.requests().filter((r) => r.method === 'PUT' && tagPath.test(r.path));
    expect(writes).toHaveLength(WRITERS);
  });
});
