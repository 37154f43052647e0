import { createHash } from 'node:crypto';
import { httpRequest, type LocalRegistry, startRegistry } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A config blob and a manifest for it, pushed straight to an open registry (not through the proxy). */
async function pushDirect(registry: LocalRegistry, repository: string, tag: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifestType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [],
    }),
  );
  const started = await httpRequest(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(String(started.headers.location), registry.url);
  location.searchParams.set('digest', sha256(config));
  await httpRequest(location.toString(), { method: 'PUT', body: config });
  await httpRequest(`${registry.url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': ociManifestType },
    body: manifest,
  });
  return { manifest, digest: sha256(manifest) };
}

describe('fault proxy in front of an open registry', () => {
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let image: { manifest: Buffer; digest: string };
  const manifestPath = '/v2/team/app/manifests/v1';
  const get = (path: string, method = 'GET') =>
    httpRequest(`${proxy.url}${path}`, { method, headers: { accept: ociManifestType } });

  beforeAll(async () => {
    registry = await startRegistry({ mode: 'open' });
    proxy = await startFaultProxy({ url: registry.url });
    image = await pushDirect(registry, 'team/app', 'v1');
  });
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });
  beforeEach(() => proxy.clear());

  test('passes requests through unchanged and records each with its status', async () => {
    const response = await get(manifestPath);
    expect(response.status).toBe(200);
    expect(response.body.equals(image.manifest)).toBe(true);
    expect(response.headers['docker-content-digest']).toBe(image.digest);
    await get('/v2/team/app/manifests/nope');
    expect(proxy.requests()).toEqual([
      { method: 'GET', path: manifestPath, status: 200, faulted: false, at: expect.any(Number) },
      {
        method: 'GET',
        path: '/v2/team/app/manifests/nope',
        status: 404,
        faulted: false,
        at: expect.any(Number),
      },
    ]);
  });

  test('answers a scripted response as many times as asked, then passes through again', async () => {
    proxy.fault({
      method: 'GET',
      path: /manifests/,
      times: 2,
      respond: { status: 503, headers: { 'retry-after': '1' } },
    });
    const first = await get(manifestPath);
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    expect((await get(manifestPath)).status).toBe(503);
    expect((await get(manifestPath)).status).toBe(200);
    expect(proxy.requests().map((r) => [r.status, r.faulted])).toEqual([
      [503, true],
      [503, true],
      [200, false],
    ]);
  });

  test('matches the method as well as the path', async () => {
    proxy.fault({ method: 'HEAD', path: /manifests/, respond: { status: 500 } });
    expect((await get(manifestPath)).status).toBe(200);
    expect((await get(manifestPath, 'HEAD')).status).toBe(500);
  });

  test('resets the connection before the registry sees the request', async () => {
    proxy.fault({ method: 'PUT', path: /manifests\/reset-before$/, reset: 'before' });
    const put = httpRequest(`${proxy.url}/v2/team/app/manifests/reset-before`, {
      method: 'PUT',
      headers: { 'content-type': ociManifestType },
      body: image.manifest,
    });
    await expect(put).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await get('/v2/team/app/manifests/reset-before')).status).toBe(404);
    expect(proxy.requests()[0]).toMatchObject({ method: 'PUT', status: 'reset', faulted: true });
  });

  test('resets the connection after the registry acted, so the client never hears of it', async () => {
    proxy.fault({ method: 'PUT', path: /manifests\/reset-after$/, reset: 'after' });
    const put = httpRequest(`${proxy.url}/v2/team/app/manifests/reset-after`, {
      method: 'PUT',
      headers: { 'content-type': ociManifestType },
      body: image.manifest,
    });
    await expect(put).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await get('/v2/team/app/manifests/reset-after')).status).toBe(200);
  });

  test('delays a request before passing it through', async () => {
    proxy.fault({ path: /manifests/, delayMs: 300 });
    const started = Date.now();
    expect((await get(manifestPath)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  test('rewrites the body and headers of a passed-through answer', async () => {
    proxy.fault({
      path: /manifests/,
      rewriteBody: (body) => Buffer.from(body.toString().replace('"schemaVersion":2', '"schemaVersion":3')),
      rewriteHeaders: (headers) => ({ ...headers, 'docker-content-digest': 'sha256:rewritten' }),
    });
    const response = await get(manifestPath);
    expect(response.body.toString()).toContain('"schemaVersion":3');
    expect(response.body.length).toBe(image.manifest.length);
    expect(response.headers['docker-content-digest']).toBe('sha256:rewritten');
  });

  test('leads upload locations handed out by the registry back through the proxy', async () => {
    const started = await httpRequest(`${proxy.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    expect(started.status).toBe(202);
    expect(new URL(String(started.headers.location)).host).toBe(proxy.host);
  });
});

describe('fault proxy in front of a TLS registry with basic auth', () => {
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  beforeAll(async () => {
    registry = await startRegistry({ mode: 'basic' });
    proxy = await startFaultProxy({ url: registry.url, ca: registry.caCertPem });
  });
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  test('speaks plain HTTP to the client and TLS to the registry, passing credentials on', async () => {
    const authorization = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
    expect((await httpRequest(`${proxy.url}/v2/`)).status).toBe(401);
    expect((await httpRequest(`${proxy.url}/v2/`, { headers: { authorization } })).status).toBe(200);
  });
});
