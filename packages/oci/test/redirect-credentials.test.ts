/**
 * Issue 13, item 2: a 401 from a host the registry redirected to (blob storage, a CDN) is not the
 * registry's challenge, and a challenge naming another token service than the registry's first one is
 * not answered. The registries are real (token and basic modes); the hostile host records what it gets.
 */
import type { LocalRegistry } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  type FaultProxy,
  type HostileHost,
  startFaultProxy,
  startHostileHost,
} from '../../../test/harness/fault-proxy.js';
import { type RegistryClient, RegistryError } from '../src/index.js';
import { failure, pushSmallImage, resources } from './helpers.js';

describe.each(['token', 'basic'] as const)('a %s registry behind a proxy, and a hostile host', (mode) => {
  const owned = resources();
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let hostile: HostileHost;
  let image: Awaited<ReturnType<typeof pushSmallImage>>;
  let configPath: RegExp;

  beforeAll(async () => {
    registry = await owned.registry({ mode });
    [proxy, hostile] = await Promise.all([
      startFaultProxy({ url: registry.url, ca: registry.caCertPem }),
      startHostileHost(),
    ]);
    owned.onClose(() => Promise.all([proxy.close(), hostile.close()]));
    image = await pushSmallImage(owned.client(registry), 'team/app', 'v1');
    const config = JSON.parse(image.manifest.toString()).config.digest as string;
    configPath = new RegExp(`/blobs/${config}$`);
  });
  afterAll(() => owned.closeAll());
  beforeEach(() => {
    proxy.clear();
    hostile.clear();
  });

  /** A client of the proxy that has already met the registry's own challenge. */
  async function authenticated(): Promise<RegistryClient> {
    const client = owned.client(registry, { host: proxy.host, retry: { attempts: 2, baseDelayMs: 10 } });
    await client.headManifest('team/app', 'v1');
    return client;
  }

  test('a blob redirected to a host that asks for credentials is refused, and the host gets none', async () => {
    const client = await authenticated();
    proxy.fault({
      method: 'GET',
      path: configPath,
      times: 4,
      respond: { status: 307, headers: { location: `${hostile.url}/storage/config?sig=abc` } },
    });
    const config = JSON.parse(image.manifest.toString()).config as { digest: string; size: number };
    const error = await failure(client.getBlob('team/app', config));

    expect(hostile.requests().map((r) => `${r.method} ${r.path}`)).toEqual(['GET /storage/config?sig=abc']);
    expect(hostile.credentials()).toEqual([]);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error?.message).toBe(
      `getting blob ${proxy.host}/team/app@${config.digest} failed: ${hostile.url}, which is not ${proxy.host}, asked for credentials (HTTP 401); digestline sends the registry's credentials only to the registry and the token service it named first. Fix: the registry's storage or upload location must accept the request without them (a signed URL); check the registry's storage settings.`,
    );
    // Still the registry's client: its own credentials keep working after the refusal.
    await expect(client.headManifest('team/app', 'v1')).resolves.toMatchObject({ digest: image.digest });
  });

  test('a challenge of the registry naming another token service than its first is not answered', async () => {
    const client = await authenticated();
    proxy.fault({
      method: 'GET',
      path: configPath,
      respond: {
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${hostile.realm}",service="registry"` },
      },
    });
    const error = await failure(client.getBlob('team/app', JSON.parse(image.manifest.toString()).config));

    expect(hostile.requests()).toEqual([]);
    expect(error).toBeInstanceOf(RegistryError);
    const first =
      mode === 'token'
        ? `first named ${new URL(registry.tokenRealm ?? '').origin}`
        : 'asked for Basic credentials at first';
    expect(error?.message).toBe(
      `${proxy.host} named the token service ${hostile.url}, but it ${first}: digestline sends the registry's credentials only where its first challenge pointed, so it asked ${hostile.url} for nothing. Fix: check what answers for ${proxy.host} (a proxy or another service in front of it may be injecting challenges).`,
    );
  });
});
