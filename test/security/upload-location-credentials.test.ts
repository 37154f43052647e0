import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { snapshotTags } from '../../packages/promotion/test/helpers.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { errorOf, type PromoteStage, startPromoteStage } from './promote-stage.js';

/**
 * Issue 13, item 3: an upload session whose Location is another origin must not receive the registry's
 * credentials. The built promote action copies an image from one registry name to another (two fault
 * proxies in front of one real basic-auth registry, so the copy streams instead of mounting); the target's
 * proxy hands out upload locations on the hostile host. The https → http downgrade needs a registry the
 * action reaches over HTTPS, which a loopback registry never is for the action (it has no TLS inputs): that
 * half is tested on the client in packages/oci/test/upload-location.test.ts.
 */
let stage: PromoteStage;
let target: FaultProxy;

beforeAll(async () => {
  stage = await startPromoteStage('basic');
  target = await startFaultProxy({ url: stage.registry.url, ca: stage.registry.caCertPem });
});
afterAll(async () => {
  await Promise.all([stage?.stop(), target?.close()]);
});
beforeEach(() => {
  stage.clear();
  target.clear();
});

describe('promote into another registry whose upload sessions point elsewhere', () => {
  test('sends the upload there without credentials, stops at its 401, and leaves both registries as they were', async () => {
    const { client, hostile, registry } = stage;
    const digest = await stage.signedImage('upload/app', 1);
    const before = await snapshotTags(client, ['upload/app', 'upload/mirror']);
    // The upload Location the registry handed out, moved to the hostile host with its path and state.
    const toHostile = (headers: IncomingHttpHeaders) => {
      const location = new URL(String(headers.location), 'http://registry.invalid');
      return { ...headers, location: `${hostile.url}${location.pathname}${location.search}` };
    };
    target.fault({
      method: 'POST',
      path: /^\/v2\/upload\/mirror\/blobs\/uploads\/$/,
      times: 50,
      rewriteHeaders: toHostile,
    });
    const password = registry.password ?? '';
    const result = await stage.promote('upload/app', digest, {
      'target-image': `${target.host}/upload/mirror`,
      'target-registry-username': registry.username ?? '',
      'target-registry-password': password,
    });

    expect(result.exitCode).toBe(1);
    // The registry did start the session (with credentials), and the upload went where it pointed.
    expect(
      target
        .requests()
        .filter((r) => r.faulted)
        .map((r) => `${r.method} ${r.status}`),
    ).toContain('POST 202');
    const uploads = hostile.requests().filter((r) => r.path.startsWith('/v2/upload/mirror/blobs/uploads/'));
    expect(uploads.length).toBeGreaterThan(0);
    expect(hostile.credentials()).toEqual([]);
    expect(hostile.requests().filter((r) => r.path.startsWith('/token'))).toEqual([]);
    expect(errorOf(result)).toContain(`${hostile.url}, which is not ${target.host}, asked for credentials`);
    expect(result.log).not.toContain(password);
    expect(await snapshotTags(client, ['upload/app', 'upload/mirror'])).toEqual(before);
  });
});
