import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { issue } from '../../../actions/scan-gate/test/github-bodies.js';
import { type GitHubFixture, startGitHub } from '../../../test/harness/github.js';
import { gitRepository } from './repository.js';

let temp: { path: string; remove(): Promise<void> };
let github: GitHubFixture;
let executor: WorkflowExecutor;
let file: string;

beforeAll(async () => {
  temp = await makeTempDir('workflow-fork');
  const repository = join(temp.path, 'repository');
  await gitRepository(repository);
  file = join(temp.path, 'pr.yml');
  await writeFile(
    file,
    `on: pull_request
permissions: {}
jobs:
  triage:
    runs-on: ubuntu-24.04
    permissions:
      issues: write
    steps:
      - run: |
          echo "secret: \${SECRET:-none}"
          curl -s -o /dev/null -w '%{http_code}\\n' -X POST -H "Authorization: token $TOKEN" \\
            -d '{"title":"x"}' "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/issues"
        env:
          TOKEN: \${{ github.token }}
          SECRET: \${{ secrets.API_KEY }}
`,
  );
  github = await startGitHub();
  executor = await WorkflowExecutor.start({
    repository: { name: 'octo-org/app', path: repository },
    secrets: { API_KEY: 'key-f00d-cafe' },
    github: { url: github.url, token: 'fixture-token' },
  });
}, 60_000);

afterAll(async () => {
  await executor?.close();
  await github?.stop();
  await temp?.remove();
});

const pullRequest = (head: string) => ({
  name: 'pull_request',
  payload: {
    number: 3,
    pull_request: {
      number: 3,
      head: { ref: 'feature', repo: { full_name: head } },
      base: { ref: 'main', repo: { full_name: 'octo-org/app' } },
    },
  },
});

describe('pull requests', () => {
  test("a pull request from the repository gets the job's permissions and the secrets", async () => {
    github.on('issues/create', { status: 201, body: issue(1, { title: 'x' }) });
    const run = await executor.run(file, pullRequest('octo-org/app'));
    expect(run.job('triage').steps[0]?.log).toBe('secret: ***\n201\n');
    expect(run.job('triage').permissions).toMatchObject({ issues: 'write' });
    github.assertDone();
  });

  test("a fork's pull request gets a read-only token and no secrets, as on GitHub", async () => {
    const run = await executor.run(file, pullRequest('someone/app'));
    expect(run.job('triage').steps[0]?.log).toBe('secret: none\n403\n');
    expect(run.job('triage').permissions).toMatchObject({ issues: 'read', 'id-token': 'none' });
    expect(executor.refusals.at(-1)).toEqual({
      job: 'triage',
      method: 'POST',
      path: '/repos/octo-org/app/issues',
      reason: 'needs issues: write, the job grants read',
    });
    github.assertDone();
  });
});
