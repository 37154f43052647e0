import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findPromotionRecords } from '@digestline/promotion';
import { verifyImage } from '@digestline/signing';
import type { RunResult } from '@digestline/workflow';
import { describe, expect, test } from '@jest/globals';
import { REPOSITORY } from '../packages/cli/src/demo/delivery.js';
import { expectGitHubCalls, expectSuccess, useDeliveryRig } from './delivery-rig.js';

/**
 * The delivery starter as a team copies it, on `push`, with keys: one pair signs images (the build job's
 * secret), another signs promotion records (a secret of each environment). ci → build (one leg per
 * platform, merged into a signed index) → scan → staging (migration dry-run of the pending migrations
 * only) → canary (nginx weights, the advertised 5 %) → production after approval; then a bad release
 * that the canary rolls back; then a production approval that is rejected.
 */
const fixtures = useDeliveryRig('keys');

const keys = () => {
  const { keys } = fixtures.rig();
  if (keys === undefined) throw new Error('the rig signs with keys');
  return keys;
};
const jobResults = (run: RunResult) => Object.fromEntries(run.jobs.map((job) => [job.key, job.result]));

describe('the delivery starter on push, with an image key and a separate record key', () => {
  let good = '';

  test('release 1 goes ci → build → scan → staging → canary at 5 % → production after approval', async () => {
    const [rig, github] = [fixtures.rig(), fixtures.github()];
    expectGitHubCalls(github, 4, 2);
    const run = await rig.run();
    expectSuccess(run);
    good = run.job('build/merge').outputs.digest as string;
    expect(good).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const env of ['dev', 'staging', 'canary', 'production']) expect(await rig.tagOf(env)).toBe(good);
    expect(rig.approvals.map((a) => a.environment)).toEqual([
      'dev',
      'staging',
      'canary',
      'canary',
      'production',
    ]);
    expect(rig.stable.release()?.version).toBe('1.0.0');

    // The image carries the image key's signature; every record is signed by the record key only.
    expect((await verifyImage(rig.client, REPOSITORY, good, keys().image.publicKey)).verified).not.toEqual(
      [],
    );
    for (const env of ['dev', 'staging', 'canary', 'production']) {
      const records = await findPromotionRecords(rig.client, REPOSITORY, good, env, [
        keys().record.publicKey,
      ]);
      expect(records.records).toHaveLength(1);
      const byImageKey = await findPromotionRecords(rig.client, REPOSITORY, good, env, [
        keys().image.publicKey,
      ]);
      expect(byImageKey.records).toHaveLength(0);
    }
    // The canary sent the advertised share: nginx weights 5 and 95 while it ran, all on stable after.
    const canaryLog = run.job('canary/canary').steps.find((s) => s.id === 'canary')?.log ?? '';
    expect(canaryLog).toMatch(/\b5 ?%/);
    expect(await readFile(rig.nginx.upstreamFile, 'utf8')).not.toMatch(/weight=5\b/);
    // The SBOM the merge job made was still there for the upload after the action ended.
    expect(run.job('build/merge').steps.find((s) => s.name === 'Keep the SBOM')?.conclusion).toBe('success');
    // The staging dry-run had nothing pending; the table it would have replayed holds its row still.
    expect(rig.psql('staging', 'SELECT count(*) FROM orders')).toBe('1');
    github.assertDone();
  }, 600_000);

  test('release 2 (bad) adds a migration, dry-runs only it on staging, and its canary rolls back', async () => {
    const [rig, github] = [fixtures.rig(), fixtures.github()];
    await fixtures
      .rig()
      .commit('an orders status', (repository) =>
        writeFile(
          join(repository, 'migrations/V3__add_orders_status.sql'),
          "ALTER TABLE orders ADD COLUMN status text DEFAULT 'new';\n",
        ),
      );
    await rig.release(2);
    rig.approvals.length = 0;
    expectGitHubCalls(github, 3, 2);
    const run = await rig.run();
    expect(run.conclusion).toBe('failure');
    const bad = run.job('build/merge').outputs.digest as string;
    expect(bad).not.toBe(good);
    expect(jobResults(run)).toMatchObject({
      'staging/promote': 'success',
      'canary-stage/promote': 'success',
      'canary/canary': 'failure',
      'canary/promote-production': 'skipped',
    });
    expect(run.job('canary/canary').outputs.result).toBe('rolled-back');
    // The dry-run replayed V3 alone (V1 would fail: orders exists) and rolled it back.
    const dryRun = run.job('staging/promote').steps.find((s) => s.name.startsWith('Migration dry-run'));
    expect(dryRun?.conclusion).toBe('success');
    expect(
      fixtures
        .rig()
        .psql(
          'staging',
          "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'status'",
        ),
    ).toBe('0');
    expect(await rig.tagOf('production')).toBe(good);
    expect(await rig.tagOf('staging')).toBe(bad);
    // What the canary runs again: the rollback returned the canary tag too.
    expect(await rig.tagOf('canary')).toBe(good);
    expect(rig.approvals.map((a) => a.environment)).not.toContain('production');
    expect(await readFile(rig.nginx.upstreamFile, 'utf8')).not.toMatch(/weight=5\b/);
    expect(rig.stable.release()?.version).toBe('1.0.0');
    github.assertDone();
  }, 600_000);

  test('a rejected production approval moves nothing', async () => {
    const [rig, github] = [fixtures.rig(), fixtures.github()];
    // Release 3 fixes release 2; the reviewers of production say no.
    await rig.release(3);
    rig.decisions.production = false;
    rig.approvals.length = 0;
    expectGitHubCalls(github, 3, 2);
    const run = await rig.run();
    expect(run.conclusion).toBe('failure');
    const third = run.job('build/merge').outputs.digest as string;
    expect(run.job('canary/promote-production/promote').result).toBe('failure');
    expect(run.job('canary/promote-production/promote').error).toMatch(/reject/i);
    expect(run.job('canary/promote-production/promote').steps).toEqual([]);
    expect(run.approvals.find((a) => a.environment === 'production')).toMatchObject({
      approved: false,
      reviewer: 'release-manager',
    });
    expect(third).not.toBe(good);
    expect(await rig.tagOf('canary')).toBe(third);
    expect(await rig.tagOf('production')).toBe(good);
    const records = await findPromotionRecords(rig.client, REPOSITORY, third, 'production', [
      keys().record.publicKey,
    ]);
    expect(records.records).toHaveLength(0);
    github.assertDone();
  }, 600_000);
});
