import { execFileSync } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DemoService,
  type LocalNginx,
  type LocalRegistry,
  makeTempDir,
  repoRoot,
  startDemoService,
  startNginx,
  startRegistry,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { findPromotionRecords, promote } from '@digestline/promotion';
import {
  encryptPrivateKey,
  generateKeyPair,
  keyId,
  keySigner,
  publicKeyPem,
  signImage,
} from '@digestline/signing';
import { type RunResult, WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectDeployment } from '../actions/promote/test/deployments-fixture.js';
import { type GitHubFixture, startGitHub } from './harness/github.js';
import { buildImage } from './harness/images.js';

/**
 * canary-deploy.yml started by hand with its documented inputs, on real parts: the registry, the demo
 * service for the stable (`production`) and the canary (`canary`) tag, nginx splitting the traffic
 * between them by weight, and promote.yml for canary → production.
 */
const pair = generateKeyPair();
const password = 'canary-dispatch-password';
const repository = 'octo-org/app';

let registry: LocalRegistry;
let github: GitHubFixture;
let executor: WorkflowExecutor;
let client: RegistryClient;
let temp: { path: string; remove(): Promise<void> };
let stable: DemoService;
let canary: DemoService;
let nginx: LocalNginx;
let image: string;

/** A release of the demo app, signed, and promoted by the earlier stages up to `last`. */
async function release(version: string, errorRate: number, last: 'canary' | 'production'): Promise<string> {
  const built = await buildImage(registry, {
    repository,
    tag: `v${version}`,
    files: { 'srv/release.json': JSON.stringify({ version, errorRate }) },
  });
  await signImage(client, repository, built.digest, pair.privateKey);
  const ladder = ['dev', 'staging', 'canary', 'production'];
  let source: string | undefined;
  for (const target of ladder.slice(0, ladder.indexOf(last) + 1)) {
    await promote({
      source: { client, repository },
      digest: built.digest,
      ...(source === undefined ? {} : { sourceEnv: source }),
      targetEnv: target,
      signatureKeys: [pair.publicKey],
      recordKeys: [pair.publicKey],
      recordSigner: { signer: keySigner(pair.privateKey), keyId: keyId(pair.publicKey) },
    });
    source = target;
  }
  return built.digest;
}

const tagged = async (tag: string) => (await client.headManifest(repository, tag))?.digest;

const expectSuccess = (run: RunResult) => {
  if (run.conclusion !== 'success') throw new Error(`run failed:\n${run.log()}`);
};

const results = (run: RunResult) => Object.fromEntries(run.jobs.map((job) => [job.key, job.result]));

/** Every documented input of the dispatch form, the checks shortened to seconds. */
const inputs = (digest: string) => ({
  image,
  image_digest: digest,
  traffic_percent: 20,
  provider: 'nginx',
  nginx_config: nginx.upstreamFile,
  nginx_stable_server: new URL(stable.url).host,
  nginx_canary_server: new URL(canary.url).host,
  nginx_reload_command: nginx.reloadCommand,
  interval: '1s',
  error_rate_threshold: 5,
  latency_p99_threshold_ms: 2000,
  health_timeout_minutes: 0.1,
  health_path: '/api/health',
  promote_to_production: true,
  public_key: 'cosign.pub',
  certificate_identity: '',
  certificate_oidc_issuer: '',
  record_public_key: '',
});

beforeAll(async () => {
  [registry, github, temp] = await Promise.all([
    startRegistry(),
    startGitHub(),
    makeTempDir('templates-canary-dispatch'),
  ]);
  client = new RegistryClient(registry.host);
  image = `${registry.host}/${repository}`;
  [stable, canary] = await Promise.all([
    startDemoService({ client, repository, tag: 'production', pollMs: 100 }),
    startDemoService({ client, repository, tag: 'canary', pollMs: 100 }),
  ]);
  nginx = await startNginx({ stable: new URL(stable.url).host, canary: new URL(canary.url).host });
  const checkout = join(temp.path, 'repository');
  await cp(join(repoRoot, 'demo', 'app'), checkout, { recursive: true });
  await writeFile(join(checkout, 'cosign.pub'), publicKeyPem(pair.publicKey));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: checkout, stdio: 'pipe' });
  git('init', '--quiet', '--initial-branch=main');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'app');
  executor = await WorkflowExecutor.start({
    repository: { name: repository, path: checkout },
    secrets: {
      COSIGN_PRIVATE_KEY: await encryptPrivateKey(pair.privateKey, password),
      COSIGN_PASSWORD: password,
      CANARY_DEPLOY_URL: canary.url,
    },
    github: { url: github.url, token: 'fixture-token' },
  });
}, 120_000);

afterAll(async () => {
  await executor?.close();
  await Promise.all([stable?.stop(), canary?.stop(), nginx?.stop()]);
  await client?.close();
  await Promise.all([registry?.stop(), github?.stop(), temp?.remove()]);
});

describe('canary-deploy.yml by workflow_dispatch', () => {
  let v1 = '';

  test('a healthy canary gets the asked share of traffic through nginx, passes and is promoted to production', async () => {
    v1 = await release('1.0.0', 0, 'production');
    const v2 = await release('1.1.0', 0, 'canary');
    expect([await tagged('production'), await tagged('canary')]).toEqual([v1, v2]);
    expectDeployment(github);
    // Every state nginx is given while the run goes on.
    const seen = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        seen.add(await readFile(nginx.upstreamFile, 'utf8'));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    let run: RunResult;
    try {
      run = await executor.run(join(repoRoot, 'workflows-templates/canary-deploy.yml'), {
        name: 'workflow_dispatch',
        inputs: inputs(v2),
      });
    } finally {
      watching = false;
      await watch;
    }
    expectSuccess(run);
    expect(results(run)).toMatchObject({
      canary: 'success',
      'promote-production': 'success',
      'promote-production/promote': 'success',
    });
    expect(run.job('canary').outputs).toMatchObject({ result: 'promoted' });
    // nginx sent the canary the share the form asked for, then all of it.
    const split = [...seen].find((text) => new RegExp(`${new URL(canary.url).host} weight=200;`).test(text));
    expect(split).toMatch(new RegExp(`${new URL(stable.url).host} weight=800;`));
    expect(await readFile(nginx.upstreamFile, 'utf8')).toMatch(
      new RegExp(`${new URL(canary.url).host} weight=1000;`),
    );
    expect(await tagged('production')).toBe(v2);
    const records = await findPromotionRecords(client, repository, v2, 'production', [pair.publicKey]);
    expect(records.records).toHaveLength(1);
    github.assertDone();
  }, 300_000);

  test('a failing canary is rolled back: nginx sends it nothing and production is not promoted', async () => {
    const before = await tagged('production');
    const bad = await release('2.0.0', 1, 'canary');
    const run = await executor.run(join(repoRoot, 'workflows-templates/canary-deploy.yml'), {
      name: 'workflow_dispatch',
      inputs: inputs(bad),
    });
    expect(run.conclusion).toBe('failure');
    expect(results(run)).toMatchObject({ canary: 'failure', 'promote-production': 'skipped' });
    expect(run.job('canary').outputs).toMatchObject({ result: 'rolled-back' });
    const step = run.job('canary').steps.find((s) => s.name === 'Canary with automatic rollback');
    expect(step?.annotations).toContainEqual({
      level: 'error',
      message: 'The canary was rolled back: 3 consecutive failed checks at 20 % (health check failed).',
    });
    const upstream = await readFile(nginx.upstreamFile, 'utf8');
    expect(upstream).toMatch(new RegExp(`${new URL(canary.url).host} down`));
    expect(await tagged('production')).toBe(before);
    // The canary tag goes back too: left on the failed digest, promote canary → production would take it
    // for what the canary runs and find its canary record.
    expect(await tagged('canary')).toBe(before);
    github.assertDone();
  }, 300_000);
});
