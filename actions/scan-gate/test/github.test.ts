// The GitHub half of scan-gate (SARIF upload, issues) through the action-kit Octokit against the
// fixture server, which checks every request and response against GitHub's OpenAPI description.
import { gunzipSync } from 'node:zlib';
import { createOctokit } from '@digestline/action-kit';
import {
  type Finding,
  type GitHubRequest,
  issueMarker,
  readReport,
  ScanInputError,
  syncIssues,
  uploadSarif,
  writeSarif,
} from '@digestline/scan';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { corpusText } from '../../../packages/scan/test/corpus.js';
import { type GitHubFixture, type RecordedRequest, startGitHub } from '../../../test/harness/github.js';
import { comment, issue, SARIF_ID } from './github-bodies.js';

const TOKEN = 'ghs_scan-gate-fixture';
const SHA = 'ffac537e6cbbf934b08745a378932722df287a53';
const repo = { owner: 'octo-org', repo: 'octo-repo' };
let github: GitHubFixture;
let request: GitHubRequest;

beforeAll(async () => {
  github = await startGitHub({ token: TOKEN });
  request = createOctokit(TOKEN, { baseUrl: github.url, retries: 0 }).request as unknown as GitHubRequest;
});
afterEach(() => github.assertDone());
// The fixture keeps every request of the file; each test looks at its own.
let first = 0;
beforeEach(() => {
  first = github.requests.length;
});
const sent = () => github.requests.slice(first);
afterAll(() => github.stop());

const findings = readReport(corpusText('trivy/trivy-repo-secret-scan.json'), 'secret.json').findings;
const sarif = writeSarif(findings, { category: 'repository', dockerfile: 'Dockerfile' });
const upload = (overrides = {}) =>
  uploadSarif(request, {
    ...repo,
    commitSha: SHA,
    ref: 'refs/heads/main',
    gzipped: sarif.gzipped,
    pollIntervalMs: 5,
    ...overrides,
  });
const uploaded = {
  status: 202,
  body: {
    id: SARIF_ID,
    url: `https://api.github.com/repos/octo-org/octo-repo/code-scanning/sarifs/${SARIF_ID}`,
  },
};

describe('SARIF upload', () => {
  test('sends the gzipped, base64 SARIF with commit and ref, then waits until GitHub has processed it', async () => {
    github.on('code-scanning/upload-sarif', uploaded);
    github.on('code-scanning/get-sarif', { status: 404 });
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'pending', analyses_url: null },
    });
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: {
        processing_status: 'complete',
        analyses_url: `https://api.github.com/repos/octo-org/octo-repo/code-scanning/analyses?sarif_id=${SARIF_ID}`,
      },
    });
    await expect(upload()).resolves.toEqual({ id: SARIF_ID, processingStatus: 'complete', errors: [] });
    const [uploadRequest] = sent() as [RecordedRequest];
    expect(uploadRequest.body).toMatchObject({ commit_sha: SHA, ref: 'refs/heads/main' });
    const decoded = gunzipSync(
      Buffer.from((uploadRequest.body as { sarif: string }).sarif, 'base64'),
    ).toString('utf8');
    expect(decoded).toBe(sarif.text);
    expect(sent().map((r) => r.path)).toEqual([
      '/repos/octo-org/octo-repo/code-scanning/sarifs',
      ...Array(3).fill(`/repos/octo-org/octo-repo/code-scanning/sarifs/${SARIF_ID}`),
    ]);
  });

  test('a file GitHub could not process comes back as failed with its errors', async () => {
    github.on('code-scanning/upload-sarif', uploaded);
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: {
        processing_status: 'failed',
        analyses_url: null,
        errors: ['locationFromSarifResult: expected a physical location'],
      },
    });
    await expect(upload()).resolves.toEqual({
      id: SARIF_ID,
      processingStatus: 'failed',
      errors: ['locationFromSarifResult: expected a physical location'],
    });
  });

  test('processing that outlasts the timeout is reported as pending, not as a failure', async () => {
    github.on('code-scanning/upload-sarif', uploaded);
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'pending', analyses_url: null },
    });
    await expect(upload({ timeoutMs: 1 })).resolves.toMatchObject({ processingStatus: 'pending' });
  });

  test('403 tells the user which permission to add', async () => {
    github.on('code-scanning/upload-sarif', {
      status: 403,
      body: {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest',
      },
    });
    const failure = await upload().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ScanInputError);
    expect((failure as Error).message).toContain('add `permissions: security-events: write`');
  });
});

describe('issues', () => {
  const blocking = findings as [Finding];
  const options = {
    ...repo,
    category: 'repository',
    label: 'scan-gate',
    runUrl: 'https://github.com/octo-org/octo-repo/actions/runs/1',
  };

  test('a blocking finding without an issue gets one, labelled and carrying the hidden marker', async () => {
    github.on('issues/list-for-repo', { status: 200, body: [issue(3, { body: 'unrelated' })] });
    github.on('issues/create', (req) => ({
      status: 201,
      body: issue(7, { title: (req.body as { title: string }).title }),
    }));
    await expect(syncIssues(request, blocking, options)).resolves.toEqual({
      created: [7],
      open: [],
      closed: [],
      deferred: 0,
    });
    const [list, create] = sent() as [RecordedRequest, RecordedRequest];
    expect(list.query).toMatchObject({ state: 'open', labels: 'scan-gate' });
    expect(create.body).toMatchObject({
      title: 'github-pat (critical) in env',
      labels: ['scan-gate', 'severity:critical'],
    });
    expect((create.body as { body: string }).body).toContain(issueMarker('repository', blocking[0]));
  });

  test('an open issue with the marker is kept, not opened again', async () => {
    github.on('issues/list-for-repo', {
      status: 200,
      body: [issue(7, { body: `x\n${issueMarker('repository', blocking[0])}` })],
    });
    await expect(syncIssues(request, blocking, options)).resolves.toEqual({
      created: [],
      open: [7],
      closed: [],
      deferred: 0,
    });
  });

  test('an issue whose finding is gone is closed with a comment; issues of another category and pull requests are left alone', async () => {
    const other = { ...blocking[0], id: 'aws-access-key-id' };
    github.on('issues/list-for-repo', {
      status: 200,
      body: [
        issue(7, { body: issueMarker('repository', blocking[0]) }),
        issue(8, { body: issueMarker('container', blocking[0]) }),
        {
          ...issue(9, { body: issueMarker('repository', other) }),
          pull_request: { url: null, html_url: null, diff_url: null, patch_url: null },
        },
      ],
    });
    github.on('issues/create-comment', (req) => ({
      status: 201,
      body: comment(7, (req.body as { body: string }).body),
    }));
    github.on('issues/update', { status: 200, body: issue(7, { state: 'closed' }) });
    await expect(syncIssues(request, [], options)).resolves.toEqual({
      created: [],
      open: [],
      closed: [7],
      deferred: 0,
    });
    const [, commented, closed] = sent() as RecordedRequest[];
    expect(commented?.path).toBe('/repos/octo-org/octo-repo/issues/7/comments');
    expect((commented?.body as { body: string } | undefined)?.body).toContain(
      'no longer reports this finding in [this run](https://github.com/octo-org/octo-repo/actions/runs/1)',
    );
    expect(closed?.body).toEqual({ state: 'closed', state_reason: 'completed' });
  });

  test('every page of open issues is read before deciding', async () => {
    const page1 = Array.from({ length: 100 }, (_, i) => issue(100 + i, { body: 'other' }));
    github.on('issues/list-for-repo', { status: 200, body: page1 }, { when: (r) => r.query.page === '1' });
    github.on(
      'issues/list-for-repo',
      { status: 200, body: [issue(7, { body: issueMarker('repository', blocking[0]) })] },
      { when: (r) => r.query.page === '2' },
    );
    await expect(syncIssues(request, blocking, options)).resolves.toMatchObject({ created: [], open: [7] });
  });

  test('at most maxNew issues are opened per run; the rest are counted as deferred', async () => {
    const many = Array.from({ length: 3 }, (_, i) => ({ ...blocking[0], id: `rule-${i}` }));
    github.on('issues/list-for-repo', { status: 200, body: [] });
    github.on('issues/create', { status: 201, body: issue(11) }, { times: 2 });
    await expect(syncIssues(request, many, { ...options, maxNew: 2 })).resolves.toMatchObject({
      created: [11, 11],
      deferred: 1,
    });
  });
});
