import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { snapshotTags } from '../../packages/promotion/test/helpers.js';
import { errorOf, type PromoteStage, startPromoteStage } from './promote-stage.js';

/**
 * Issue 13, item 8: a cosign signature names the repository it was made for (`docker-reference`). One
 * made for org/other@sha256:X, copied beside org/app@sha256:X, must not let org/app promote X, unless
 * the user names org/other as a repository whose signatures count.
 */
let stage: PromoteStage;
let digest: string;
let other: string;

beforeAll(async () => {
  stage = await startPromoteStage('open');
  other = `${stage.proxy.host}/sig/other`;
  // The digest is in sig/app, but its only signature says it was made for sig/other.
  digest = await stage.signedImage('sig/app', 1, other);
});
afterAll(() => stage?.stop());

describe('promote: the signature must be for the repository promoted', () => {
  test('refuses a digest whose only signature was made for another repository, and changes nothing', async () => {
    const before = await snapshotTags(stage.client, ['sig/app']);
    const result = await stage.promote('sig/app', digest);
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toContain(
      `the signature is for repository ${other}, not ${stage.proxy.host}/sig/app`,
    );
    expect(errorOf(result)).toMatch(/"signature-references"/);
    expect(await snapshotTags(stage.client, ['sig/app'])).toEqual(before);
  });

  test('promotes it when the user names that repository in signature-references', async () => {
    const result = await stage.promote('sig/app', digest, { 'signature-references': other });
    expect(result.exitCode).toBe(0);
    expect((await stage.client.headManifest('sig/app', 'dev'))?.digest).toBe(digest);
  });

  test('a signature for the promoted repository itself still verifies', async () => {
    const own = await stage.signedImage('sig/own', 2);
    expect((await stage.promote('sig/own', own)).exitCode).toBe(0);
  });
});
