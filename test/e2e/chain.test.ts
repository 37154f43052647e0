import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ActionResult,
  type LocalPostgres,
  type LocalRegistry,
  makeTempDir,
  repoRoot,
  runAction,
  startPostgres,
  startRegistry,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { findPromotionRecords } from '@digestline/promotion';
import { encryptPrivateKey, generateKeyPair, publicKeyPem, verifyImage } from '@digestline/signing';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type SampleApp, startSampleApp } from '../harness/sample-app.js';

const repository = 'shop/app';
/** What a runner sets for a push to main of octo-org/octo-repo (runAction sets the rest). */
const runnerEnv = { GITHUB_WORKFLOW_REF: 'octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main' };
let registry: LocalRegistry;
let postgres: LocalPostgres;
let service: SampleApp;
let client: RegistryClient;
let workspace: { path: string; remove(): Promise<void> };
const pair = generateKeyPair();
const password = 'chain-test-password';
let secrets: { COSIGN_PRIVATE_KEY: string; COSIGN_PASSWORD: string };

beforeAll(async () => {
  [registry, postgres, service, workspace] = await Promise.all([
    startRegistry(),
    startPostgres(),
    startSampleApp('canary'),
    makeTempDir('e2e-chain'),
  ]);
  client = new RegistryClient(registry.host);
  await cp(join(repoRoot, 'demo', 'app'), workspace.path, { recursive: true });
  secrets = {
    COSIGN_PRIVATE_KEY: await encryptPrivateKey(pair.privateKey, password),
    COSIGN_PASSWORD: password,
  };
}, 60_000);

afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), postgres?.stop(), service?.stop(), workspace?.remove()]);
});

/** A step of a job: the action's exit code must be 0, with no error annotation, or the chain stops here. */
async function step(action: string, inputs: Record<string, string>): Promise<ActionResult> {
  const result = await runAction(action, { inputs, workspace: workspace.path, env: runnerEnv });
  expect({
    action,
    errors: result.annotations.filter((a) => a.level === 'error'),
    exit: result.exitCode,
  }).toEqual({
    action,
    errors: [],
    exit: 0,
  });
  return result;
}

/** promote.yml's promote job, with the inputs the calling workflow passes. */
function promoteJob(image: string, with_: { image_digest: string; source_env: string; target_env: string }) {
  return step('promote', {
    image,
    digest: with_.image_digest,
    'source-env': with_.source_env,
    'target-env': with_.target_env,
    'public-key': publicKeyPem(pair.publicKey),
    'cosign-private-key': secrets.COSIGN_PRIVATE_KEY,
    'cosign-password': secrets.COSIGN_PASSWORD,
    'record-deployment': 'false',
  });
}

test('build-and-sign → scan-gate → migration-check → promote dev → staging → canary → canary-deploy → promote production, each output feeding the next input', async () => {
  const image = `${registry.host}/${repository}`;

  // build-and-sign.yml: the build job's outputs become the workflow's image_digest.
  const build = await step('build-and-sign', {
    image,
    context: '.',
    file: 'Containerfile',
    builder: 'buildah',
    'cosign-private-key': secrets.COSIGN_PRIVATE_KEY,
    'cosign-password': secrets.COSIGN_PASSWORD,
    sbom: 'none',
  });
  const imageDigest = build.outputs.digest as string;
  expect(imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(build.outputs['image-ref']).toBe(`${image}@${imageDigest}`);

  // ci.yml's gate on the shipped report, and promote.yml's gates job on the migrations.
  const scan = await step('scan-gate', { reports: 'reports/trivy.json', 'severity-threshold': 'high' });
  expect(scan.outputs).toMatchObject({ passed: 'true', blocking: '0' });
  const migrations = await step('migration-check', { path: 'migrations', 'database-url': postgres.url });
  expect(migrations.outputs).toMatchObject({ errors: '0' });

  // build-and-sign.yml promotes the fresh build into dev; then promote.yml per step of the ladder.
  let digest = imageDigest;
  for (const [source_env, target_env] of [
    ['', 'dev'],
    ['dev', 'staging'],
    ['staging', 'canary'],
  ] as const) {
    const promoted = await promoteJob(image, { image_digest: digest, source_env, target_env });
    expect(promoted.outputs['promoted-tag']).toBe(target_env);
    // The next job takes the digest from this job's image-ref output, as a caller of promote.yml would.
    digest = (promoted.outputs['image-ref'] as string).split('@')[1] as string;
  }
  expect(digest).toBe(imageDigest);

  // canary-deploy.yml: the canary job, then its promote-production job on success.
  const canaryInputs = {
    image,
    digest,
    'health-url': `${service.url}/api/health`,
    interval: '200ms',
    duration: '1s',
    'min-samples': '1',
  };
  const canary = await step('canary-deploy', canaryInputs);
  expect(canary.outputs.result).toBe('promoted');
  // The runner always runs the post step with the state main saved: a finished canary leaves it nothing to undo.
  const post = await runAction('canary-deploy', {
    inputs: canaryInputs,
    state: canary.state,
    workspace: workspace.path,
  });
  expect(post.exitCode).toBe(0);
  expect((await client.headManifest(repository, 'canary'))?.digest).toBe(imageDigest);
  const production = await promoteJob(image, {
    image_digest: digest,
    source_env: 'canary',
    target_env: 'production',
  });
  expect(production.outputs).toMatchObject({
    'image-ref': `${image}@${imageDigest}`,
    'promoted-tag': 'production',
  });

  for (const env of ['dev', 'staging', 'canary', 'production']) {
    expect((await client.headManifest(repository, env))?.digest).toBe(imageDigest);
    const records = await findPromotionRecords(client, repository, imageDigest, env, [pair.publicKey]);
    expect(records.records).toHaveLength(1);
  }
  expect((await verifyImage(client, repository, imageDigest, pair.publicKey)).verified).toHaveLength(1);
  expect(service.served()[200]).toBeGreaterThan(0);
}, 150_000);
