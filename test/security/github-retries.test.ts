import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalRegistry, makeTempDir, runAction, startRegistry } from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  deployment,
  deploymentStatus,
  newDeploymentId,
  SHA,
} from '../../actions/promote/test/deployments-fixture.js';
import { issue, SARIF_ID } from '../../actions/scan-gate/test/github-bodies.js';
import {
  clientFor,
  makeKeys,
  pushSignedImage,
  type TestKeys,
} from '../../packages/promotion/test/helpers.js';
import { corpus } from '../../packages/scan/test/corpus.js';
import { type GitHubFixture, type RecordedRequest, startGitHub } from '../harness/github.js';

/**
 * Issue 13, item 13: GitHub may answer a 5xx after it created what it was asked to. Creating an issue, a
 * deployment or a SARIF upload again blindly makes a second one; the built actions look for what the
 * first try made before they try again. The fixture creates, then answers 502.
 */
const TOKEN = 'ghs_githubRetriesToken0123456789';
let github: GitHubFixture;

beforeAll(async () => {
  github = await startGitHub({ token: TOKEN });
});
afterAll(() => github?.stop());
afterEach(() => github.assertDone());

const serverError = { status: 502, body: { message: 'Server Error' } };
const calls = (operationId: string) => github.requests.filter((r) => r.operationId === operationId);

describe('scan-gate', () => {
  let workspace: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    workspace = await makeTempDir('github-retries');
    // One blocking finding: a secret in the repository.
    await copyFile(corpus('trivy/trivy-repo-secret-scan.json'), join(workspace.path, 'secrets.json'));
  });
  afterAll(() => workspace?.remove());
  const gate = (inputs: Record<string, string>) =>
    runAction('scan-gate', {
      inputs: { reports: 'secrets.json', 'github-token': TOKEN, category: 'repository', ...inputs },
      env: { GITHUB_API_URL: github.url },
      workspace: workspace.path,
    });

  test('an issue created before a 502 is found by its marker, not opened a second time', async () => {
    let created: RecordedRequest | undefined;
    github.on('issues/list-for-repo', { status: 200, body: [] });
    github.on('issues/create', (req) => {
      created = req;
      return serverError;
    });
    github.on('issues/list-for-repo', () => ({
      status: 200,
      body: [issue(31, { body: (created?.body as { body?: string } | undefined)?.body ?? '' })],
    }));
    const before = calls('issues/create').length;
    const result = await gate({ 'create-issues': 'true' });
    expect(calls('issues/create').length - before).toBe(1);
    expect(result.exitCode).toBe(1);
    expect(result.summary).toContain('Issues: 1 opened, 0 still open, 0 closed.');
  });

  test('an issue that a 502 did not create is created again', async () => {
    github.on('issues/list-for-repo', { status: 200, body: [] }, { times: 2 });
    github.on('issues/create', serverError);
    github.on('issues/create', { status: 201, body: issue(32) });
    const result = await gate({ 'create-issues': 'true' });
    expect(result.exitCode).toBe(1);
    expect(result.summary).toContain('Issues: 1 opened, 0 still open, 0 closed.');
  });

  test('a SARIF upload accepted before a 502 is found among the analyses, not uploaded again', async () => {
    github.on('code-scanning/upload-sarif', serverError);
    github.on('code-scanning/list-recent-analyses', (req) => ({
      status: 200,
      body: [
        {
          ref: req.query.ref as string,
          commit_sha: SHA,
          analysis_key: '.github/workflows/ci.yml:test',
          environment: '{}',
          category: 'repository',
          error: '',
          created_at: new Date().toISOString(),
          results_count: 1,
          rules_count: 1,
          id: 201,
          url: 'https://api.github.com/repos/octo-org/octo-repo/code-scanning/analyses/201',
          sarif_id: SARIF_ID,
          tool: { name: 'digestline scan-gate', guid: null, version: '1.0.0' },
          deletable: true,
          warning: '',
        },
      ],
    }));
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'complete', analyses_url: null },
    });
    const before = calls('code-scanning/upload-sarif').length;
    const result = await gate({ 'upload-sarif': 'true' });
    expect(calls('code-scanning/upload-sarif').length - before).toBe(1);
    expect(result.summary).toContain(`uploaded as ${SARIF_ID}, processing complete`);
  });
});

describe('promote', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let keys: TestKeys;
  beforeAll(async () => {
    [registry, keys] = await Promise.all([startRegistry(), makeKeys('retries-pass')]);
    client = clientFor(registry);
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
  });
  const promote = (digest: string) =>
    runAction('promote', {
      inputs: {
        image: `${registry.host}/retries/app`,
        digest,
        'target-env': 'dev',
        'public-key': keys.publicPem,
        'cosign-private-key': keys.encryptedPem,
        'cosign-password': keys.password,
        'github-token': TOKEN,
      },
      env: { GITHUB_API_URL: github.url },
    });

  test('a deployment created before a 502 is found by digest and environment, not created again', async () => {
    const digest = await pushSignedImage(registry, client, 'retries/app', 1, keys.privateKey);
    const id = newDeploymentId();
    let created: RecordedRequest | undefined;
    github.on('repos/create-deployment', (req) => {
      created = req;
      return serverError;
    });
    github.on('repos/list-deployments', (req) => ({
      status: 200,
      body:
        created === undefined ? [] : [deployment(id, created)].filter(() => req.query.environment === 'dev'),
    }));
    github.on('repos/create-deployment-status', (req) => ({ status: 201, body: deploymentStatus(req) }));
    const before = calls('repos/create-deployment').length;
    const result = await promote(digest);
    expect(result.exitCode).toBe(0);
    expect(calls('repos/create-deployment').length - before).toBe(1);
    expect(result.outputs['deployment-id']).toBe(String(id));
    expect(calls('repos/create-deployment-status').at(-1)?.path).toMatch(
      new RegExp(`/deployments/${id}/statuses$`),
    );
  });

  test('a deployment that a 502 did not create is created again', async () => {
    const digest = await pushSignedImage(registry, client, 'retries/app', 2, keys.privateKey);
    github.on('repos/create-deployment', serverError);
    github.on('repos/list-deployments', { status: 200, body: [] });
    github.on('repos/create-deployment', (req) => ({
      status: 201,
      body: deployment(newDeploymentId(), req),
    }));
    github.on('repos/create-deployment-status', (req) => ({ status: 201, body: deploymentStatus(req) }));
    const result = await promote(digest);
    expect(result.exitCode).toBe(0);
    expect(calls('repos/create-deployment-status').at(-1)?.body).toMatchObject({ state: 'success' });
  });
});
