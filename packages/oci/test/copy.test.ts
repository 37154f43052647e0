import type { LocalRegistry } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startFaultProxy } from '../../../test/harness/fault-proxy.js';
import {
  type BuiltImage,
  buildImage,
  pushRandomImage,
  type RegistryTarget,
} from '../../../test/harness/images.js';
import {
  copyBlob,
  copyImage,
  DigestMismatchError,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type RegistryClient,
  sha256Digest,
} from '../src/index.js';
import { resources } from './helpers.js';

function targetOf(registry: LocalRegistry): RegistryTarget {
  return {
    host: registry.host,
    tls: registry.tls,
    certDir: registry.certDir,
    username: registry.username,
    password: registry.password,
  };
}

describe('copying between a basic-auth TLS registry and a token registry', () => {
  const owned = resources();
  let source: LocalRegistry;
  let target: LocalRegistry;
  let from: RegistryClient;
  let to: RegistryClient;
  let platforms: BuiltImage[];
  let random: BuiltImage;
  let index: { bytes: Buffer; digest: string };

  const manifestOf = async (client: RegistryClient, repository: string, reference: string) =>
    JSON.parse((await client.getManifest(repository, reference)).bytes.toString()) as ImageManifest;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      owned.registry({ mode: 'basic' }),
      owned.registry({ mode: 'token' }),
    ]);
    from = owned.client(source);
    to = owned.client(target);
    const sourceTarget = targetOf(source);
    const [amd64, arm64, randomImage] = await Promise.all([
      buildImage(sourceTarget, {
        repository: 'team/app',
        tag: 'amd64',
        platform: 'linux/amd64',
        files: { 'app/config.json': '{"arch":"amd64"}' },
      }),
      buildImage(sourceTarget, {
        repository: 'team/app',
        tag: 'arm64',
        platform: 'linux/arm64',
        files: { 'app/config.json': '{"arch":"arm64"}' },
      }),
      pushRandomImage(sourceTarget, {
        repository: 'team/big',
        tag: 'v1',
        layers: 2,
        totalBytes: 3 * 1024 * 1024,
      }),
    ]);
    platforms = [amd64, arm64];
    random = randomImage;

    const descriptors = await Promise.all(
      platforms.map(async (image, i) => {
        const manifest = await from.getManifest('team/app', image.digest);
        const architecture = i === 0 ? 'amd64' : 'arm64';
        return {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: manifest.bytes.length,
          platform: { os: 'linux', architecture },
        };
      }),
    );
    const bytes = Buffer.from(
      `${JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: descriptors }, null, 2)}\n`,
    );
    index = {
      bytes,
      digest: (await from.putManifest('team/app', 'multi', bytes, MediaType.ociIndex)).digest,
    };
  });
  afterAll(() => owned.closeAll());

  test('copies a multi-platform index with every manifest and blob, bytes and digests unchanged', async () => {
    const progress = new Map<string, [number, number]>();
    const result = await copyImage(
      { client: from, repository: 'team/app', reference: 'multi' },
      { client: to, repository: 'prod/app', tag: 'release' },
      { onProgress: (bytes, total, digest) => progress.set(digest, [bytes, total]) },
    );

    expect(result.digest).toBe(index.digest);
    const copied = await to.getManifest('prod/app', 'release');
    expect(copied.bytes.equals(index.bytes)).toBe(true);
    expect(copied).toMatchObject({ digest: index.digest, mediaType: MediaType.ociIndex });

    const blobs = new Map<string, number>();
    for (const image of platforms) {
      const sourceBytes = (await from.getManifest('team/app', image.digest)).bytes;
      expect((await to.getManifest('prod/app', image.digest)).bytes.equals(sourceBytes)).toBe(true);
      const manifest = await manifestOf(from, 'team/app', image.digest);
      for (const blob of [manifest.config, ...manifest.layers]) blobs.set(blob.digest, blob.size);
    }
    for (const [digest, size] of blobs) {
      expect((await to.getBlob('prod/app', digest)).length).toBe(size);
      expect(progress.get(digest)).toEqual([size, size]);
    }
    expect(result.blobs).toEqual({
      copied: blobs.size,
      mounted: 0,
      existed: 0,
      bytes: [...blobs.values()].reduce((a, b) => a + b, 0),
    });
  });

  test('copies nothing a second time, and only moves the tag', async () => {
    await copyImage(
      { client: from, repository: 'team/app', reference: 'multi' },
      { client: to, repository: 'prod/again', tag: 'one' },
    );
    const again = await copyImage(
      { client: from, repository: 'team/app', reference: index.digest },
      { client: to, repository: 'prod/again', tag: 'two' },
    );
    expect(again).toEqual({ digest: index.digest, blobs: { copied: 0, mounted: 0, existed: 0, bytes: 0 } });
    await expect(to.headManifest('prod/again', 'two')).resolves.toMatchObject({ digest: index.digest });
  });

  test('counts blobs the target repository already has as existing', async () => {
    const image = platforms[0] as BuiltImage;
    const manifest = await manifestOf(from, 'team/app', image.digest);
    await copyBlob(
      { client: from, repository: 'team/app' },
      { client: to, repository: 'prod/partial' },
      manifest.config,
    );
    const result = await copyImage(
      { client: from, repository: 'team/app', reference: 'amd64' },
      { client: to, repository: 'prod/partial' },
    );
    expect(result.digest).toBe(image.digest);
    expect(result.blobs).toMatchObject({ existed: 1, copied: manifest.layers.length });
    await expect(to.headManifest('prod/partial', image.digest)).resolves.toMatchObject({
      digest: image.digest,
    });
  });

  test('mounts instead of copying within one registry', async () => {
    const result = await copyImage(
      { client: from, repository: 'team/app', reference: 'multi' },
      { client: from, repository: 'team/mirror', tag: 'multi' },
    );
    expect(result.blobs.copied).toBe(0);
    expect(result.blobs.mounted).toBeGreaterThanOrEqual(3);
    await expect(from.headManifest('team/mirror', 'multi')).resolves.toMatchObject({ digest: index.digest });
  });

  test('streams a large layer with progress and verifies it', async () => {
    const manifest = await manifestOf(from, 'team/big', random.digest);
    const layer = manifest.layers[0];
    if (layer === undefined) throw new Error('the random image has no layer');
    const calls: number[] = [];
    const result = await copyBlob(
      { client: from, repository: 'team/big' },
      { client: to, repository: 'prod/big' },
      layer,
      {
        onProgress: (bytes, total) => {
          expect(total).toBe(layer.size);
          calls.push(bytes);
        },
      },
    );
    expect(result).toBe('copied');
    expect(calls.length).toBeGreaterThan(1);
    expect(calls).toEqual([...calls].sort((a, b) => a - b));
    expect(calls.at(-1)).toBe(layer.size);
    expect(sha256Digest(await to.getBlob('prod/big', layer.digest))).toBe(layer.digest);
  });

  test('rejects a blob corrupted on the way and commits nothing', async () => {
    const [sourceProxy, targetProxy] = await Promise.all([
      startFaultProxy({ url: source.url, ca: source.caCertPem }),
      startFaultProxy({ url: target.url, ca: target.caCertPem }),
    ]);
    owned.onClose(() => Promise.all([sourceProxy.close(), targetProxy.close()]));
    const viaSource = owned.client(source, { host: sourceProxy.host });
    const viaTarget = owned.client(target, { host: targetProxy.host });
    const manifest = await manifestOf(from, 'team/big', random.digest);
    const layer = manifest.layers[1];
    if (layer === undefined) throw new Error('the random image has no second layer');
    // Authenticate first, so the fault meets the blob download rather than the 401 that asks for
    // credentials, and the target's log shows only the upload.
    await Promise.all([viaSource.ping(), viaTarget.ping()]);
    targetProxy.clear();
    sourceProxy.fault({
      method: 'GET',
      path: /\/blobs\/sha256:/,
      rewriteBody: (body) => {
        const copy = Buffer.from(body);
        const middle = copy.length >> 1;
        copy.writeUInt8((copy.readUInt8(middle) + 1) % 256, middle);
        return copy;
      },
    });

    const error = await copyBlob(
      { client: viaSource, repository: 'team/big' },
      { client: viaTarget, repository: 'prod/corrupt' },
      layer,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(error).toMatchObject({ expected: layer.digest, repository: 'prod/corrupt' });
    expect((error as Error).message).toContain('nothing was committed');
    expect(targetProxy.requests().map((r) => `${r.method} ${r.status}`)).toEqual([
      'HEAD 404',
      'POST 202',
      'PATCH 202',
      'DELETE 204',
    ]);
    await expect(to.blobExists('prod/corrupt', layer.digest)).resolves.toBe(false);
  });

  test('refuses to push an index pointing at a manifest the source lacks', async () => {
    const missing = {
      mediaType: MediaType.ociManifest,
      digest: sha256Digest('no such manifest'),
      size: 16,
      platform: { os: 'linux', architecture: 's390x' },
    };
    const broken: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [missing] };
    const bytes = Buffer.from(JSON.stringify(broken));
    await from.putManifest('team/broken', 'v1', bytes, MediaType.ociIndex).catch(() => undefined);
    const copied = copyImage(
      { client: from, repository: 'team/broken', reference: 'v1' },
      { client: to, repository: 'prod/broken', tag: 'v1' },
    );
    await expect(copied).rejects.toMatchObject({ status: 404 });
    await expect(to.headManifest('prod/broken', 'v1')).resolves.toBeUndefined();
  });
});
