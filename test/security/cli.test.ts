import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type LocalPostgres,
  type LocalRegistry,
  makeTempDir,
  repoRoot,
  startPostgres,
  startRegistry,
} from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli } from '../../packages/cli/test/run-cli.js';
import {
  clientFor,
  makeKeys,
  pushSignedImage,
  type TestKeys,
} from '../../packages/promotion/test/helpers.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';

/**
 * Issue 13, item 15: the `digestline` command, run as a user runs it, against a real PostgreSQL and a
 * real registry behind the fault proxy. (promote's copy after every check is proved by
 * packages/cli/test/registry.test.ts, "into another registry: nothing reaches it before every check
 * passed, and the signature is verified once", since 9f504bf.)
 */
let postgres: LocalPostgres;
let registry: LocalRegistry;
let client: RegistryClient;
let proxy: FaultProxy;
let keys: TestKeys;

beforeAll(async () => {
  [postgres, registry, keys] = await Promise.all([startPostgres(), startRegistry(), makeKeys('')]);
  client = clientFor(registry);
  proxy = await startFaultProxy({ url: registry.url });
}, 60_000);
afterAll(async () => {
  await client?.close();
  await Promise.all([postgres?.stop(), registry?.stop(), proxy?.close()]);
});

describe('preflight: the database URL', () => {
  const demo = join(repoRoot, 'demo', 'app');

  test('comes from DIGESTLINE_DATABASE_URL, so its password is not on the command line', async () => {
    const result = await runCli(['preflight', '--dir', demo, '--migrations', 'migrations'], {
      env: { DIGESTLINE_DATABASE_URL: postgres.url },
    });
    expect(result.stdout).toContain('dry-run passed (rolled back)');
    expect(result.exitCode).toBe(0);
  });

  test('given on the command line with a password, it still works and warns that ps shows it', async () => {
    const result = await runCli([
      'preflight',
      '--dir',
      demo,
      '--migrations',
      'migrations',
      '--database-url',
      postgres.url,
    ]);
    expect(result.stdout).toContain('dry-run passed (rolled back)');
    expect(result.stderr).toMatch(/--database-url.*visible to other users.*DIGESTLINE_DATABASE_URL/);
    expect(result.stderr).not.toContain(new URL(postgres.url).password);
  });

  test('the help names the environment variable', async () => {
    const result = await runCli(['preflight', '--help']);
    expect(result.stdout).toContain('DIGESTLINE_DATABASE_URL');
  });
});

describe('verify-image: a tag is resolved by the bytes, not by a header', () => {
  test('a registry that announces a signed digest for an unsigned tag does not get a verified image', async () => {
    const signed = await pushSignedImage(registry, client, 'cli/app', 1, keys.privateKey);
    await pushSignedImage(registry, client, 'cli/app', 2, undefined);
    // build-2 is unsigned; the registry claims it is the signed one.
    proxy.fault({
      path: /^\/v2\/cli\/app\/manifests\/build-2$/,
      times: 10,
      rewriteHeaders: (headers) => ({ ...headers, 'docker-content-digest': signed }),
    });
    const dir = await makeTempDir('cli-verify');
    const keyFile = join(dir.path, 'cosign.pub');
    await writeFile(keyFile, keys.publicPem);
    try {
      const result = await runCli(['verify-image', `${proxy.host}/cli/app:build-2`, '--key', keyFile]);
      expect(result.stdout).not.toContain('✔ signature');
      expect(result.stdout).not.toContain(signed);
      expect(result.exitCode).not.toBe(0);
    } finally {
      await dir.remove();
    }
  });
});
