import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { errorOf, type PromoteStage, startPromoteStage } from './promote-stage.js';

/**
 * Issue 13, item 9, as the built promote action meets it: a blob is read no further than its descriptor's
 * size, and a Docker-Content-Digest header is checked before it is used. A real registry behind the fault
 * proxy; the hostile host serves a body without end. The list, page and index-depth caps are tested on
 * the client in packages/oci/test/size-caps.test.ts.
 */
let stage: PromoteStage;

beforeAll(async () => {
  stage = await startPromoteStage('open');
});
afterAll(() => stage?.stop());
beforeEach(() => stage.clear());

describe('promote against a registry that sends more, or other, than it should', () => {
  test('stops reading a signature payload at its descriptor size when the body never ends', async () => {
    const { client, proxy, hostile } = stage;
    const digest = await stage.signedImage('caps/flood', 1);
    proxy.fault({
      method: 'GET',
      path: /^\/v2\/caps\/flood\/blobs\/sha256:/,
      times: 50,
      respond: ({ path }) => ({ status: 307, headers: { location: `${hostile.url}/flood${path}` } }),
    });
    const result = await stage.promote('caps/flood', digest);

    expect(result.exitCode).toBe(1);
    const floods = hostile.requests().filter((r) => r.path.startsWith('/flood/'));
    expect(floods).toHaveLength(1);
    // The client hung up early: the flood was never read to its end.
    expect(floods[0]?.drained).toBe(false);
    expect(errorOf(result)).toMatch(/sent more than \d+ bytes, the size its descriptor gives/);
    expect(await client.headManifest('caps/flood', 'dev')).toBeUndefined();
  });

  test('refuses a Docker-Content-Digest that is not a digest, before the tag moves', async () => {
    const { client, proxy } = stage;
    const running = await stage.signedImage('caps/header', 2);
    const next = await stage.signedImage('caps/header', 3);
    const { bytes, mediaType } = await client.getManifest('caps/header', running);
    await client.putManifest('caps/header', 'dev', bytes, mediaType);
    const bogus = 'sha256:../../../v2/caps/other/manifests/latest';
    proxy.fault({
      method: 'HEAD',
      path: /^\/v2\/caps\/header\/manifests\/dev$/,
      rewriteHeaders: (headers) => ({ ...headers, 'docker-content-digest': bogus }),
    });
    const result = await stage.promote('caps/header', next);

    expect(proxy.requests().filter((r) => r.faulted)).toHaveLength(1);
    expect(result.exitCode).toBe(1);
    expect(result.outputs['previous-digest']).toBeUndefined();
    expect(errorOf(result)).toContain(`Docker-Content-Digest ${JSON.stringify(bogus)}`);
    expect((await client.headManifest('caps/header', 'dev'))?.digest).toBe(running);
  });
});
