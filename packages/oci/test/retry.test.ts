import type { LocalRegistry } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { type FaultProxy, startFaultProxy } from '../../../test/harness/fault-proxy.js';
import {
  copyBlob,
  DigestMismatchError,
  MediaType,
  type RegistryClient,
  RegistryError,
  sha256Digest,
} from '../src/index.js';
import { pushSmallImage, resources } from './helpers.js';

describe('retries and verification through a fault proxy', () => {
  const owned = resources();
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let client: RegistryClient;
  let image: Awaited<ReturnType<typeof pushSmallImage>>;

  const calls = () => proxy.requests().map((r) => `${r.method} ${r.status}`);
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );

  beforeAll(async () => {
    registry = await owned.registry({ mode: 'open' });
    proxy = await startFaultProxy({ url: registry.url });
    owned.onClose(() => proxy.close());
    client = owned.client(registry, {
      host: proxy.host,
      retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 },
    });
    image = await pushSmallImage(client, 'team/app', 'v1');
  });
  afterAll(() => owned.closeAll());
  beforeEach(() => proxy.clear());

  test('retries a GET that met a 503 and returns the answer that followed', async () => {
    proxy.fault({ method: 'GET', path: /manifests\/v1$/, respond: { status: 503 } });
    const manifest = await client.getManifest('team/app', 'v1');
    expect(manifest.digest).toBe(image.digest);
    expect(calls()).toEqual(['GET 503', 'GET 200']);
  });

  test('waits at least as long as a 429 asks in Retry-After', async () => {
    proxy.fault({
      method: 'HEAD',
      path: /manifests\/v1$/,
      respond: { status: 429, headers: { 'retry-after': '1' } },
    });
    await expect(client.headManifest('team/app', 'v1')).resolves.toMatchObject({ digest: image.digest });
    const [limited, retried] = proxy.requests();
    expect(calls()).toEqual(['HEAD 429', 'HEAD 200']);
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  test('retries a GET whose connection was reset', async () => {
    proxy.fault({ method: 'GET', path: /manifests\/v1$/, reset: 'before' });
    await expect(client.getManifest('team/app', 'v1')).resolves.toMatchObject({ digest: image.digest });
    expect(calls()).toEqual(['GET reset', 'GET 200']);
  });

  test('stops after the configured attempts and says how often it tried, with the registry error', async () => {
    const body = JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'maintenance' }] });
    proxy.fault({ path: /manifests\/v1$/, times: 10, respond: { status: 503, body } });
    const error = await failure(client.getManifest('team/app', 'v1'));
    expect(calls()).toEqual(['GET 503', 'GET 503', 'GET 503', 'GET 503']);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({
      status: 503,
      registryCode: 'UNAVAILABLE',
      code: 'REGISTRY_UNAVAILABLE',
      fault: 'environment',
      registry: proxy.host,
      repository: 'team/app',
    });
    expect(error?.message).toBe(
      `getting manifest ${proxy.host}/team/app:v1 failed: HTTP 503 UNAVAILABLE (maintenance). (gave up after 4 attempts)`,
    );
  });

  test('gives up at once when Retry-After reaches past the overall timeout', async () => {
    const impatient = owned.client(registry, { host: proxy.host, retry: { totalTimeoutMs: 2_000 } });
    proxy.fault({ path: /manifests\/v1$/, respond: { status: 429, headers: { 'retry-after': '60' } } });
    const started = Date.now();
    const error = await failure(impatient.getManifest('team/app', 'v1'));
    // One request, and no wait for the 60 s it asked for (half of it leaves room for any machine's load).
    expect(calls()).toEqual(['GET 429']);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(error?.message).toContain('HTTP 429');
    expect(error?.message).toContain('the next would start past the overall timeout of 2000 ms');
  });

  test('bounds a hanging registry by the overall timeout', async () => {
    const impatient = owned.client(registry, { host: proxy.host, retry: { totalTimeoutMs: 400 } });
    proxy.fault({ path: /manifests\/v1$/, delayMs: 10_000 });
    const started = Date.now();
    const error = await failure(impatient.getManifest('team/app', 'v1'));
    // It did not wait for the answer that comes after 10 s.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error?.message).toBe(
      `getting manifest ${proxy.host}/team/app:v1 failed: no answer within the overall timeout of 400 ms`,
    );
  });

  test('does not re-send a manifest PUT by tag, which could undo someone else moving the tag', async () => {
    proxy.fault({ method: 'PUT', path: /manifests\/moved$/, respond: { status: 503 } });
    const error = await failure(
      client.putManifest('team/app', 'moved', image.manifest, MediaType.ociManifest),
    );
    expect(error).toMatchObject({ status: 503 });
    expect(calls()).toEqual(['PUT 503']);
  });

  test('re-sends a manifest PUT by digest', async () => {
    proxy.fault({ method: 'PUT', path: /manifests\/sha256:/, respond: { status: 502 } });
    await expect(
      client.putManifest('team/app', image.digest, image.manifest, MediaType.ociManifest),
    ).resolves.toEqual({
      digest: image.digest,
    });
    expect(calls()).toEqual(['PUT 502', 'PUT 201']);
  });

  test('never re-sends a finished upload whose answer was lost: it finds the blob instead', async () => {
    const data = Buffer.from(`lost answer ${Date.now()}`);
    proxy.fault({ method: 'PUT', path: /blobs\/uploads\//, reset: 'after' });
    await expect(client.pushBlob('team/app', data)).resolves.toEqual({
      digest: sha256Digest(data),
      size: data.length,
    });
    // HEAD (absent), POST, PUT (committed, answer lost), DELETE of the spent session, HEAD (present).
    expect(calls()).toEqual(['HEAD 404', 'POST 202', 'PUT reset', 'DELETE 404', 'HEAD 200']);
  });

  test('starts a failed upload over with a new session, never resuming the old one', async () => {
    const data = Buffer.from(`restarted ${Date.now()}`);
    proxy.fault({ method: 'PUT', path: /blobs\/uploads\//, respond: { status: 500 } });
    await client.pushBlob('team/app', data);
    expect(calls()).toEqual([
      'HEAD 404',
      'POST 202',
      'PUT 500',
      'DELETE 204',
      'HEAD 404',
      'POST 202',
      'PUT 201',
    ]);
    const puts = proxy.requests().filter((r) => r.method === 'PUT');
    expect(new URL(puts[0]?.path ?? '', 'http://x').pathname).not.toBe(
      new URL(puts[1]?.path ?? '', 'http://x').pathname,
    );
    await expect(client.getBlob('team/app', sha256Digest(data))).resolves.toEqual(data);
  });

  test('does not retry an upload refused for a reason another try cannot fix', async () => {
    proxy.fault({ method: 'POST', path: /blobs\/uploads\//, respond: { status: 400 } });
    const error = await failure(client.pushBlob('team/app', `bad request ${Date.now()}`));
    expect(error).toMatchObject({ status: 400 });
    expect(calls()).toEqual(['HEAD 404', 'POST 400']);
  });

  test('rejects a manifest whose bytes do not match the Docker-Content-Digest', async () => {
    const flip = (body: Buffer) =>
      Buffer.from(body.toString().replace('"schemaVersion":2', '"schemaVersion":3'));
    proxy.fault({ method: 'GET', path: /manifests\/v1$/, rewriteBody: flip });
    const byTag = await failure(client.getManifest('team/app', 'v1'));
    expect(byTag).toBeInstanceOf(DigestMismatchError);
    expect(byTag).toMatchObject({ expected: image.digest, registry: proxy.host });
    expect(byTag?.message).toContain(
      `getting manifest ${proxy.host}/team/app:v1: the registry sent bytes hashing to`,
    );

    proxy.fault({ method: 'GET', path: /manifests\/sha256:/, rewriteBody: flip });
    await expect(client.getManifest('team/app', image.digest)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  test('rejects a blob whose bytes do not match its digest', async () => {
    const configDigest = sha256Digest(image.config);
    proxy.fault({
      method: 'GET',
      path: /blobs\/sha256:/,
      rewriteBody: (body) => Buffer.concat([body, Buffer.from(' ')]),
    });
    await expect(client.getBlob('team/app', configDigest)).rejects.toMatchObject({
      name: 'DigestMismatchError',
      expected: configDigest,
    });
  });

  test('reads the digest of a tag from the manifest itself when HEAD does not announce it', async () => {
    proxy.fault({
      method: 'HEAD',
      path: /manifests\/v1$/,
      rewriteHeaders: ({ 'docker-content-digest': _digest, ...rest }) => rest,
    });
    await expect(client.headManifest('team/app', 'v1')).resolves.toEqual({
      digest: image.digest,
      mediaType: MediaType.ociManifest,
      size: image.manifest.length,
    });
    expect(calls()).toEqual(['HEAD 200', 'GET 200']);
  });

  test('tells credentials refused with 403 which access they lack', async () => {
    const named = owned.client(registry, {
      host: proxy.host,
      credentials: { username: 'ci', password: 'secret' },
    });
    const body = JSON.stringify({
      errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }],
    });
    proxy.fault({ method: 'PUT', path: /manifests\/v2$/, respond: { status: 403, body } });
    const error = await failure(named.putManifest('team/app', 'v2', image.manifest, MediaType.ociManifest));
    expect(error).toMatchObject({ status: 403, registryCode: 'DENIED' });
    expect(error?.message).toBe(
      `pushing manifest ${proxy.host}/team/app:v2 failed: HTTP 403 DENIED (requested access to the resource is denied). ` +
        'Credentials used: user "ci" from the credentials option. They are not allowed to push to team/app. ' +
        `Fix: use credentials with push access to ${proxy.host}/team/app.`,
    );
  });

  test("takes a manifest's own mediaType when the registry sends a generic Content-Type", async () => {
    proxy.fault({
      method: 'GET',
      path: /manifests\/v1$/,
      rewriteHeaders: (headers) => ({ ...headers, 'content-type': 'application/json' }),
    });
    await expect(client.getManifest('team/app', 'v1')).resolves.toMatchObject({
      mediaType: MediaType.ociManifest,
    });
  });

  test('copies a blob within a registry when the mount is refused to the target credentials', async () => {
    const { digest, size } = await client.pushBlob('team/source', `mount refused ${Date.now()}`);
    proxy.clear();
    proxy.fault({ method: 'POST', path: /mount=/, times: 2, respond: { status: 401 } });
    await expect(
      copyBlob(
        { client, repository: 'team/source' },
        { client, repository: 'team/target' },
        { digest, size },
      ),
    ).resolves.toBe('copied');
    expect(calls()).toEqual(['HEAD 404', 'POST 401', 'POST 202', 'GET 200', 'PATCH 202', 'PUT 201']);
  });
});
