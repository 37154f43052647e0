import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { snapshotTags } from '../../packages/promotion/test/helpers.js';
import { errorOf, type PromoteStage, startPromoteStage } from './promote-stage.js';

/**
 * Issue 13, item 2: a 401 from a host the registry redirected to (blob storage, a CDN) is not the
 * registry's challenge, and a later challenge naming another token service than the registry's first is
 * not answered. The built promote action runs against a real token-auth registry behind the fault proxy;
 * the hostile host keeps whatever credentials reach it.
 */
let stage: PromoteStage;

beforeAll(async () => {
  stage = await startPromoteStage('token');
});
afterAll(() => stage?.stop());
beforeEach(() => stage.clear());

describe('promote: the registry password goes to the registry and its first token service only', () => {
  test('a signature blob redirected to a host that answers 401 is refused, and the host gets no credentials', async () => {
    const { client, proxy, hostile, registry } = stage;
    const digest = await stage.signedImage('redirect/app', 1);
    const before = await snapshotTags(client, ['redirect/app']);
    // Every blob the action reads is sent to "storage" on the hostile host, which asks for a token from itself.
    proxy.fault({
      method: 'GET',
      path: /^\/v2\/redirect\/app\/blobs\/sha256:/,
      times: 50,
      respond: ({ path }) => ({
        status: 307,
        headers: { location: `${hostile.url}/storage${path}?sig=abc` },
      }),
    });
    const result = await stage.promote('redirect/app', digest);

    expect(result.exitCode).toBe(1);
    // The redirect was followed (so the host had its chance), but only the signed URL was asked for.
    expect(hostile.requests().length).toBeGreaterThan(0);
    expect(hostile.requests().filter((r) => !r.path.startsWith('/storage/'))).toEqual([]);
    expect(hostile.credentials()).toEqual([]);
    expect(errorOf(result)).toContain(`${hostile.url}, which is not ${proxy.host}, asked for credentials`);
    expect(result.log).not.toContain(registry.password ?? '');
    expect(await snapshotTags(client, ['redirect/app'])).toEqual(before);
  });

  test('a challenge naming another token service than the first one is not answered', async () => {
    const { client, proxy, hostile, registry } = stage;
    const digest = await stage.signedImage('pin/app', 2);
    const before = await snapshotTags(client, ['pin/app']);
    // The action has met the registry's real challenge by the time it reads the signatures; then this one comes.
    proxy.fault({
      method: 'GET',
      path: /^\/v2\/pin\/app\/manifests\/sha256-[a-f0-9]{64}\.sig$/,
      respond: {
        status: 401,
        headers: {
          'www-authenticate': `Bearer realm="${hostile.realm}",service="hostile",scope="repository:pin/app:pull"`,
        },
      },
    });
    const result = await stage.promote('pin/app', digest);

    expect(result.exitCode).toBe(1);
    expect(proxy.requests().filter((r) => r.faulted)).toHaveLength(1);
    expect(hostile.requests()).toEqual([]);
    expect(errorOf(result)).toContain(
      `${proxy.host} named the token service ${hostile.url}, but it first named ${new URL(registry.tokenRealm ?? '').origin}`,
    );
    expect(await snapshotTags(client, ['pin/app'])).toEqual(before);
  });
});
