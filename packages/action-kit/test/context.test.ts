import { describe, expect, it } from '@jest/globals';

// @actions/github reads the run's environment once, when it is first imported: set it up first.
Object.assign(process.env, {
  GITHUB_REPOSITORY: 'octo-org/octo-repo',
  GITHUB_SHA: 'ffac537e6cbbf934b08745a378932722df287a53',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_RUN_ID: '1658821493',
  GITHUB_SERVER_URL: 'https://ghes.example.com',
  GITHUB_JOB: 'deliver',
});
const { githubContext } = await import('../src/index.js');

describe('githubContext', () => {
  it('describes the workflow run from the runner environment', () => {
    const context = githubContext();
    expect(context.repo).toEqual({ owner: 'octo-org', repo: 'octo-repo' });
    expect(context.sha).toBe('ffac537e6cbbf934b08745a378932722df287a53');
    expect(context.ref).toBe('refs/heads/main');
    expect(context.runId).toBe(1658821493);
    expect(context.serverUrl).toBe('https://ghes.example.com');
    expect(context.job).toBe('deliver');
  });
});
