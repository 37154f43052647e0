/**
 * Issue 13, item 3: an upload session whose Location is another origin gets the upload without the
 * registry's credentials, and one that downgrades an HTTPS registry to plain HTTP is refused before
 * anything is sent. Real registries behind the fault proxy, which rewrites the Location.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createServerCertificate, type LocalRegistry, makeTempDir } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  type FaultProxy,
  type HostileHost,
  startFaultProxy,
  startHostileHost,
} from '../../../test/harness/fault-proxy.js';
import { RegistryClient, RegistryError } from '../src/index.js';
import { emptyDockerConfig, failure, resources } from './helpers.js';

/** Moves the upload Location the registry handed out to `origin`, path and state kept. */
const relocate = (origin: string) => (headers: IncomingHttpHeaders) => {
  const location = new URL(String(headers.location), 'http://registry.invalid');
  return { ...headers, location: `${origin}${location.pathname}${location.search}` };
};

describe('an upload Location on another origin (token registry)', () => {
  const owned = resources();
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let hostile: HostileHost;

  beforeAll(async () => {
    registry = await owned.registry({ mode: 'token' });
    [proxy, hostile] = await Promise.all([startFaultProxy({ url: registry.url }), startHostileHost()]);
    owned.onClose(() => Promise.all([proxy.close(), hostile.close()]));
  });
  afterAll(() => owned.closeAll());
  beforeEach(() => {
    proxy.clear();
    hostile.clear();
  });

  test('receives the upload without the registry token, and its challenge is not answered', async () => {
    const client = owned.client(registry, { host: proxy.host, retry: { attempts: 1 } });
    proxy.fault({ method: 'POST', path: /\/blobs\/uploads\/$/, rewriteHeaders: relocate(hostile.url) });
    const error = await failure(client.pushBlob('team/app', 'uploaded elsewhere'));

    // The upload, then the cancel of the session it failed in: both without credentials.
    expect(hostile.requests().map((r) => r.method)).toEqual(['PUT', 'DELETE']);
    expect(hostile.credentials()).toEqual([]);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error?.message).toContain(
      `${hostile.url}, which is not ${proxy.host}, asked for credentials (HTTP 401)`,
    );
    // The session started on the registry, with its token: only the registry saw credentials.
    expect(proxy.requests().map((r) => `${r.method} ${r.status}`)).toContain('POST 202');
  });
});

describe('an HTTPS registry that hands out a plain-HTTP upload Location', () => {
  const owned = resources();
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let hostile: HostileHost;
  let client: RegistryClient;

  beforeAll(async () => {
    registry = await owned.registry({ mode: 'basic' });
    const temp = await makeTempDir('oci-upload-tls');
    owned.onClose(() => temp.remove());
    const certs = await createServerCertificate(temp.path);
    [proxy, hostile] = await Promise.all([
      startFaultProxy(
        { url: registry.url, ca: registry.caCertPem },
        { tls: { certPem: certs.server.certPem, keyPem: certs.server.keyPem } },
      ),
      startHostileHost(),
    ]);
    owned.onClose(() => Promise.all([proxy.close(), hostile.close()]));
    client = new RegistryClient(proxy.host, {
      tls: true,
      ca: certs.ca.certPem,
      credentials: { username: registry.username ?? '', password: registry.password ?? '' },
      dockerConfig: emptyDockerConfig,
      retry: { attempts: 1 },
    });
    owned.onClose(() => client.close());
  });
  afterAll(() => owned.closeAll());
  beforeEach(() => {
    proxy.clear();
    hostile.clear();
  });

  test('refuses the downgrade before sending the upload or any credentials there', async () => {
    proxy.fault({ method: 'POST', path: /\/blobs\/uploads\/$/, rewriteHeaders: relocate(hostile.url) });
    const error = await failure(client.pushBlob('team/app', 'never over plain HTTP'));

    expect(hostile.requests()).toEqual([]);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error?.message).toBe(
      `${proxy.host} handed out the upload location ${hostile.url}, plain HTTP where the registry speaks HTTPS: digestline will not send the upload there. Fix: configure the registry (or the proxy in front of it) to hand out https:// upload locations.`,
    );
  });

  test('still uploads where the registry hands out its own HTTPS location', async () => {
    await expect(client.pushBlob('team/app', 'over HTTPS')).resolves.toMatchObject({ size: 10 });
    expect(proxy.requests().map((r) => `${r.method} ${r.status}`)).toEqual(
      expect.arrayContaining(['POST 202', 'PUT 201']),
    );
  });
});
