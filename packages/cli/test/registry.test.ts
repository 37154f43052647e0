import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalRegistry, makeTempDir, startRegistry } from '@digestline/local';
import type { ImageManifest, RegistryClient } from '@digestline/oci';
import { signatureTag, signImage } from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  clientFor,
  makeKeys,
  pushSignedImage,
  snapshotTags,
  type TestKeys,
} from '../../../packages/promotion/test/helpers.js';
import { startFaultProxy } from '../../../test/harness/fault-proxy.js';
import { pushRandomImage } from '../../../test/harness/images.js';
import { runCli } from './run-cli.js';

let registry: LocalRegistry;
let other: LocalRegistry;
let client: RegistryClient;
let otherClient: RegistryClient;
let keys: TestKeys;
let dir: { path: string; remove(): Promise<void> };
let first: string;
let second: string;
let unsigned: string;
let large: string;
const paths = { key: '', pub: '', otherPub: '' };

beforeAll(async () => {
  let otherKeys: TestKeys;
  [registry, other, keys, otherKeys, dir] = await Promise.all([
    startRegistry(),
    startRegistry(),
    makeKeys('cli-pass'),
    makeKeys('other-pass'),
    makeTempDir('cli-registry'),
  ]);
  client = clientFor(registry);
  otherClient = clientFor(other);
  paths.key = join(dir.path, 'cosign.key');
  paths.pub = join(dir.path, 'cosign.pub');
  paths.otherPub = join(dir.path, 'other.pub');
  await Promise.all([
    writeFile(paths.key, keys.encryptedPem),
    writeFile(paths.pub, keys.publicPem),
    writeFile(paths.otherPub, otherKeys.publicPem),
  ]);
  first = await pushSignedImage(registry, client, 'team/app', 1, keys.privateKey);
  second = await pushSignedImage(registry, client, 'team/app', 2, keys.privateKey);
  unsigned = await pushSignedImage(registry, client, 'team/app', 3, undefined);
  large = (
    await pushRandomImage(registry, {
      repository: 'team/big',
      tag: 'build',
      layers: 2,
      totalBytes: 3 << 20,
      seed: 4,
    })
  ).digest;
  await signImage(client, 'team/big', large, keys.privateKey);
}, 60_000);

afterAll(async () => {
  await Promise.all([client?.close(), otherClient?.close()]);
  await Promise.all([registry?.stop(), other?.stop(), dir?.remove()]);
});

const env = { COSIGN_PASSWORD: 'cli-pass' };
const image = () => `${registry.host}/team/app`;
const keyArgs = () => ['--key', paths.key, '--pub', paths.pub];
const tagOf = async (c: RegistryClient, repository: string, tag: string) =>
  (await c.headManifest(repository, tag))?.digest;

describe('verify-image', () => {
  test('a signed image by tag: the signature verifies against the digest the tag resolves to', async () => {
    const result = await runCli(['verify-image', `${image()}:build-1`, '--key', paths.pub]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`image        ${image()}@${first}`);
    expect(result.stdout).toMatch(/✔ signature {2}verified with key [0-9a-f]{16}…/);
  });

  test.each([
    ['an unsigned image', () => unsigned, () => paths.pub, /✘ signature {2}no signature at sha256-/],
    ['another key', () => first, () => paths.otherPub, /✘ signature {2}signed by key/],
  ])('exits 1 for %s', async (_name, digest, pub, message) => {
    const result = await runCli(['verify-image', `${image()}@${digest()}`, '--key', pub()]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(message);
  });
});

describe('promote and rollback', () => {
  test('promotes into dev, then dev → staging; verify-image then lists both promotion records', async () => {
    const intoDev = await runCli(['promote', image(), '--digest', first, '--to', 'dev', ...keyArgs()], {
      env,
    });
    expect(intoDev.exitCode).toBe(0);
    const result = await runCli(
      ['promote', image(), '--digest', first, '--from', 'dev', '--to', 'staging', ...keyArgs()],
      { env },
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('✔ stage proof  signed record for dev');
    expect(result.stdout).toContain(`staging → ${image()}@${first} (promoted; previously nothing)`);
    expect(await tagOf(client, 'team/app', 'staging')).toBe(first);

    const verified = await runCli(['verify-image', `${image()}:staging`, '--key', paths.pub]);
    expect(verified.stdout).toMatch(/✔ promotions {2}dev \(.+\), staging \(.+\)/);

    // With a record key named, records signed by the image key do not count as promotions.
    const separate = await runCli([
      'verify-image',
      `${image()}:staging`,
      '--key',
      paths.pub,
      '--record-key',
      paths.otherPub,
    ]);
    expect(separate.exitCode).toBe(0);
    expect(separate.stdout).toContain('promotions  none recorded');
    expect(separate.stdout).toContain('! promotion  dev is signed by the image key, not the record key');
    expect(separate.stdout).toContain('! promotion  staging is signed by the image key, not the record key');
  });

  test('refuses a step that skips the ladder with exit 1, and no tag moves', async () => {
    const before = await snapshotTags(client, ['team/app']);
    const result = await runCli(
      ['promote', image(), '--digest', first, '--from', 'staging', '--to', 'production', ...keyArgs()],
      { env },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/refused, nothing changed: .*allowed next step is staging → canary/);
    expect(await snapshotTags(client, ['team/app'])).toEqual(before);
  });

  test('rollback <env> returns the environment to what its current promotion record says ran before', async () => {
    expect(
      (await runCli(['promote', image(), '--digest', second, '--to', 'dev', ...keyArgs()], { env })).exitCode,
    ).toBe(0);
    expect(await tagOf(client, 'team/app', 'dev')).toBe(second);
    const result = await runCli(['rollback', 'dev', '--image', image(), ...keyArgs()], { env });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`dev runs ${second}; its promotion record says it ran ${first} before`);
    expect(result.stdout).toContain('(rolled back;');
    expect(await tagOf(client, 'team/app', 'dev')).toBe(first);
  });

  test('a wrong COSIGN_PASSWORD is a usage error (exit 2), before anything is written', async () => {
    const before = await snapshotTags(client, ['team/app']);
    const result = await runCli(['promote', image(), '--digest', second, '--to', 'dev', ...keyArgs()], {
      env: { COSIGN_PASSWORD: 'wrong' },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--key .*password.*COSIGN_PASSWORD/);
    expect(await snapshotTags(client, ['team/app'])).toEqual(before);
  });

  test('promoting into another registry streams the blobs with progress, then tags there', async () => {
    const result = await runCli(
      [
        'promote',
        `${registry.host}/team/big`,
        '--digest',
        large,
        '--to',
        'dev',
        '--target-image',
        `${other.host}/mirror/big`,
        ...keyArgs(),
      ],
      { env },
    );
    expect(result.exitCode).toBe(0);
    const label = `copying ${registry.host}/team/big → ${other.host}/mirror/big`;
    expect(result.stderr).toContain(`${label}: 3.0 MiB of 3.0 MiB (100%)`);
    expect(result.stderr).toContain(`${label}: 3 blob(s), 3 streamed, 0 already there`);
    expect(await tagOf(otherClient, 'mirror/big', 'dev')).toBe(large);
  });

  test('into another registry: nothing reaches it before every check passed, and the signature is verified once', async () => {
    const digest = await pushSignedImage(registry, client, 'team/proxied', 5, keys.privateKey);
    const manifest = JSON.parse((await client.getManifest('team/proxied', digest)).bytes.toString());
    const layers = (manifest as ImageManifest).layers;
    const proxy = await startFaultProxy({ url: registry.url });
    try {
      const promoteArgs = (ladder: string[]) => [
        'promote',
        `${proxy.host}/team/proxied`,
        '--digest',
        digest,
        ...ladder,
        '--target-image',
        `${other.host}/mirror/proxied`,
        // Signed under the registry's own address, promoted through the proxy's.
        '--signature-references',
        `${registry.host}/team/proxied`,
        ...keyArgs(),
      ];
      const skipped = await runCli(promoteArgs(['--from', 'dev', '--to', 'canary']), { env });
      expect(skipped.exitCode).toBe(1);
      for (const layer of layers)
        expect(await otherClient.blobExists('mirror/proxied', layer.digest)).toBe(false);

      proxy.clear();
      const result = await runCli(promoteArgs(['--to', 'dev']), { env });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('✔ signature');
      const signatureReads = proxy
        .requests()
        .filter((r) => r.method === 'GET' && r.path.endsWith(`/manifests/${signatureTag(digest)}`));
      // One for the signature check, one for the copy that takes the signatures along.
      expect(signatureReads).toHaveLength(2);
      expect(await tagOf(otherClient, 'mirror/proxied', 'dev')).toBe(digest);
    } finally {
      await proxy.close();
    }
  });
});

describe('promote with a record key of its own', () => {
  test('records signed by --record-key count at the next step; records by the image key do not, and nothing moves', async () => {
    const recordKeys = await makeKeys('record-pass');
    const recordKey = join(dir.path, 'record.key');
    const recordPub = join(dir.path, 'record.pub');
    await Promise.all([
      writeFile(recordKey, recordKeys.encryptedPem),
      writeFile(recordPub, recordKeys.publicPem),
    ]);
    const digest = await pushSignedImage(registry, client, 'team/records', 7, keys.privateKey);
    const repo = `${registry.host}/team/records`;
    const withRecords = ['--pub', paths.pub, '--record-key', recordKey, '--record-pub', recordPub];
    const recordEnv = { RECORD_PASSWORD: 'record-pass' };

    // Into dev by the image key alone: a record the record key's trust does not accept.
    expect(
      (await runCli(['promote', repo, '--digest', digest, '--to', 'dev', ...keyArgs()], { env })).exitCode,
    ).toBe(0);
    const refused = await runCli(
      ['promote', repo, '--digest', digest, '--from', 'dev', '--to', 'staging', ...withRecords],
      { env: recordEnv },
    );
    expect(refused.exitCode).toBe(1);
    expect(await tagOf(client, 'team/records', 'staging')).toBeUndefined();

    // Into dev again with the record key (no image private key needed), then dev → staging counts it.
    expect(
      (await runCli(['promote', repo, '--digest', digest, '--to', 'dev', ...withRecords], { env: recordEnv }))
        .exitCode,
    ).toBe(0);
    const promoted = await runCli(
      ['promote', repo, '--digest', digest, '--from', 'dev', '--to', 'staging', ...withRecords],
      { env: recordEnv },
    );
    expect(promoted.exitCode).toBe(0);
    expect(promoted.stdout).toContain('✔ stage proof  signed record for dev');
    expect(await tagOf(client, 'team/records', 'staging')).toBe(digest);

    const halfGiven = await runCli([
      'promote',
      repo,
      '--digest',
      digest,
      '--to',
      'dev',
      '--pub',
      paths.pub,
      '--record-key',
      recordKey,
    ]);
    expect(halfGiven.exitCode).toBe(2);
    expect(halfGiven.stderr).toContain('--record-key and --record-pub go together');
  });
});
