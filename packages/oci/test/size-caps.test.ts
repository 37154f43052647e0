/**
 * Issue 13, item 9: what a registry (or a host it points to) sends is bounded before it is held: a
 * blob by its descriptor's size, list pages by count and bytes, lists by entries, index nesting by depth,
 * and a Docker-Content-Digest is checked before anything uses it. A real registry behind the fault
 * proxy; the hostile host serves bodies without end.
 */
import type { LocalRegistry } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  type FaultProxy,
  type HostileHost,
  startFaultProxy,
  startHostileHost,
} from '../../../test/harness/fault-proxy.js';
import {
  copyImage,
  type Descriptor,
  DigestMismatchError,
  MAX_BLOB_BYTES,
  MAX_INDEX_DEPTH,
  MAX_LIST_PAGES,
  MAX_REFERRERS,
  MAX_TAGS,
  MediaType,
  type RegistryClient,
  RegistryError,
  sha256Digest,
} from '../src/index.js';
import { failure, pushSmallImage, resources } from './helpers.js';

describe('bounds on what a registry sends', () => {
  const owned = resources();
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let hostile: HostileHost;
  let client: RegistryClient;
  let direct: RegistryClient;
  let image: Awaited<ReturnType<typeof pushSmallImage>>;
  let config: Descriptor;

  beforeAll(async () => {
    registry = await owned.registry({ mode: 'open' });
    [proxy, hostile] = await Promise.all([startFaultProxy({ url: registry.url }), startHostileHost()]);
    owned.onClose(() => Promise.all([proxy.close(), hostile.close()]));
    client = owned.client(registry, { host: proxy.host, retry: { attempts: 2, baseDelayMs: 10 } });
    direct = owned.client(registry);
    image = await pushSmallImage(direct, 'team/app', 'v1');
    config = JSON.parse(image.manifest.toString()).config as Descriptor;
  });
  afterAll(() => owned.closeAll());
  beforeEach(() => {
    proxy.clear();
    hostile.clear();
  });

  /** Sends the next GET of `path` to the hostile host's body without end. */
  const flood = (path: RegExp) =>
    proxy.fault({
      method: 'GET',
      path,
      times: 2,
      respond: { status: 307, headers: { location: `${hostile.url}/flood/body` } },
    });
  const floods = () => hostile.requests().filter((r) => r.path.startsWith('/flood/'));

  describe('getBlob', () => {
    test('reads no more than the size its descriptor gives from a body without end', async () => {
      flood(new RegExp(`/blobs/${config.digest}$`));
      const error = await failure(client.getBlob('team/app', config));
      expect(error).toBeInstanceOf(RegistryError);
      expect(error?.message).toBe(
        `getting blob ${proxy.host}/team/app@${config.digest} failed: the registry sent more than ${config.size} bytes, the size its descriptor gives; the rest was not read`,
      );
      expect(floods()).toEqual([expect.objectContaining({ drained: false })]);
    });

    test('reads no more than maxBytes for a bare digest', async () => {
      flood(new RegExp(`/blobs/${config.digest}$`));
      const error = await failure(client.getBlob('team/app', config.digest, { maxBytes: 4096 }));
      expect(error?.message).toBe(
        `getting blob ${proxy.host}/team/app@${config.digest} failed: the registry sent more than 4096 bytes, the most read into memory; the rest was not read`,
      );
      expect(floods()).toEqual([expect.objectContaining({ drained: false })]);
    });

    test('refuses a descriptor larger than the bound before fetching anything', async () => {
      const huge = { digest: config.digest, size: MAX_BLOB_BYTES + 1 };
      const error = await failure(client.getBlob('team/app', huge));
      expect(error?.message).toBe(
        `getting blob ${proxy.host}/team/app@${config.digest}: its descriptor gives a size of ${MAX_BLOB_BYTES + 1}, where at most ${MAX_BLOB_BYTES} bytes are read into memory; nothing was fetched`,
      );
      expect(proxy.requests()).toEqual([]);
    });

    test('refuses a blob whose length is not the size its descriptor gives', async () => {
      const error = await failure(client.getBlob('team/app', { ...config, size: config.size + 10 }));
      expect(error?.message).toBe(
        `getting blob ${proxy.host}/team/app@${config.digest}: the registry sent ${config.size} bytes where its descriptor gives ${config.size + 10}; they were discarded`,
      );
    });
  });

  describe('paginated lists', () => {
    /** Tag pages of one tag each, every one linking to the next, until `pages` (far past the bound). */
    const endlessTags = (pages: number) =>
      proxy.fault({
        method: 'GET',
        path: /\/tags\/list/,
        times: pages,
        respond: ({ path }) => {
          const page = Number(new URL(path, 'http://x').searchParams.get('last') ?? 0) + 1;
          const link = `</v2/team/app/tags/list?n=1&last=${page}>; rel="next"`;
          return {
            status: 200,
            headers: { 'content-type': 'application/json', ...(page < pages ? { link } : {}) },
            body: JSON.stringify({ name: 'team/app', tags: [`t${page}`] }),
          };
        },
      });

    test(`stop after ${MAX_LIST_PAGES} pages of a list that never ends`, async () => {
      endlessTags(MAX_LIST_PAGES + 20);
      const error = await failure(client.listTags('team/app', { pageSize: 1 }));
      expect(error).toBeInstanceOf(RegistryError);
      expect(error?.message).toBe(
        `listing tags of ${proxy.host}/team/app failed: ${proxy.host} still had a next page after ${MAX_LIST_PAGES} pages; digestline stops there rather than follow a list without end. Fix: check the registry, or remove what fills the list.`,
      );
      expect(proxy.requests()).toHaveLength(MAX_LIST_PAGES);
    });

    test('read no more than a page may hold from a page without end', async () => {
      flood(/\/tags\/list/);
      const error = await failure(client.listTags('team/app'));
      expect(error?.message).toBe(
        `listing tags of ${proxy.host}/team/app failed: the registry sent more than ${4 * 1024 * 1024} bytes, the most one page of a list may hold; the rest was not read`,
      );
      expect(floods()).toEqual([expect.objectContaining({ drained: false })]);
    });

    test(`refuse more than ${MAX_TAGS} tags and ${MAX_REFERRERS} referrers`, async () => {
      const tags = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`);
      proxy.fault({
        method: 'GET',
        path: /\/tags\/list/,
        respond: { status: 200, body: JSON.stringify({ name: 'team/app', tags }) },
      });
      await expect(client.listTags('team/app')).rejects.toThrow(
        `listing tags of ${proxy.host}/team/app failed: the registry listed more than ${MAX_TAGS} tags; digestline stops there rather than hold a list without end. Fix: check the registry, or remove what fills the list.`,
      );

      const manifests = Array.from({ length: MAX_REFERRERS + 1 }, (_, i) => ({
        mediaType: MediaType.ociManifest,
        digest: sha256Digest(String(i)),
        size: 1,
        artifactType: 'application/example',
      }));
      proxy.fault({
        method: 'GET',
        path: /\/referrers\//,
        respond: {
          status: 200,
          headers: { 'content-type': MediaType.ociIndex },
          body: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }),
        },
      });
      await expect(client.referrers('team/app', image.digest)).rejects.toThrow(
        `the registry listed more than ${MAX_REFERRERS} referrers`,
      );
    });
  });

  describe('Docker-Content-Digest', () => {
    const announce = (method: string, value: string) =>
      proxy.fault({
        method,
        path: /\/manifests\//,
        rewriteHeaders: (headers) => ({ ...headers, 'docker-content-digest': value }),
      });

    test('is refused when it is not a sha256 digest, before anything uses it', async () => {
      const forged = 'sha256:../../../v2/other/manifests/latest';
      announce('HEAD', forged);
      const error = await failure(client.headManifest('team/app', 'v1'));
      expect(error).toBeInstanceOf(RegistryError);
      expect(error?.message).toBe(
        `checking manifest ${proxy.host}/team/app:v1: the registry announced the Docker-Content-Digest "${forged}", which is not a sha256:<64 hex> digest; it was not used`,
      );
      announce('GET', forged);
      await expect(client.getManifest('team/app', 'v1')).rejects.toThrow(
        `getting manifest ${proxy.host}/team/app:v1: the registry announced the Docker-Content-Digest "${forged}"`,
      );
    });

    test('is refused when it is another digest than the one asked for', async () => {
      const other = sha256Digest('another manifest');
      announce('HEAD', other);
      const error = await failure(client.headManifest('team/app', image.digest));
      expect(error).toBeInstanceOf(DigestMismatchError);
      expect(error?.message).toBe(
        `checking manifest ${proxy.host}/team/app@${image.digest}: the registry announced ${other} for the manifest asked for by its digest; it was not used`,
      );
    });
  });

  describe('copyImage', () => {
    /** `depth` indexes, each holding the next, the last holding the image; returns the top digest. */
    async function nestedIndexes(repository: string, depth: number): Promise<string[]> {
      const base = await pushSmallImage(direct, repository, 'base');
      let child: Descriptor = {
        mediaType: MediaType.ociManifest,
        digest: base.digest,
        size: base.manifest.length,
      };
      const digests = [base.digest];
      for (let level = 0; level < depth; level++) {
        const bytes = Buffer.from(
          JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [child] }),
        );
        const { digest } = await direct.putManifest(
          repository,
          sha256Digest(bytes),
          bytes,
          MediaType.ociIndex,
        );
        child = { mediaType: MediaType.ociIndex, digest, size: bytes.length };
        digests.push(digest);
      }
      return digests.reverse();
    }

    test(`copies indexes nested ${MAX_INDEX_DEPTH} deep`, async () => {
      const [top] = await nestedIndexes('team/deep-ok', MAX_INDEX_DEPTH);
      await copyImage(
        { client: direct, repository: 'team/deep-ok', reference: top ?? '' },
        { client: direct, repository: 'team/deep-ok-copy', tag: 'copied' },
      );
      expect((await direct.headManifest('team/deep-ok-copy', 'copied'))?.digest).toBe(top);
    });

    test(`refuses indexes nested deeper than ${MAX_INDEX_DEPTH}, pushing and tagging nothing`, async () => {
      const digests = await nestedIndexes('team/deep', MAX_INDEX_DEPTH + 1);
      const top = digests[0] ?? '';
      const error = await failure(
        copyImage(
          { client: direct, repository: 'team/deep', reference: top },
          { client: direct, repository: 'team/deep-copy', tag: 'copied' },
        ),
      );
      expect(error).toBeInstanceOf(RegistryError);
      expect(error?.message).toBe(
        `copying ${registry.host}/team/deep@${top}: its indexes nest more than ${MAX_INDEX_DEPTH} deep, and digestline copies no deeper: the copy stopped there and tagged nothing. Fix: copy the platform images, or an index of them, instead.`,
      );
      expect(await direct.headManifest('team/deep-copy', 'copied')).toBeUndefined();
      for (const digest of digests)
        expect(await direct.headManifest('team/deep-copy', digest)).toBeUndefined();
    });
  });
});
