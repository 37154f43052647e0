import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DemoService } from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { findPromotionRecords, promote } from '@digestline/promotion';
import { keyId, keySigner } from '@digestline/signing';
import type { Progress, RunResult, WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectDeployment } from '../actions/promote/test/deployments-fixture.js';
import { BLUE_GREEN, BlueGreenRig, type FrontDoor } from '../packages/cli/src/demo/blue-green.js';
import { git, type KeyPair, REPOSITORY } from '../packages/cli/src/demo/delivery.js';
import { type GitHubFixture, startGitHub } from './harness/github.js';

/**
 * blue-green.yml (by hand) and the blue-green starter, run by @digestline/workflow on real parts (the
 * demo's BlueGreenRig): the registry holds the slot tags `blue` and `green` and the environment's tag
 * `production`; each tag is served by the demo service, which runs whatever image its tag points to; a
 * real nginx is the front door (`/blue/`, `/green/` for the slots, `/` for production), so the template's
 * slot URL template and environment URL reach the slots the way a team's load balancer would.
 */
const repository = REPOSITORY;

let rig: BlueGreenRig;
let github: GitHubFixture;
let executor: WorkflowExecutor;
let client: RegistryClient;
let front: FrontDoor;
let image: string;
let checkout: string;
let starter: string;
/** The image key pair; the promotion records' own key pair (the image key cannot mint a stage proof). */
let pair: KeyPair;
let recordPair: KeyPair;
let recordPassword: string;
/** A second application, octo-org/shop, whose production the delivery pipeline promoted. */
const SHOP = 'octo-org/shop';
const shop: Record<'blue' | 'production', DemoService | undefined> = {
  blue: undefined,
  production: undefined,
};
const waits: Progress[] = [];

/** A release of the demo app: one file, /srv/release.json, in a FROM scratch image. */
const pushRelease = (version: string, errorRate: number, sign: boolean, into = repository) =>
  rig.pushRelease(version, errorRate, { sign, repository: into });

/** What a tag points to now. */
const tagged = (tag: string) => rig.tagOf(tag);

/** The release the front door answers with at `path`, once the service there has caught up with `digest`. */
const served = (path: string, digest: string) => rig.served(path, digest);

const expectSuccess = (run: RunResult) => {
  if (run.conclusion !== 'success') throw new Error(`run failed:\n${run.log()}`);
};

/** Every deployment recorded with GitHub so far: environment, digest and its last status. */
const deployments = () => {
  const created = github.requests.filter((r) => r.operationId === 'repos/create-deployment');
  const statuses = github.requests.filter((r) => r.operationId === 'repos/create-deployment-status');
  return created.map((request, index) => {
    const body = request.body as { environment: string; payload: { digest: string } };
    return [body.environment, body.payload.digest, (statuses[index]?.body as { state?: string })?.state];
  });
};

const results = (run: RunResult) => run.jobs.map((job) => [job.key, job.result]);

beforeAll(async () => {
  github = await startGitHub();
  rig = await BlueGreenRig.start({
    github: { url: github.url, token: 'fixture-token' },
    progress: (event) => {
      if (event.type === 'waiting-for-concurrency') waits.push(event);
    },
  });
  ({ executor, client, front, image, starter } = rig);
  checkout = rig.repository;
  pair = rig.keys.image;
  recordPair = rig.keys.record;
  recordPassword = rig.keys.record.password;
}, 120_000);

afterAll(async () => {
  await rig?.stop();
  await github?.stop();
});

describe('blue-green.yml and the blue-green starter, key signing', () => {
  let v1 = '';
  let v2 = '';

  test('a manual release into an empty production deploys the blue slot, smoke-tests it, switches production and checks it', async () => {
    v1 = await pushRelease('1.0.0', 0, true);
    expectDeployment(github);
    rig.approvals.length = 0;
    const run = await executor.run(BLUE_GREEN, {
      name: 'workflow_dispatch',
      inputs: {
        image,
        image_digest: v1,
        environment: 'production',
        smoke_test_command: './scripts/smoke-test "$SLOT_URL"',
        slot_url_template: `${front.url}/{slot}`,
        environment_url: front.url,
        migrations_path: 'migrations',
        public_key: 'cosign.pub',
        certificate_identity: '',
        certificate_oidc_issuer: '',
        certificate_identity_regexp: '',
        record_public_key: 'record.pub',
        record_certificate_identity_regexp: '',
      },
    });
    expectSuccess(run);
    expect(results(run)).toEqual([
      ['preflight', 'success'],
      ['deploy-slot', 'success'],
      ['smoke-slot', 'success'],
      ['switch', 'success'],
      ['verify', 'success'],
      ['rollback', 'skipped'],
    ]);
    expect(run.job('preflight').outputs).toMatchObject({
      'active-slot': 'none',
      'inactive-slot': 'blue',
      'previous-digest': '',
      'up-to-date': 'false',
    });
    expect(run.job('deploy-slot').name).toBe('Deploy to blue');
    // production's database already has both migrations: the dry-run before the switch finds none pending.
    expect(
      run.job('switch').steps.find((step) => step.name.startsWith('Migration dry-run'))?.conclusion,
    ).toBe('success');
    expect(rig.approvals.map((a) => [a.environment, a.job])).toEqual([
      ['production-blue', 'deploy-slot'],
      ['production', 'switch'],
    ]);
    expect(await tagged('blue')).toBe(v1);
    expect(await tagged('production')).toBe(v1);
    expect(await tagged('green')).toBeUndefined();
    // The smoke tests reached the slot and then production through nginx, as they were told to.
    expect(run.job('smoke-slot').steps.at(-1)?.log).toContain(`${front.url}/blue serves ${v1}`);
    expect(run.job('verify').steps.at(-1)?.log).toContain(`${front.url} serves ${v1}`);
    expect(await served('/', v1)).toBe('1.0.0');
    // Each step of the two-environment ladder is proven by a record the next step verified, signed by
    // the record key (the image key signs none), whose secrets never reach the log.
    for (const environment of ['blue', 'production']) {
      expect(
        (await findPromotionRecords(client, repository, v1, environment, [recordPair.publicKey])).records,
      ).toHaveLength(1);
      expect(
        (await findPromotionRecords(client, repository, v1, environment, [pair.publicKey])).records,
      ).toEqual([]);
    }
    expect(run.log()).not.toContain(recordPassword);
    // No warning: not the old single-key setup, and no input the action does not know.
    for (const job of ['deploy-slot', 'switch'])
      expect(run.job(job).steps.flatMap((step) => step.annotations)).toEqual([]);
    expect(deployments()).toEqual([['production', v1, 'success']]);
    github.assertDone();
  }, 300_000);

  test('the starter releases the next digest into the idle green slot and switches production to it; a second run has nothing to do', async () => {
    v2 = await pushRelease('1.1.0', 0, true);
    expectDeployment(github);
    const run = await executor.run(starter, { name: 'workflow_dispatch', inputs: { image_digest: v2 } });
    expectSuccess(run);
    expect(results(run)).toEqual([
      ['release', 'success'],
      ['release/preflight', 'success'],
      ['release/deploy-slot', 'success'],
      ['release/smoke-slot', 'success'],
      ['release/switch', 'success'],
      ['release/verify', 'success'],
      ['release/rollback', 'skipped'],
    ]);
    expect(run.job('release').outputs).toEqual({
      active_slot: 'green',
      previous_digest: v1,
      rolled_back: '',
    });
    expect([await tagged('blue'), await tagged('green'), await tagged('production')]).toEqual([v1, v2, v2]);
    expect(await served('/', v2)).toBe('1.1.0');
    expect(await served('/blue/', v1)).toBe('1.0.0');
    github.assertDone();

    const again = await executor.run(starter, { name: 'workflow_dispatch', inputs: { image_digest: v2 } });
    expectSuccess(again);
    expect(results(again)).toEqual([
      ['release', 'success'],
      ['release/preflight', 'success'],
      ['release/deploy-slot', 'skipped'],
      ['release/smoke-slot', 'skipped'],
      ['release/switch', 'skipped'],
      ['release/verify', 'skipped'],
      ['release/rollback', 'skipped'],
    ]);
    expect(again.job('release/preflight').steps.at(-1)?.log).toContain(
      `production already runs ${v2}; nothing to switch`,
    );
    github.assertDone();
  }, 300_000);

  test('a release that fails its smoke test in the idle slot never reaches production', async () => {
    const bad = await pushRelease('2.0.0', 1, true);
    const run = await executor.run(BLUE_GREEN, {
      name: 'workflow_dispatch',
      inputs: {
        image,
        image_digest: bad,
        smoke_test_command: './scripts/smoke-test "$SLOT_URL"',
        slot_url_template: `${front.url}/{slot}`,
        environment_url: front.url,
        public_key: 'cosign.pub',
        record_public_key: 'record.pub',
      },
    });
    expect(run.conclusion).toBe('failure');
    expect(results(run)).toEqual([
      ['preflight', 'success'],
      ['deploy-slot', 'success'],
      ['smoke-slot', 'failure'],
      ['switch', 'skipped'],
      ['verify', 'skipped'],
      ['rollback', 'skipped'],
    ]);
    expect(run.job('smoke-slot').steps.at(-1)?.annotations).toEqual([
      expect.objectContaining({
        level: 'error',
        message: expect.stringContaining(`${front.url}/blue does not serve ${bad} healthy`),
      }),
    ]);
    // Only the idle slot holds the bad release; production and its slot are as they were.
    expect([await tagged('blue'), await tagged('green'), await tagged('production')]).toEqual([bad, v2, v2]);
    expect(await served('/', v2)).toBe('1.1.0');
    github.assertDone();
  }, 300_000);

  test('an unsigned digest is refused before any slot moves', async () => {
    const unsigned = await pushRelease('1.1.1', 0, false);
    const before = await tagged('blue');
    const run = await executor.run(BLUE_GREEN, {
      name: 'workflow_dispatch',
      inputs: {
        image,
        image_digest: unsigned,
        smoke_test_command: './scripts/smoke-test "$SLOT_URL"',
        slot_url_template: `${front.url}/{slot}`,
        public_key: 'cosign.pub',
        record_public_key: 'record.pub',
      },
    });
    expect(run.conclusion).toBe('failure');
    expect(results(run).slice(0, 3)).toEqual([
      ['preflight', 'success'],
      ['deploy-slot', 'failure'],
      ['smoke-slot', 'skipped'],
    ]);
    const error = run
      .job('deploy-slot')
      .steps.find((step) => step.name.startsWith('Verify the signature'))
      ?.annotations.find((a) => a.level === 'error');
    expect(error?.message).toMatch(/is not signed .*sign it at build time/);
    expect([await tagged('blue'), await tagged('green'), await tagged('production')]).toEqual([
      before,
      v2,
      v2,
    ]);
    github.assertDone();
  }, 300_000);

  test('when production fails its checks after the switch, the starter re-tags it to the old slot', async () => {
    const v3 = await pushRelease('1.2.0', 0, true);
    // The switch and then the rollback each record a deployment.
    expectDeployment(github);
    expectDeployment(github);
    // Production goes down right after the switch, as a release that breaks only under production's
    // traffic or configuration would take it down.
    const crashed: Promise<void>[] = [];
    rig.onJobFinished = (job) => {
      if (job === 'release/switch') crashed.push(rig.crash('production'));
    };
    let run: RunResult;
    try {
      run = await executor.run(starter, { name: 'workflow_dispatch', inputs: { image_digest: v3 } });
    } finally {
      rig.onJobFinished = () => {};
      await Promise.all(crashed);
    }
    expect(run.conclusion).toBe('failure');
    expect(results(run)).toEqual([
      ['release', 'failure'],
      ['release/preflight', 'success'],
      ['release/deploy-slot', 'success'],
      ['release/smoke-slot', 'success'],
      ['release/switch', 'success'],
      ['release/verify', 'failure'],
      ['release/rollback', 'success'],
    ]);
    expect(run.job('release/verify').steps.at(-1)?.log).toContain(`${front.url} does not serve ${v3}`);
    expect(run.job('release').outputs).toEqual({
      active_slot: 'blue',
      previous_digest: v2,
      rolled_back: 'true',
    });
    expect(run.job('release/rollback').outputs).toEqual({ 'rolled-back': 'true' });
    // production is back on the old slot's digest; the new release stays in its slot for a look.
    expect([await tagged('blue'), await tagged('green'), await tagged('production')]).toEqual([v3, v2, v2]);
    const rollback = await findPromotionRecords(client, repository, v2, 'production', [recordPair.publicKey]);
    expect(rollback.records.map((record) => record.mode).sort()).toEqual(['promote', 'rollback']);
    // Two deployments of production: the new release, then the old one again.
    expect(deployments().slice(-2)).toEqual([
      ['production', v3, 'success'],
      ['production', v2, 'success'],
    ]);
    // A production instance started again runs what the tag says: the old release.
    await rig.restart('production');
    expect(await served('/', v2)).toBe('1.1.0');
    github.assertDone();
  }, 300_000);

  test("a release whose migration fails on production's data is refused before the switch", async () => {
    const v4 = await pushRelease('1.3.0', 0, true);
    // The release's commit adds a migration that cannot run on production: an order has no note.
    await writeFile(
      join(checkout, 'migrations', 'V3__require_note.sql'),
      'ALTER TABLE orders ALTER COLUMN note SET NOT NULL;\n',
    );
    git(checkout, 'add', '.');
    git(checkout, 'commit', '--quiet', '-m', 'notes are required');
    const before = { production: await tagged('production'), green: await tagged('green') };
    try {
      const run = await executor.run(starter, { name: 'workflow_dispatch', inputs: { image_digest: v4 } });
      expect(run.conclusion).toBe('failure');
      expect(results(run)).toEqual([
        ['release', 'failure'],
        ['release/preflight', 'success'],
        ['release/deploy-slot', 'success'],
        ['release/smoke-slot', 'success'],
        ['release/switch', 'failure'],
        ['release/verify', 'skipped'],
        ['release/rollback', 'skipped'],
      ]);
      const steps = run.job('release/switch').steps;
      const dryRun = steps.find((step) => step.name.startsWith('Migration dry-run'));
      expect(dryRun?.conclusion).toBe('failure');
      expect(dryRun?.annotations.map((a) => `${a.file}: ${a.message}`).join('\n')).toMatch(
        /V3__require_note\.sql: .*null/i,
      );
      expect(steps.find((step) => step.name === 'Point the environment at the new slot')?.conclusion).toBe(
        'skipped',
      );
      // production and its database are as they were; only the idle slot holds the new release.
      expect(await tagged('production')).toBe(before.production);
      expect(await tagged('green')).toBe(before.green);
      expect(await tagged('blue')).toBe(v4);
      expect(rig.psql('SELECT count(*) FROM orders WHERE note IS NULL')).toBe('1');
      expect(rig.psql('SELECT count(*) FROM flyway_schema_history')).toBe('2');
      github.assertDone();
    } finally {
      git(checkout, 'revert', '--no-edit', 'HEAD');
    }
  }, 300_000);

  test('two releases started at once run one after the other: the second sees the first switched and takes the other slot', async () => {
    const [a, b] = [await pushRelease('1.4.0', 0, true), await pushRelease('1.5.0', 0, true)];
    expectDeployment(github);
    expectDeployment(github);
    waits.length = 0;
    const runs = await Promise.all([
      executor.run(starter, { name: 'workflow_dispatch', inputs: { image_digest: a } }),
      executor.run(starter, { name: 'workflow_dispatch', inputs: { image_digest: b } }),
    ]);
    for (const run of runs) expectSuccess(run);
    // One waited for the other's group: one blue-green run per environment at a time.
    expect(waits).toContainEqual(
      expect.objectContaining({ job: 'release', group: 'digestline-blue-green-production' }),
    );
    const preflight = runs.map((run) => run.job('release/preflight').outputs);
    const [first, second] = preflight[0]?.['active-slot'] === 'green' ? [0, 1] : [1, 0];
    const digests = [a, b];
    const [firstDigest, secondDigest] = [digests[first] as string, digests[second] as string];
    expect(preflight[first]).toMatchObject({
      'active-slot': 'green',
      'inactive-slot': 'blue',
      'previous-digest': v2,
    });
    expect(preflight[second]).toMatchObject({
      'active-slot': 'blue',
      'inactive-slot': 'green',
      'previous-digest': firstDigest,
    });
    expect([await tagged('blue'), await tagged('green'), await tagged('production')]).toEqual([
      firstDigest,
      secondDigest,
      secondDigest,
    ]);
    github.assertDone();
  }, 300_000);

  test("the first blue-green release over a production the delivery pipeline promoted is rolled back to that production's digest", async () => {
    // What promote.yml leaves: the digest promoted dev → staging → canary → production, every record
    // signed by the record key.
    const delivered = await pushRelease('3.0.0', 0, true, SHOP);
    let source: string | undefined;
    for (const target of ['dev', 'staging', 'canary', 'production']) {
      await promote({
        source: { client, repository: SHOP },
        digest: delivered,
        ...(source === undefined ? {} : { sourceEnv: source }),
        targetEnv: target,
        signatureKeys: [pair.publicKey],
        recordKeys: [recordPair.publicKey],
        recordSigner: { signer: keySigner(recordPair.privateKey), keyId: keyId(recordPair.publicKey) },
      });
      source = target;
    }
    shop.blue = await rig.follow('blue', SHOP);
    shop.production = await rig.follow('production', SHOP);
    front.route('/shop-blue/', shop.blue);
    front.route('/shop/', shop.production);
    await front.reroute();
    expect(await served('/shop/', delivered)).toBe('3.0.0');

    const next = await pushRelease('3.1.0', 0, true, SHOP);
    expectDeployment(github);
    expectDeployment(github);
    const crashed: Promise<void>[] = [];
    rig.onJobFinished = (job) => {
      if (job === 'switch') crashed.push(shop.production?.stop() ?? Promise.resolve());
    };
    let run: RunResult;
    try {
      run = await executor.run(BLUE_GREEN, {
        name: 'workflow_dispatch',
        inputs: {
          image: `${rig.registry.host}/${SHOP}`,
          image_digest: next,
          smoke_test_command: './scripts/smoke-test "$SLOT_URL"',
          slot_url_template: `${front.url}/shop-{slot}`,
          environment_url: `${front.url}/shop`,
          public_key: 'cosign.pub',
          record_public_key: 'record.pub',
        },
      });
    } finally {
      rig.onJobFinished = () => {};
      await Promise.all(crashed);
    }
    expect(results(run)).toEqual([
      ['preflight', 'success'],
      ['deploy-slot', 'success'],
      ['smoke-slot', 'success'],
      ['switch', 'success'],
      ['verify', 'failure'],
      ['rollback', 'success'],
    ]);
    // No slot held production's digest: the rollback's ladder is `none,production`.
    expect(run.job('preflight').outputs).toMatchObject({
      'active-slot': 'none',
      'inactive-slot': 'blue',
      'previous-digest': delivered,
    });
    const tag = async (name: string) => (await client.headManifest(SHOP, name))?.digest;
    expect([await tag('blue'), await tag('production')]).toEqual([next, delivered]);
    // The delivery pipeline's production record was the proof the rollback needed.
    const records = await findPromotionRecords(client, SHOP, delivered, 'production', [recordPair.publicKey]);
    expect(records.records.map((record) => [record.mode, record.from])).toEqual(
      expect.arrayContaining([
        ['promote', 'canary'],
        ['rollback', null],
      ]),
    );
    github.assertDone();
  }, 300_000);
});
