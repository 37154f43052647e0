import { type LocalRegistry, runAction, startRegistry } from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { signImage } from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  clientFor,
  makeKeys,
  pushSignedImage,
  snapshotTags,
  type TestKeys,
} from '../../packages/promotion/test/helpers.js';

/**
 * Issue 13, item 8: a cosign signature names the repository it was made for (`docker-reference`). One
 * made for org/other@sha256:X, copied beside org/app@sha256:X, must not let org/app promote X, unless
 * the user names org/other as a repository whose signatures count.
 */
let registry: LocalRegistry;
let client: RegistryClient;
let keys: TestKeys;
let digest: string;

beforeAll(async () => {
  [registry, keys] = await Promise.all([startRegistry(), makeKeys('reference-pass')]);
  client = clientFor(registry);
  // The digest is in sig/app, but its only signature says it was made for sig/other.
  digest = await pushSignedImage(registry, client, 'sig/app', 1, undefined);
  await signImage(client, 'sig/app', digest, keys.privateKey, { reference: `${registry.host}/sig/other` });
});
afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

function promote(extra: Record<string, string> = {}) {
  return runAction('promote', {
    inputs: {
      image: `${registry.host}/sig/app`,
      digest,
      'target-env': 'dev',
      'public-key': keys.publicPem,
      'cosign-private-key': keys.encryptedPem,
      'cosign-password': keys.password,
      'record-deployment': 'false',
      ...extra,
    },
  });
}

describe('promote: the signature must be for the repository promoted', () => {
  test('refuses a digest whose only signature was made for another repository, and changes nothing', async () => {
    const before = await snapshotTags(client, ['sig/app']);
    const result = await promote();
    expect(result.exitCode).toBe(1);
    const error = result.annotations.find((a) => a.level === 'error')?.message ?? '';
    expect(error).toContain(
      `the signature is for repository ${registry.host}/sig/other, not ${registry.host}/sig/app`,
    );
    expect(error).toMatch(/"signature-references"/);
    expect(await snapshotTags(client, ['sig/app'])).toEqual(before);
  });

  test('promotes it when the user names that repository in signature-references', async () => {
    const result = await promote({ 'signature-references': `${registry.host}/sig/other` });
    expect(result.exitCode).toBe(0);
    expect((await client.headManifest('sig/app', 'dev'))?.digest).toBe(digest);
  });

  test('a signature for the promoted repository itself still verifies', async () => {
    const own = await pushSignedImage(registry, client, 'sig/own', 2, keys.privateKey);
    const result = await promote({ image: `${registry.host}/sig/own`, digest: own });
    expect(result.exitCode).toBe(0);
  });
});
