import { type LocalRegistry, runAction, startRegistry } from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  clientFor,
  makeKeys,
  pushSignedImage,
  snapshotTags,
  type TestKeys,
} from '../../packages/promotion/test/helpers.js';
import { type Interceptor, startInterceptor } from './interceptor.js';

/**
 * Issue 13, item 6: credentials go only to the registry they were given for, and the workflow's GitHub
 * token only to GitHub's registry. The built promote and canary-deploy actions run against a real
 * registry and a hostile host on 127.0.0.1 that asks every client for Basic credentials and keeps them.
 */
let registry: LocalRegistry;
let client: RegistryClient;
let keys: TestKeys;
let hostile: Interceptor;
let digest: string;
const WORKFLOW_TOKEN = 'ghs_workflowToken0123456789abcdefXYZ';
const SOURCE_PASSWORD = 'source-registry-pa55word';

beforeAll(async () => {
  [registry, keys, hostile] = await Promise.all([
    startRegistry(),
    makeKeys('creds-pass'),
    startInterceptor(),
  ]);
  client = clientFor(registry);
  digest = await pushSignedImage(registry, client, 'creds/app', 1, keys.privateKey);
});
afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), hostile?.close()]);
});
let seenBefore = 0;
/** What the hostile host was asked during this test. */
const seenNow = () => hostile.seen().slice(seenBefore);

beforeEach(() => {
  seenBefore = hostile.seen().length;
  // Every request gets a Basic challenge: a client that holds credentials for this host sends them now.
  hostile.intercept({
    path: /^\//,
    times: 1000,
    respond: {
      status: 401,
      headers: {
        'www-authenticate': 'Basic realm="hostile"',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }),
    },
  });
});

/** Every secret the hostile host was sent, decoded from Basic and Bearer Authorization headers. */
function harvested(): string {
  return seenNow()
    .map((r) => r.headers.authorization ?? '')
    .map((value) => {
      const [scheme, credentials = ''] = value.split(' ');
      return scheme?.toLowerCase() === 'basic' ? Buffer.from(credentials, 'base64').toString('utf8') : value;
    })
    .join('\n');
}

const errorOf = (result: Awaited<ReturnType<typeof runAction>>) =>
  result.annotations.find((a) => a.level === 'error')?.message ?? '';

function promote(extra: Record<string, string>) {
  return runAction('promote', {
    inputs: {
      image: `${registry.host}/creds/app`,
      digest,
      'target-env': 'dev',
      'public-key': keys.publicPem,
      'cosign-private-key': keys.encryptedPem,
      'cosign-password': keys.password,
      'record-deployment': 'false',
      'github-token': WORKFLOW_TOKEN,
      ...extra,
    },
  });
}

describe('promote: credentials stay with their registry', () => {
  test('a target-image on another registry never gets the source registry credentials', async () => {
    const result = await promote({
      'registry-username': 'ci',
      'registry-password': SOURCE_PASSWORD,
      'target-image': `${hostile.host}/stolen/app`,
    });
    expect(result.exitCode).toBe(1);
    expect(seenNow().length).toBeGreaterThan(0);
    expect(harvested()).not.toContain(SOURCE_PASSWORD);
    expect(result.log).toMatch(/not sent there; set "target-registry-username"/);
  });

  test('refuses the workflow GitHub token as the password of a registry that is not ghcr.io, before any request', async () => {
    const before = await snapshotTags(client, ['creds/app']);
    const result = await promote({
      image: `${hostile.host}/creds/app`,
      'registry-username': 'octocat',
      'registry-password': WORKFLOW_TOKEN,
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(/GitHub token.*only to ghcr\.io/);
    expect(errorOf(result)).toMatch(/"registry-password"/);
    expect(seenNow()).toEqual([]);
    expect(result.masks).toContain(WORKFLOW_TOKEN);
    expect(await snapshotTags(client, ['creds/app'])).toEqual(before);
  });

  test('refuses the GitHub token as the target registry password for a target that is not ghcr.io', async () => {
    const result = await promote({
      'target-image': `${hostile.host}/stolen/app`,
      'target-registry-username': 'octocat',
      'target-registry-password': WORKFLOW_TOKEN,
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(/"target-registry-password".*GitHub token.*only to ghcr\.io/);
    expect(seenNow()).toEqual([]);
  });
});

describe('canary-deploy: the GitHub token goes only to ghcr.io', () => {
  test('refuses a workflow token (ghs_…) as registry-password for a registry that is not ghcr.io, before any request', async () => {
    const result = await runAction('canary-deploy', {
      inputs: {
        image: `${hostile.host}/creds/app`,
        digest,
        'health-url': `${hostile.url}/healthz`,
        'registry-username': 'octocat',
        'registry-password': WORKFLOW_TOKEN,
      },
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(/GitHub token.*only to ghcr\.io/);
    expect(seenNow()).toEqual([]);
    expect(harvested()).not.toContain(WORKFLOW_TOKEN);
  });
});
