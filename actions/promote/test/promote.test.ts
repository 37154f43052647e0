import { freePort, type LocalRegistry, runAction, startRegistry } from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { findPromotionRecords } from '@digestline/promotion';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  clientFor,
  makeKeys,
  pushSignedImage,
  snapshotTags,
  type TestKeys,
} from '../../../packages/promotion/test/helpers.js';
import { type FaultProxy, startFaultProxy } from '../../../test/harness/fault-proxy.js';
import { type GitHubFixture, startGitHub } from '../../../test/harness/github.js';
import {
  expectDeployment as expectFixtureDeployment,
  statusesSent as fixtureStatuses,
  lastDeploymentId,
  SHA,
} from './deployments-fixture.js';

const TOKEN = 'ghs_promoteTestToken0123456789';
const repository = 'team/app';
let registry: LocalRegistry;
let client: RegistryClient;
let github: GitHubFixture;
let keys: TestKeys;
let otherKeys: TestKeys;

beforeAll(async () => {
  [registry, github, keys, otherKeys] = await Promise.all([
    startRegistry(),
    startGitHub(),
    makeKeys('s3cret-cosign-pass'),
    makeKeys('other-pass'),
  ]);
  client = clientFor(registry);
});
afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), github?.stop()]);
});
afterEach(() => github.assertDone());

const expectDeployment = () => expectFixtureDeployment(github);
const statusesSent = () => fixtureStatuses(github);

function inputs(extra: Record<string, string> = {}, image = `${registry.host}/${repository}`) {
  return {
    image,
    'public-key': keys.publicPem,
    'cosign-private-key': keys.encryptedPem,
    'cosign-password': keys.password,
    'github-token': TOKEN,
    ...extra,
  };
}

const env = () => ({ GITHUB_API_URL: github.url });

describe('promote action', () => {
  let digest: string;

  beforeAll(async () => {
    digest = await pushSignedImage(registry, client, repository, 21, keys.privateKey);
  });

  test('promotes a fresh build into dev, then dev → staging, with outputs, summary, a deployment and masked secrets', async () => {
    expectDeployment();
    const intoDev = await runAction('promote', {
      inputs: inputs({ digest, 'target-env': 'dev' }),
      env: env(),
    });
    expect(intoDev.stderr).toBe('');
    expect(intoDev.exitCode).toBe(0);
    expectDeployment();
    const result = await runAction('promote', {
      inputs: inputs({
        digest,
        'source-env': 'dev',
        'target-env': 'staging',
        'registry-username': 'ci',
        'registry-password': 'reg-pa55word-xyz',
      }),
      env: env(),
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({
      'image-ref': `${registry.host}/${repository}@${digest}`,
      'previous-digest': '',
      'promoted-tag': 'staging',
      'deployment-id': String(lastDeploymentId()),
    });
    expect((await client.headManifest(repository, 'staging'))?.digest).toBe(digest);
    expect(result.summary).toContain('### Promoted dev → staging');
    expect(result.summary).toContain(`| digest | \`${digest}\` |`);
    expect(result.summary).toContain('| stage proof | ✅ signed record for dev |');

    const created = github.requests.filter((r) => r.operationId === 'repos/create-deployment').at(-1);
    expect(created?.body).toMatchObject({
      ref: SHA,
      environment: 'staging',
      payload: { digest, previous: null },
      auto_merge: false,
      required_contexts: [],
      production_environment: false,
    });
    expect(created?.headers.authorization).toBe(`token ${TOKEN}`);
    expect(statusesSent()).toEqual(['success', 'success']);

    for (const secret of [TOKEN, keys.password, 'reg-pa55word-xyz']) {
      expect(result.masks).toContain(secret);
      expect(result.log).not.toContain(secret);
    }
    expect(result.log).not.toContain(keys.encryptedPem.split('\n')[1]);

    const records = await findPromotionRecords(client, repository, digest, 'staging', [keys.publicKey]);
    expect(records.records[0]).toMatchObject({
      from: 'dev',
      run: { repository: 'octo-org/octo-repo', sha: SHA },
    });
  });

  test('running the same promotion again is a no-op success with a notice', async () => {
    const before = await snapshotTags(client, [repository]);
    const again = await runAction('promote', {
      inputs: inputs({ digest, 'source-env': 'dev', 'target-env': 'staging' }),
      env: env(),
    });
    expect(again.exitCode).toBe(0);
    // The single-key setup's warning aside, the one annotation is the notice.
    expect(again.annotations.filter((a) => a.level !== 'warning')).toEqual([
      expect.objectContaining({
        level: 'notice',
        message: expect.stringMatching(/done before, nothing changed/),
      }),
    ]);
    expect(again.outputs['deployment-id']).toBe('');
    expect(again.summary).toContain('already done, nothing changed');
    expect(await snapshotTags(client, [repository])).toEqual(before);
  });

  test('rollback re-tags an environment to a digest it ran before', async () => {
    const newer = await pushSignedImage(registry, client, repository, 22, keys.privateKey);
    const plain = { 'record-deployment': 'false' };
    expect(
      (await runAction('promote', { inputs: inputs({ ...plain, digest: newer, 'target-env': 'dev' }) }))
        .exitCode,
    ).toBe(0);
    expect(
      (
        await runAction('promote', {
          inputs: inputs({ ...plain, digest: newer, 'source-env': 'dev', 'target-env': 'staging' }),
        })
      ).exitCode,
    ).toBe(0);
    expectDeployment();
    const back = await runAction('promote', {
      inputs: inputs({ digest, 'target-env': 'staging', mode: 'rollback' }),
      env: env(),
    });
    expect(back.exitCode).toBe(0);
    expect(back.outputs['previous-digest']).toBe(newer);
    expect(back.summary).toContain('### Rolled back staging');
    expect((await client.headManifest(repository, 'staging'))?.digest).toBe(digest);
  });

  test.each([
    [
      'verify: keyless without an identity',
      {
        verify: 'keyless',
        'public-key': '',
        'certificate-oidc-issuer': 'https://token.actions.githubusercontent.com',
      },
      /needs "certificate-identity" \(or "certificate-identity-regexp"\): without them any Sigstore identity would be trusted/,
    ],
    [
      'verify: keyless without an issuer',
      {
        'public-key': '',
        'certificate-identity': 'https://github.com/org/app/.github/workflows/build.yml@refs/heads/main',
      },
      /needs "certificate-oidc-issuer"/,
    ],
    [
      'a record key that is the image key',
      { 'record-private-key': 'x', 'record-public-key': 'PUBLIC' },
      /"record-public-key" is the image key/,
    ],
    [
      'a record key without its public half',
      { 'record-private-key': 'x' },
      /"record-private-key" and "record-public-key" go together/,
    ],
    [
      'keyless records without an OIDC token',
      {
        'record-certificate-identity':
          'https://github.com/org/app/.github/workflows/promote.yml@refs/heads/main',
        'record-certificate-oidc-issuer': 'https://token.actions.githubusercontent.com',
      },
      /permissions: id-token: write/,
    ],
  ])('refuses %s as a configuration error, before the registry is touched', async (_name, extra, message) => {
    const given: Record<string, string> = { ...extra };
    if (given['record-public-key'] === 'PUBLIC') given['record-public-key'] = keys.publicPem;
    const before = await snapshotTags(client, [repository]);
    const result = await runAction('promote', { inputs: inputs({ ...given, digest, 'target-env': 'dev' }) });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toMatch(message);
    expect(await snapshotTags(client, [repository])).toEqual(before);
  });

  test('without a record key or identity, records fall back to the image key, with a warning', async () => {
    const result = await runAction('promote', {
      inputs: inputs({ digest, 'target-env': 'dev', 'record-deployment': 'false' }),
    });
    expect(result.exitCode).toBe(0);
    expect(result.annotations.map((a) => a.message).join('\n')).toMatch(
      /records are signed with the image key.*set "record-private-key" and "record-public-key"/,
    );
  });
});

describe('a record key of its own', () => {
  test('records are signed with record-private-key and masked; one signed with the image key is no stage proof', async () => {
    const repo = 'split/app';
    const image = `${registry.host}/${repo}`;
    const digest = await pushSignedImage(registry, client, repo, 41, keys.privateKey);
    const recordKeys = {
      'record-private-key': otherKeys.encryptedPem,
      'record-password': otherKeys.password,
      'record-public-key': otherKeys.publicPem,
      'record-deployment': 'false',
    };
    // The old single-key setup writes a dev record with the image key.
    const single = await runAction('promote', {
      inputs: inputs({ digest, 'target-env': 'dev', 'record-deployment': 'false' }, image),
    });
    expect(single.exitCode).toBe(0);
    // With a record key, that record does not prove dev.
    const before = await snapshotTags(client, [repo]);
    const refused = await runAction('promote', {
      inputs: inputs({ ...recordKeys, digest, 'source-env': 'dev', 'target-env': 'staging' }, image),
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.annotations.find((a) => a.level === 'error')?.message).toMatch(
      /no signed promotion record for dev/,
    );
    expect(await snapshotTags(client, [repo])).toEqual(before);

    // Promoted into dev with the record key, the next step passes.
    const intoDev = await runAction('promote', {
      inputs: inputs({ ...recordKeys, digest, 'target-env': 'dev' }, image),
    });
    expect(intoDev.exitCode).toBe(0);
    expect(intoDev.masks).toContain(otherKeys.password);
    expect(intoDev.log).not.toContain(otherKeys.encryptedPem.split('\n')[1]);
    const staging = await runAction('promote', {
      inputs: inputs({ ...recordKeys, digest, 'source-env': 'dev', 'target-env': 'staging' }, image),
    });
    expect(staging.exitCode).toBe(0);
    expect(
      (await findPromotionRecords(client, repo, digest, 'staging', [otherKeys.publicKey])).records,
    ).toHaveLength(1);
    expect((await findPromotionRecords(client, repo, digest, 'staging', [keys.publicKey])).records).toEqual(
      [],
    );
  });
});

describe('bad input: exit 1, an error saying what to fix, every tag as it was', () => {
  let tested: string;
  let devOnly: string;
  let handTagged: string;
  let unsigned: string;
  let proxy: FaultProxy;

  beforeAll(async () => {
    tested = await pushSignedImage(registry, client, 'bad/app', 31, keys.privateKey);
    devOnly = await pushSignedImage(registry, client, 'bad/app', 32, keys.privateKey);
    handTagged = await pushSignedImage(registry, client, 'bad/hand', 33, keys.privateKey);
    unsigned = await pushSignedImage(registry, client, 'bad/app', 34, undefined);
    const plain = { 'record-deployment': 'false' };
    for (const [digest, source, target] of [
      [tested, '', 'dev'],
      [tested, 'dev', 'staging'],
      [tested, 'staging', 'canary'],
      [tested, 'canary', 'production'],
      [devOnly, '', 'dev'],
    ] as const) {
      const run = await runAction('promote', {
        inputs: inputs(
          { ...plain, digest, 'source-env': source, 'target-env': target },
          `${registry.host}/bad/app`,
        ),
      });
      expect(run.exitCode).toBe(0);
    }
    // dev of bad/hand set by hand, as someone with push access could.
    const { bytes, mediaType } = await client.getManifest('bad/hand', handTagged);
    await client.putManifest('bad/hand', 'dev', bytes, mediaType);
    proxy = await startFaultProxy({ url: registry.url });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const app = () => `${registry.host}/bad/app`;
  const cases: [string, () => Record<string, string>, RegExp][] = [
    [
      'a tag instead of a digest',
      () => ({ digest: 'v1.4.2', 'target-env': 'dev' }),
      /Input "digest": "v1.4.2" is a tag, not a digest/,
    ],
    [
      'a short digest',
      () => ({ digest: 'sha256:0123abcd', 'target-env': 'dev' }),
      /has 8 hex characters; a sha256 digest has exactly 64/,
    ],
    [
      'an upper-case digest',
      () => ({ digest: tested.toUpperCase().replace('SHA256', 'sha256'), 'target-env': 'dev' }),
      /has upper-case hex/,
    ],
    [
      'an unknown environment',
      () => ({ digest: tested, 'source-env': 'dev', 'target-env': 'qa' }),
      /target-env "qa" is not an environment of the ladder/,
    ],
    [
      'staging → production',
      () => ({ digest: tested, 'source-env': 'staging', 'target-env': 'production' }),
      /allowed next step is staging → canary/,
    ],
    [
      'production → staging',
      () => ({ digest: tested, 'source-env': 'production', 'target-env': 'staging' }),
      /production is the last environment.*mode: rollback/,
    ],
    [
      'a digest not at the source tag',
      () => ({ digest: devOnly, 'source-env': 'staging', 'target-env': 'canary' }),
      /bad\/app:staging points to sha256:\w+, not to sha256:/,
    ],
    [
      'an unsigned image',
      () => ({ digest: unsigned, 'target-env': 'dev' }),
      /is not signed \(no cosign signature at sha256-/,
    ],
    [
      'a wrong public key',
      () => ({
        digest: tested,
        'target-env': 'dev',
        'public-key': otherKeys.publicPem,
        'cosign-private-key': otherKeys.encryptedPem,
        'cosign-password': otherKeys.password,
      }),
      /has no signature by a trusted key for .*bad\/app: signed by key \w+, which is not one of the 1 trusted key/,
    ],
    [
      'a missing stage proof',
      () => ({
        digest: handTagged,
        'source-env': 'dev',
        'target-env': 'staging',
        image: `${registry.host}/bad/hand`,
      }),
      /no signed promotion record for dev: .*a tag moved by hand does not count/,
    ],
    [
      'a rollback to a digest never in production',
      () => ({ digest: devOnly, 'target-env': 'production', mode: 'rollback' }),
      /has no signed promotion record for production, so it never ran there/,
    ],
    [
      'a key pair that does not match',
      () => ({
        digest: tested,
        'target-env': 'dev',
        'cosign-private-key': otherKeys.encryptedPem,
        'cosign-password': otherKeys.password,
      }),
      /is not a trusted public key/,
    ],
    [
      'a wrong cosign password',
      () => ({ digest: tested, 'target-env': 'dev', 'cosign-password': 'nope' }),
      /the password for the cosign private key is wrong/,
    ],
  ];

  test.each(cases)('refuses %s', async (_name, extra, message) => {
    const repos = ['bad/app', 'bad/hand'];
    const before = await snapshotTags(client, repos);
    // The dev tag of bad/app points to devOnly, so promoting `tested` into dev again would be a real change.
    const result = await runAction('promote', {
      inputs: inputs({ 'record-deployment': 'false', image: app(), ...extra() }),
    });
    expect(result.exitCode).toBe(1);
    const errors = result.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(message);
    expect(await snapshotTags(client, repos)).toEqual(before);
  });

  test.each([
    [401, 'UNAUTHORIZED'],
    [500, 'UNKNOWN'],
  ])(
    'fails on a %i from the registry on the manifest PUT, and marks the deployment failed',
    async (status, code) => {
      const before = await snapshotTags(client, ['bad/app', 'bad/hand']);
      proxy.fault({
        method: 'PUT',
        path: /\/v2\/bad\/app\/manifests\/dev$/,
        respond: {
          status,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ errors: [{ code, message: 'refused by test' }] }),
        },
      });
      expectDeployment();
      const result = await runAction('promote', {
        inputs: inputs({
          image: `${proxy.host}/bad/app`,
          digest: tested,
          'target-env': 'dev',
          'signature-references': `${registry.host}/bad/app`,
        }),
        env: env(),
      });
      expect(result.exitCode).toBe(1);
      expect(result.annotations.find((a) => a.level === 'error')?.message).toMatch(
        new RegExp(`pushing manifest .*bad/app:dev.*${status}`),
      );
      expect(statusesSent().at(-1)).toBe('failure');
      expect(await snapshotTags(client, ['bad/app', 'bad/hand'])).toEqual(before);
    },
  );

  test('fails clearly when the registry is unreachable', async () => {
    const before = await snapshotTags(client, ['bad/app', 'bad/hand']);
    const result = await runAction('promote', {
      inputs: inputs({
        image: `127.0.0.1:${await freePort()}/bad/app`,
        digest: tested,
        'target-env': 'dev',
        'record-deployment': 'false',
      }),
    });
    expect(result.exitCode).toBe(1);
    expect(result.annotations.find((a) => a.level === 'error')?.message).toMatch(/ECONNREFUSED/);
    expect(await snapshotTags(client, ['bad/app', 'bad/hand'])).toEqual(before);
  });
});
