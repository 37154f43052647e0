import { type LocalRegistry, runAction, startRegistry } from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { findPromotionRecords } from '@digestline/promotion';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { expectDeployment, statusesSent } from '../../actions/promote/test/deployments-fixture.js';
import {
  clientFor,
  makeKeys,
  pushSignedImage,
  snapshotTags,
  type TestKeys,
} from '../../packages/promotion/test/helpers.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { type GitHubFixture, startGitHub } from '../harness/github.js';
import { type Interceptor, startInterceptor } from './interceptor.js';

/**
 * Issue 13, item 5: a promotion whose record cannot be written after the tag moved must not leave the
 * environment on a digest without a record. Run against the built promote action and a real registry.
 */
let registry: LocalRegistry;
let client: RegistryClient;
let github: GitHubFixture;
let keys: TestKeys;
let proxy: FaultProxy;
let interceptor: Interceptor;

beforeAll(async () => {
  [registry, github, keys] = await Promise.all([startRegistry(), startGitHub(), makeKeys('atomic-pass')]);
  client = clientFor(registry);
  [proxy, interceptor] = await Promise.all([
    startFaultProxy({ url: registry.url }),
    startInterceptor(registry.url),
  ]);
});
afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), github?.stop(), proxy?.close(), interceptor?.close()]);
});
afterEach(() => {
  github.assertDone();
  proxy.clear();
});

function promoteInto(host: string, repository: string, digest: string, extra: Record<string, string> = {}) {
  return runAction('promote', {
    inputs: {
      image: `${host}/${repository}`,
      digest,
      'target-env': 'dev',
      'public-key': keys.publicPem,
      'cosign-private-key': keys.encryptedPem,
      'cosign-password': keys.password,
      'github-token': 'ghs_atomicTestToken0123456789',
      // Signed under the registry's own address, promoted through a proxy's.
      'signature-references': `${registry.host}/${repository}`,
      ...extra,
    },
    env: { GITHUB_API_URL: github.url },
  });
}

/** The record of a digest lands in its fallback tag index (`sha256-<hex>`): distribution 2.8 has no referrers API. */
const fallbackPut = (repository: string, digest: string) =>
  new RegExp(`^/v2/${repository}/manifests/${digest.replace(':', '-')}$`);

const registryFails = (status = 500) => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'injected by the test' }] }),
});

const tagOf = async (repository: string, tag: string) => (await client.headManifest(repository, tag))?.digest;
const errorOf = (result: Awaited<ReturnType<typeof runAction>>) =>
  result.annotations.find((a) => a.level === 'error')?.message ?? '';

describe('promote: the tag and its record move together', () => {
  test('retries the fallback-index PUT of the record after a 500, and succeeds', async () => {
    const digest = await pushSignedImage(registry, client, 'atomic/retry', 1, keys.privateKey);
    proxy.fault({ method: 'PUT', path: fallbackPut('atomic/retry', digest), respond: registryFails() });
    expectDeployment(github);
    const result = await promoteInto(proxy.host, 'atomic/retry', digest);
    expect(errorOf(result)).toBe('');
    expect(result.exitCode).toBe(0);
    const puts = proxy
      .requests()
      .filter((r) => r.method === 'PUT' && fallbackPut('atomic/retry', digest).test(r.path));
    expect(puts.map((r) => r.status)).toEqual([500, 201]);
    expect(await tagOf('atomic/retry', 'dev')).toBe(digest);
    const records = await findPromotionRecords(client, 'atomic/retry', digest, 'dev', [keys.publicKey]);
    expect(records.records).toHaveLength(1);
    expect(statusesSent(github).at(-1)).toBe('success');
  });

  test('puts the tag back, marks the deployment failed and says so when the record cannot be written', async () => {
    const before = await pushSignedImage(registry, client, 'atomic/undo', 2, keys.privateKey);
    const digest = await pushSignedImage(registry, client, 'atomic/undo', 3, keys.privateKey);
    expect(
      (await promoteInto(registry.host, 'atomic/undo', before, { 'record-deployment': 'false' })).exitCode,
    ).toBe(0);
    const tags = await snapshotTags(client, ['atomic/undo']);
    proxy.fault({
      method: 'PUT',
      path: fallbackPut('atomic/undo', digest),
      times: 20,
      respond: registryFails(),
    });
    expectDeployment(github);

    const result = await promoteInto(proxy.host, 'atomic/undo', digest);
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(
      new RegExp(`promotion record .*could not be written.*dev was put back to ${before}`, 's'),
    );
    expect(errorOf(result)).toMatch(/run the promotion again/i);
    expect(await tagOf('atomic/undo', 'dev')).toBe(before);
    expect(await snapshotTags(client, ['atomic/undo'])).toEqual(tags);
    expect(statusesSent(github).at(-1)).toBe('failure');
    const faulted = proxy.requests().filter((r) => r.faulted);
    expect(faulted.length).toBeGreaterThan(1);
  });

  test('leaves the tag alone when another writer moved it after this run did (compare-and-set)', async () => {
    const before = await pushSignedImage(registry, client, 'atomic/cas', 4, keys.privateKey);
    const digest = await pushSignedImage(registry, client, 'atomic/cas', 5, keys.privateKey);
    const other = await pushSignedImage(registry, client, 'atomic/cas', 6, keys.privateKey);
    expect(
      (await promoteInto(registry.host, 'atomic/cas', before, { 'record-deployment': 'false' })).exitCode,
    ).toBe(0);
    const otherManifest = await client.getManifest('atomic/cas', other);
    interceptor.intercept({
      method: 'PUT',
      path: fallbackPut('atomic/cas', digest),
      times: 20,
      // Someone else promotes into dev while this run is writing its record.
      before: async () => {
        await client.putManifest('atomic/cas', 'dev', otherManifest.bytes, otherManifest.mediaType);
      },
      respond: registryFails(503),
    });
    const result = await promoteInto(interceptor.host, 'atomic/cas', digest, {
      'record-deployment': 'false',
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(new RegExp(`dev now points to ${other}.*left as it is`, 's'));
    expect(await tagOf('atomic/cas', 'dev')).toBe(other);
  });

  test('a tag this run created cannot be put back: the error says it has no record and what to do', async () => {
    const digest = await pushSignedImage(registry, client, 'atomic/new', 7, keys.privateKey);
    proxy.fault({
      method: 'PUT',
      path: fallbackPut('atomic/new', digest),
      times: 20,
      respond: registryFails(),
    });
    const result = await promoteInto(proxy.host, 'atomic/new', digest, { 'record-deployment': 'false' });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(/did not exist before.*no promotion record.*run the promotion again/is);
  });
});
