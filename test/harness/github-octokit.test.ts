// The action-kit octokit and the GitHub fixture server together: what an action sends is checked against
// GitHub's OpenAPI description, so a request the real API would reject fails the test here.

import { createOctokit } from '@digestline/action-kit';
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { type GitHubFixture, startGitHub } from './github.js';

const SHA = 'a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d';
let github: GitHubFixture;

beforeAll(async () => {
  github = await startGitHub({ token: 'ghs_fixture-token' });
});
afterEach(() => github.assertDone());
afterAll(() => github.stop());

const octokit = () => createOctokit('ghs_fixture-token', { baseUrl: github.url, retries: 0 });

test('a valid SARIF upload from octokit is matched to its operation and answered', async () => {
  github.on('code-scanning/upload-sarif', {
    status: 202,
    body: { id: '47177e22-5596-11eb-80a1-c1e54ef945c6', url: `${github.url}/sarifs/47177e22` },
  });
  const response = await octokit().rest.codeScanning.uploadSarif({
    owner: 'octo-org',
    repo: 'octo-repo',
    commit_sha: SHA,
    ref: 'refs/heads/main',
    sarif: 'H4sIAAAAAAAAA6uuBQBDv6ajAgAAAA==',
  });
  expect(response.status).toBe(202);
  expect(github.requests).toHaveLength(1);
  expect(github.requests[0]).toMatchObject({
    operationId: 'code-scanning/upload-sarif',
    method: 'POST',
    body: { commit_sha: SHA },
  });
  expect(github.requests[0]?.headers.authorization).toMatch(/ghs_fixture-token$/);
});

test('a malformed request from octokit is rejected the way GitHub would reject it', async () => {
  // Typed callers cannot forget commit_sha; untyped ones (JSON from a file, a cast) can, and GitHub says 422.
  const withoutCommit: Record<string, string> = {
    owner: 'octo-org',
    repo: 'octo-repo',
    ref: 'refs/heads/main',
    sarif: 'H4sIAAAAAAAAA6uuBQBDv6ajAgAAAA==',
  };
  const malformed = octokit().request(
    'POST /repos/{owner}/{repo}/code-scanning/sarifs',
    withoutCommit as never,
  );
  await expect(malformed).rejects.toMatchObject({ status: 422 });
  expect(() => github.assertDone()).toThrow(/commit_sha/);
});

test('a request with the wrong token is refused', async () => {
  const stranger = createOctokit('ghs_someone-else', { baseUrl: github.url, retries: 0 });
  await expect(stranger.rest.repos.get({ owner: 'octo-org', repo: 'octo-repo' })).rejects.toMatchObject({
    status: 401,
  });
  expect(() => github.assertDone()).toThrow(/Bad credentials|401/);
});
