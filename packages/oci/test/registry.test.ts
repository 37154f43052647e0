import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalRegistry } from '@digestline/local';
import { makeTempDir } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  fallbackTag,
  type ImageManifest,
  MediaType,
  type RegistryClient,
  RegistryError,
  sha256Digest,
} from '../src/index.js';
import { pushSmallImage, resources, smallImage } from './helpers.js';

const modes = ['open', 'basic', 'token'] as const;

describe.each(modes)('against a %s registry', (mode) => {
  const owned = resources();
  let registry: LocalRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await owned.registry({ mode });
    client = owned.client(registry);
  });
  afterAll(() => owned.closeAll());

  test('pings the registry API', async () => {
    await expect(client.ping()).resolves.toBeUndefined();
  });

  test('pushes a blob once, then finds it and reads it back verified', async () => {
    const data = Buffer.from(`blob for ${mode} ${Date.now()}`);
    const pushed = await client.pushBlob('team/blobs', data);
    expect(pushed).toEqual({ digest: sha256Digest(data), size: data.length });
    await expect(client.blobExists('team/blobs', pushed.digest)).resolves.toBe(true);
    await expect(client.getBlob('team/blobs', pushed.digest)).resolves.toEqual(data);
    await expect(client.blobExists('team/blobs', sha256Digest('never pushed'))).resolves.toBe(false);
    await expect(client.pushBlob('team/blobs', data)).resolves.toEqual(pushed);
  });

  test('streams a blob from a file, even when the registry answers before the file stream has ended', async () => {
    const temp = await makeTempDir('oci-stream');
    try {
      const data = randomBytes(256 * 1024 + 17);
      const file = join(temp.path, 'layer.bin');
      await writeFile(file, data);
      const digest = sha256Digest(data);
      const seen: number[] = [];
      await client.pushBlobStream(
        'team/streamed',
        { digest, size: data.length },
        async () => createReadStream(file),
        {
          onProgress: (bytes) => seen.push(bytes),
        },
      );
      await expect(client.getBlob('team/streamed', digest)).resolves.toEqual(data);
      expect(seen.at(-1)).toBe(data.length);
    } finally {
      await temp.remove();
    }
  });

  test('keeps a manifest byte for byte, odd whitespace and key order included', async () => {
    const image = smallImage(`exact-${mode}`);
    await client.pushBlob('team/exact', image.config);
    const config = JSON.parse(image.manifest.toString()).config;
    // Reserialising this would change its digest: the registry and the client must keep it as is.
    const bytes = Buffer.from(
      `{\n\t"layers" : [ ],\n  "config":${JSON.stringify(config, null, 3)},"schemaVersion":2,\n"mediaType":   "${MediaType.ociManifest}"   }\n\n`,
    );
    const digest = sha256Digest(bytes);

    await expect(client.putManifest('team/exact', 'odd', bytes, MediaType.ociManifest)).resolves.toEqual({
      digest,
    });
    const byTag = await client.getManifest('team/exact', 'odd');
    expect(byTag.bytes.equals(bytes)).toBe(true);
    expect(byTag).toMatchObject({ digest, mediaType: MediaType.ociManifest });
    const byDigest = await client.getManifest('team/exact', digest);
    expect(byDigest.bytes.equals(bytes)).toBe(true);
    await expect(client.headManifest('team/exact', 'odd')).resolves.toEqual({
      digest,
      mediaType: MediaType.ociManifest,
      size: bytes.length,
    });
    await expect(client.putManifest('team/exact', digest, bytes, MediaType.ociManifest)).resolves.toEqual({
      digest,
    });
  });

  test('deletes a manifest, and deleting it again is not an error', async () => {
    const image = await pushSmallImage(client, 'team/delete', 'gone');
    await client.deleteManifest('team/delete', image.digest);
    await expect(client.headManifest('team/delete', image.digest)).resolves.toBeUndefined();
    await expect(client.deleteManifest('team/delete', image.digest)).resolves.toBeUndefined();
  });

  test('reports a missing manifest with the registry, repository and the registry error code', async () => {
    await pushSmallImage(client, 'team/missing', 'present');
    const error = await client.getManifest('team/missing', 'absent').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({
      status: 404,
      registryCode: 'MANIFEST_UNKNOWN',
      repository: 'team/missing',
    });
    expect((error as Error).message).toContain(
      `getting manifest ${registry.host}/team/missing:absent failed: HTTP 404 MANIFEST_UNKNOWN`,
    );
  });

  test('lists every tag of a repository', async () => {
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushSmallImage(client, 'team/tags', tag, 'same');
    const tags = await client.listTags('team/tags', { pageSize: 2 });
    // distribution 2.8 ignores `n` and answers with one page; paging itself is tested on a local server.
    expect(tags.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('mounts a blob from another repository, and says so when the registry starts an upload instead', async () => {
    const data = Buffer.from(`mountable ${mode}`);
    const { digest } = await client.pushBlob('team/mount-source', data);
    await expect(client.mountBlob('team/mount-target', digest, 'team/mount-source')).resolves.toBe(true);
    await expect(client.blobExists('team/mount-target', digest)).resolves.toBe(true);

    const missing = sha256Digest(`not in the source ${mode}`);
    await expect(client.mountBlob('team/mount-target', missing, 'team/mount-source')).resolves.toBe(false);
    await expect(client.blobExists('team/mount-target', missing)).resolves.toBe(false);
  });

  test('lists referrers through the fallback tag, filtered by artifact type', async () => {
    const subject = await pushSmallImage(client, 'team/signed', 'v1');
    const subjectDescriptor = {
      mediaType: MediaType.ociManifest,
      digest: subject.digest,
      size: subject.manifest.length,
    };
    const referrer = async (artifactType: string, payload: string): Promise<ImageManifest> => {
      const layer = await client.pushBlob('team/signed', payload);
      return {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType,
        config: { mediaType: MediaType.ociEmpty, digest: sha256Digest('{}'), size: 2 },
        layers: [{ mediaType: 'application/octet-stream', ...layer }],
        subject: subjectDescriptor,
        annotations: { 'org.example.payload': payload },
      };
    };
    const signature = await client.pushReferrer(
      'team/signed',
      await referrer('application/vnd.example.sig', 'sig'),
    );
    const sbom = await client.pushReferrer('team/signed', await referrer('application/spdx+json', 'sbom'));
    // Pushing the same referrer again must not list it twice.
    await client.pushReferrer('team/signed', await referrer('application/spdx+json', 'sbom'));

    const all = await client.referrers('team/signed', subject.digest);
    expect(all.map((d) => d.digest).sort()).toEqual([signature.digest, sbom.digest].sort());
    expect(all.find((d) => d.digest === sbom.digest)).toMatchObject({
      mediaType: MediaType.ociManifest,
      artifactType: 'application/spdx+json',
      annotations: { 'org.example.payload': 'sbom' },
    });
    const sboms = await client.referrers('team/signed', subject.digest, {
      artifactType: 'application/spdx+json',
    });
    expect(sboms.map((d) => d.digest)).toEqual([sbom.digest]);
    await expect(client.listTags('team/signed')).resolves.toContain(fallbackTag(subject.digest));
    await expect(client.referrers('team/signed', sha256Digest('no such subject'))).resolves.toEqual([]);
  });
});
