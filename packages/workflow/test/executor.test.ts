import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '@digestline/local';
import { type ApprovalRequest, type Progress, WorkflowError, WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { issue } from '../../../actions/scan-gate/test/github-bodies.js';
import { type GitHubFixture, startGitHub } from '../../../test/harness/github.js';
import { expectSerialized, progressSeen } from './repository.js';

const CHECKOUT = 'actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8';

let temp: { path: string; remove(): Promise<void> };
let github: GitHubFixture;
let executor: WorkflowExecutor;
let workflows: string;
let repository: string;
const progress: Progress[] = [];
let decide: (request: ApprovalRequest) => { approved: boolean; reviewer: string } = () => ({
  approved: true,
  reviewer: 'octocat',
});

/** Writes a workflow into the executor's workflow directory and returns its path. */
async function workflow(name: string, text: string): Promise<string> {
  const file = join(workflows, name);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  temp = await makeTempDir('workflow-test');
  workflows = join(temp.path, 'workflows');
  repository = join(temp.path, 'repository');
  await mkdir(workflows);
  await mkdir(repository);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repository, stdio: 'pipe' });
  git('init', '--quiet', '--initial-branch=main');
  await writeFile(join(repository, 'README.md'), 'first\n');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'first');
  await writeFile(join(repository, 'README.md'), 'second\n');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-am', 'second');
  github = await startGitHub();
  executor = await WorkflowExecutor.start({
    repository: { name: 'octo-org/app', path: repository },
    actionsDir: join(repoRoot, 'test/fixtures/actions'),
    workflowsDir: workflows,
    secrets: { API_KEY: 'key-f00d-cafe' },
    environments: { production: { secrets: { DATABASE_URL: 'postgres://prod-secret@db/app' } } },
    approve: (request) => decide(request),
    github: { url: github.url, token: 'fixture-token' },
    progress: (event) => progress.push(event),
  });
}, 60_000);

afterAll(async () => {
  await executor?.close();
  await github?.stop();
  await temp?.remove();
});

const push = { name: 'push' };

describe('jobs', () => {
  test('run in needs order and pass outputs to the jobs that need them', async () => {
    const file = await workflow(
      'needs.yml',
      `on: push
jobs:
  first:
    runs-on: ubuntu-24.04
    outputs:
      colour: \${{ steps.pick.outputs.colour }}
    steps:
      - id: pick
        run: echo "colour=blue" >> "$GITHUB_OUTPUT"
  second:
    needs: first
    runs-on: ubuntu-24.04
    outputs:
      seen: \${{ steps.read.outputs.seen }}
    steps:
      - id: read
        env:
          COLOUR: \${{ needs.first.outputs.colour }}
        run: echo "seen=$COLOUR-$GITHUB_JOB" >> "$GITHUB_OUTPUT"
`,
    );
    const run = await executor.run(file, push);
    expect(run.conclusion).toBe('success');
    expect(run.job('second').outputs).toEqual({ seen: 'blue-second' });
    const events = progress
      .filter((event) => event.run === run.id)
      .map((event) => `${event.type} ${'job' in event ? event.job : ''}`);
    expect(events.indexOf('job-finished first')).toBeLessThan(events.indexOf('job-started second'));
  });

  test('if: with status functions decides which jobs and steps run after a failure', async () => {
    const file = await workflow(
      'status.yml',
      `on: push
jobs:
  broken:
    runs-on: ubuntu-24.04
    steps:
      - id: fails
        run: exit 3
      - id: skipped-after-failure
        run: echo never
      - id: on-failure
        if: failure()
        run: echo "cleaning up"
      - id: always
        if: always() && steps.fails.outcome == 'failure'
        run: echo "always ran"
  default:
    needs: broken
    runs-on: ubuntu-24.04
    steps:
      - run: echo never
  report:
    needs: broken
    if: failure()
    runs-on: ubuntu-24.04
    steps:
      - env:
          RESULT: \${{ needs.broken.result }}
        run: echo "broken was $RESULT"
`,
    );
    const run = await executor.run(file, push);
    expect(run.conclusion).toBe('failure');
    const steps = Object.fromEntries(run.job('broken').steps.map((step) => [step.id, step.conclusion]));
    expect(steps).toEqual({
      fails: 'failure',
      'skipped-after-failure': 'skipped',
      'on-failure': 'success',
      always: 'success',
    });
    expect(run.job('default').result).toBe('skipped');
    expect(run.job('report').result).toBe('success');
    expect(run.job('report').steps[0]?.log).toContain('broken was failure');
  });

  test('a matrix runs one job per combination, with include and exclude', async () => {
    const file = await workflow(
      'matrix.yml',
      `on: push
jobs:
  build:
    strategy:
      matrix:
        platform: [linux/amd64, linux/arm64, linux/s390x]
        exclude:
          - platform: linux/s390x
        include:
          - platform: linux/amd64
            runner: ubuntu-24.04
          - platform: linux/arm64
            runner: ubuntu-24.04-arm
    runs-on: \${{ matrix.runner }}
    steps:
      - env:
          PLATFORM: \${{ matrix.platform }}
        run: echo "building $PLATFORM"
`,
    );
    const run = await executor.run(file, push);
    expect(run.jobs.map((job) => [job.key, job.runsOn])).toEqual([
      ['build (linux/amd64, ubuntu-24.04)', 'ubuntu-24.04'],
      ['build (linux/arm64, ubuntu-24.04-arm)', 'ubuntu-24.04-arm'],
    ]);
    expect(run.job('build (linux/arm64, ubuntu-24.04-arm)').steps[0]?.log).toContain('building linux/arm64');
  });

  test('a matrix of includes alone runs one job per include', async () => {
    const file = await workflow(
      'includes.yml',
      `on: push
jobs:
  leg:
    strategy:
      matrix:
        include: \${{ fromJSON('[{"platform":"linux/amd64","runner":"ubuntu-24.04"},{"platform":"linux/arm64","runner":"ubuntu-24.04-arm"}]') }}
    runs-on: \${{ matrix.runner }}
    steps:
      - run: echo
`,
    );
    const run = await executor.run(file, push);
    expect(run.jobs.map((job) => job.key)).toEqual([
      'leg (linux/amd64, ubuntu-24.04)',
      'leg (linux/arm64, ubuntu-24.04-arm)',
    ]);
  });

  test('continue-on-error keeps a failed step or job from failing the run', async () => {
    const file = await workflow(
      'continue.yml',
      `on: push
jobs:
  tolerant-step:
    runs-on: ubuntu-24.04
    steps:
      - id: flaky
        continue-on-error: true
        run: exit 1
      - id: next
        env:
          OUTCOME: \${{ steps.flaky.outcome }}
          CONCLUSION: \${{ steps.flaky.conclusion }}
        run: echo "$OUTCOME/$CONCLUSION"
  tolerant-job:
    runs-on: ubuntu-24.04
    continue-on-error: true
    steps:
      - run: exit 1
`,
    );
    const run = await executor.run(file, push);
    expect(run.conclusion).toBe('success');
    expect(run.job('tolerant-step').steps[1]?.log).toContain('failure/success');
    expect(run.job('tolerant-job').error).toMatch(/continue-on-error/);
  });

  test('timeout-minutes ends a job or a step that runs too long', async () => {
    const file = await workflow(
      'timeout.yml',
      `on: push
jobs:
  slow-job:
    runs-on: ubuntu-24.04
    timeout-minutes: 0.02
    steps:
      - run: sleep 30; touch "$RUNNER_TEMP/finished"
      - run: echo "never"
  slow-step:
    runs-on: ubuntu-24.04
    steps:
      - timeout-minutes: 0.02
        run: sleep 30
`,
    );
    const run = await executor.run(file, push);
    expect(run.job('slow-job').result).toBe('failure');
    expect(run.job('slow-job').error).toMatch(/maximum execution time of 0.02 minutes/);
    expect(run.job('slow-job').steps.map((step) => step.conclusion)).toEqual(['cancelled', 'skipped']);
    expect(run.job('slow-step').result).toBe('failure');
    expect(run.job('slow-step').steps[0]?.log).toMatch(/exceeded its timeout/);
  });
});

describe('steps', () => {
  test('GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY reach the later steps and the job', async () => {
    const file = await workflow(
      'files.yml',
      `on: push
env:
  LEVEL: workflow
jobs:
  files:
    runs-on: ubuntu-24.04
    env:
      JOB_LEVEL: job-\${{ github.event_name }}
    defaults:
      run:
        working-directory: sub
    steps:
      - working-directory: .
        run: |
          mkdir -p sub "$RUNNER_TEMP/bin"
          printf '#!/bin/sh\\necho tool-ran\\n' > "$RUNNER_TEMP/bin/local-tool"
          chmod +x "$RUNNER_TEMP/bin/local-tool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          { echo 'NOTE<<EOF'; echo 'two'; echo 'lines'; echo 'EOF'; } >> "$GITHUB_ENV"
          echo '### first step' >> "$GITHUB_STEP_SUMMARY"
      - shell: bash
        run: |
          local-tool
          echo "$NOTE|$LEVEL|$JOB_LEVEL|$(basename "$PWD")"
          echo '| a | b |' >> "$GITHUB_STEP_SUMMARY"
`,
    );
    const run = await executor.run(file, push);
    expect(run.conclusion).toBe('success');
    expect(run.job('files').steps[1]?.log).toContain('tool-ran\ntwo\nlines|workflow|job-push|sub');
    expect(run.job('files').summary).toBe('### first step\n| a | b |\n');
  });

  test('our actions run from their bundles with the runner input names, state and post step, and secrets masked', async () => {
    const file = await workflow(
      'action.yml',
      `on: push
jobs:
  echo:
    runs-on: ubuntu-24.04
    steps:
      - id: echo
        uses: digestline/actions/echo@main
        with:
          message: hi
          repeat: 2
          with-hyphen: dashed
          password: \${{ secrets.API_KEY }}
      - env:
          ECHOED: \${{ steps.echo.outputs.echoed }}
          HYPHEN: \${{ steps.echo.outputs.with-hyphen }}
        run: echo "$ECHOED $HYPHEN and $API"
`,
    );
    const run = await executor.run(file, push);
    expect(run.conclusion).toBe('success');
    const [main, reader, post] = run.job('echo').steps;
    expect(main?.outputs).toMatchObject({ echoed: 'hihi', 'with-hyphen': 'dashed' });
    expect(main?.log).not.toContain('key-f00d-cafe');
    expect(reader?.log).toContain('hihi dashed');
    expect(post?.post).toBe(true);
    expect(post?.outputs['post-saw']).toBe('hihi');
  });

  test('checkout copies the repository at the event commit without leaving the token behind', async () => {
    const file = await workflow(
      'checkout.yml',
      `on: push
jobs:
  read:
    runs-on: ubuntu-24.04
    steps:
      - uses: ${CHECKOUT} # v5.0.0
        with:
          persist-credentials: false
      - run: |
          cat README.md
          git config --get-regexp extraheader || echo "no credentials"
`,
    );
    const first = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], {
      cwd: repository,
      encoding: 'utf8',
    }).trim();
    const run = await executor.run(file, { name: 'push', sha: first });
    expect(run.job('read').steps[1]?.log).toBe('first\nno credentials\n');
  });

  test('a uses: this executor does not run is an error naming the step, before anything runs', async () => {
    const unknown = await workflow(
      'unknown.yml',
      `on: push
jobs:
  py:
    runs-on: ubuntu-24.04
    steps:
      - run: touch "${temp.path}/ran"
      - name: Set up Python
        uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065
`,
    );
    await expect(executor.run(unknown, push)).rejects.toThrow(
      /job py, step Set up Python: uses actions\/setup-python@a26af69.*which this executor does not run/,
    );
    expect(existsSync(join(temp.path, 'ran'))).toBe(false);
    const drifted = await workflow(
      'drifted.yml',
      `on: push
jobs:
  co:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
`,
    );
    await expect(executor.run(drifted, push)).rejects.toThrow(
      /uses actions\/checkout@v4; the stand-in is for actions\/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 \(v5\.0\.0\)/,
    );
  });
});

describe('reusable workflows and events', () => {
  test('workflow_call passes typed inputs, named secrets and outputs; the caller sees them', async () => {
    await workflow(
      'callee.yml',
      `on:
  workflow_call:
    inputs:
      count: {type: number, default: 2}
      loud: {type: boolean, default: false}
      word: {type: string, required: true}
    secrets:
      TOKEN: {required: true}
    outputs:
      said:
        description: what was said
        value: \${{ jobs.say.outputs.said }}
permissions: {}
jobs:
  say:
    runs-on: ubuntu-24.04
    outputs:
      said: \${{ steps.say.outputs.said }}
    steps:
      - id: say
        env:
          WORD: \${{ inputs.loud && format('{0}!', inputs.word) || inputs.word }}
          COUNT: \${{ inputs.count == 2 && 'two' || inputs.count }}
          TOKEN: \${{ secrets.TOKEN }}
          LEAK: \${{ secrets.API_KEY }}
        run: |
          echo "token is $TOKEN, leak is [$LEAK]"
          echo "said=$WORD x$COUNT" >> "$GITHUB_OUTPUT"
`,
    );
    const caller = await workflow(
      'caller.yml',
      `on: push
permissions: {}
jobs:
  call:
    uses: digestline/actions/.github/workflows/callee.yml@main
    with:
      word: hello
      loud: true
    secrets:
      TOKEN: \${{ secrets.API_KEY }}
  after:
    needs: call
    runs-on: ubuntu-24.04
    steps:
      - env:
          SAID: \${{ needs.call.outputs.said }}
        run: echo "$SAID"
`,
    );
    const run = await executor.run(caller, push);
    expect(run.conclusion).toBe('success');
    expect(run.job('call').outputs).toEqual({ said: 'hello! xtwo' });
    expect(run.job('call/say').steps[0]?.log).toBe('token is ***, leak is []\n');
    expect(run.job('after').steps[0]?.log).toBe('hello! xtwo\n');

    const missing = await workflow(
      'caller-missing.yml',
      `on: push
permissions: {}
jobs:
  call:
    uses: digestline/actions/.github/workflows/callee.yml@main
    secrets:
      TOKEN: x
`,
    );
    const failed = await executor.run(missing, push);
    expect(failed.job('call').error).toMatch(/required input word was not given/);
  });

  test('workflow_dispatch types its inputs and refuses inputs it does not declare', async () => {
    const file = await workflow(
      'dispatch.yml',
      `on:
  workflow_dispatch:
    inputs:
      env:
        type: choice
        options: [staging, production]
        required: true
      dry:
        type: boolean
        default: true
jobs:
  show:
    runs-on: ubuntu-24.04
    steps:
      - env:
          ENV: \${{ inputs.env }}
          DRY: \${{ inputs.dry == true }}
          RAW: \${{ github.event.inputs.dry }}
        run: echo "$ENV $DRY $RAW"
`,
    );
    const run = await executor.run(file, {
      name: 'workflow_dispatch',
      inputs: { env: 'staging', dry: false },
    });
    expect(run.job('show').steps[0]?.log).toBe('staging false false\n');
    await expect(executor.run(file, { name: 'workflow_dispatch', inputs: { env: 'qa' } })).rejects.toThrow(
      /input env must be one of staging, production/,
    );
    await expect(
      executor.run(file, { name: 'workflow_dispatch', inputs: { env: 'staging', target: 'x' } }),
    ).rejects.toThrow(/unexpected inputs provided: target/);
    await expect(executor.run(file, push)).rejects.toThrow(/does not run on push/);
  });
});

describe('environments, concurrency and permissions', () => {
  test('an environment waits for its approval; a rejection stops the job and what needs it, and records who decided', async () => {
    const file = await workflow(
      'deploy.yml',
      `on: push
jobs:
  staging:
    runs-on: ubuntu-24.04
    environment: staging
    steps:
      - env:
          URL: \${{ secrets.DATABASE_URL }}
        run: echo "staging sees [$URL]"
  production:
    needs: staging
    runs-on: ubuntu-24.04
    environment:
      name: production
    steps:
      - run: touch "${temp.path}/deployed"
  announce:
    needs: production
    runs-on: ubuntu-24.04
    steps:
      - run: echo announced
`,
    );
    decide = (request) => ({ approved: request.environment === 'staging', reviewer: 'release-manager' });
    const run = await executor.run(file, push);
    decide = () => ({ approved: true, reviewer: 'octocat' });
    expect(
      run.approvals.map(({ environment, job, approved, reviewer }) => ({
        environment,
        job,
        approved,
        reviewer,
      })),
    ).toEqual([
      { environment: 'staging', job: 'staging', approved: true, reviewer: 'release-manager' },
      { environment: 'production', job: 'production', approved: false, reviewer: 'release-manager' },
    ]);
    expect(run.job('staging').steps[0]?.log).toBe('staging sees []\n');
    expect(run.job('production').result).toBe('failure');
    expect(run.job('production').error).toBe('the deployment to production was rejected by release-manager');
    expect(run.job('production').steps).toEqual([]);
    expect(existsSync(join(temp.path, 'deployed'))).toBe(false);
    expect(run.job('announce').result).toBe('skipped');

    decide = () => ({ approved: true, reviewer: 'octocat' });
    const approved = await executor.run(
      await workflow(
        'prod-secret.yml',
        `on: push
jobs:
  production:
    runs-on: ubuntu-24.04
    environment: production
    steps:
      - env:
          URL: \${{ secrets.DATABASE_URL }}
        run: test "$URL" = "postgres://prod-secret@db/app" && echo "has the production secret"
`,
      ),
      push,
    );
    expect(approved.job('production').steps[0]?.log).toBe('has the production secret\n');
  });

  test('two runs in one concurrency group run one after the other', async () => {
    const gate = join(temp.path, 'gate');
    const order = join(temp.path, 'order');
    const file = await workflow(
      'serial.yml',
      `on: push
jobs:
  deploy:
    runs-on: ubuntu-24.04
    concurrency:
      group: digestline-environment-staging
      cancel-in-progress: false
    steps:
      - env:
          WHO: \${{ github.run_id }}
        run: |
          echo "start $WHO" >> "${order}"
          for _ in $(seq 1 200); do [ -e "${gate}" ] && break; sleep 0.05; done
          echo "end $WHO" >> "${order}"
`,
    );
    const first = executor.run(file, push);
    const waiting = progressSeen(
      progress,
      (event) => event.type === 'waiting-for-concurrency' && event.group === 'digestline-environment-staging',
    );
    const second = executor.run(file, push);
    await waiting;
    const before = existsSync(order) ? await readFile(order, 'utf8') : '';
    expect(before.split('\n').filter((line) => line.startsWith('start')).length).toBeLessThanOrEqual(1);
    await writeFile(gate, '');
    const runs = await Promise.all([first, second]);
    await expectSerialized(order, runs);
  });

  test("the API refuses a call the job's token was not granted, and a called workflow cannot ask for more than its caller", async () => {
    github.on('issues/create', { status: 201, body: issue(1, { title: 'x' }) });
    const file = await workflow(
      'issues.yml',
      `on: push
permissions: {}
jobs:
  reader:
    runs-on: ubuntu-24.04
    permissions:
      issues: read
    steps:
      - run: |
          curl -s -o /dev/null -w '%{http_code}\\n' -X POST -H "Authorization: token $TOKEN" \\
            -d '{"title":"x"}' "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/issues"
        env:
          TOKEN: \${{ github.token }}
  writer:
    runs-on: ubuntu-24.04
    permissions:
      issues: write
    steps:
      - run: |
          curl -s -o /dev/null -w '%{http_code}\\n' -X POST -H "Authorization: token $TOKEN" \\
            -d '{"title":"x"}' "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/issues"
        env:
          TOKEN: \${{ secrets.GITHUB_TOKEN }}
`,
    );
    const run = await executor.run(file, push);
    expect(run.job('reader').steps[0]?.log).toBe('403\n');
    expect(run.job('writer').steps[0]?.log).toBe('201\n');
    expect(executor.refusals.filter((refusal) => refusal.job === 'reader')).toEqual([
      {
        job: 'reader',
        method: 'POST',
        path: '/repos/octo-org/app/issues',
        reason: 'needs issues: write, the job grants read',
      },
    ]);
    expect(github.requests.filter((request) => request.operationId === 'issues/create')).toHaveLength(1);
    github.assertDone();

    await workflow(
      'greedy.yml',
      `on: workflow_call
jobs:
  sign:
    runs-on: ubuntu-24.04
    permissions:
      id-token: write
    steps:
      - run: echo
`,
    );
    const caller = await workflow(
      'stingy.yml',
      `on: push
permissions: {}
jobs:
  call:
    permissions:
      contents: read
    uses: digestline/actions/.github/workflows/greedy.yml@main
`,
    );
    await expect(executor.run(caller, push)).rejects.toThrow(WorkflowError);
    await expect(executor.run(caller, push)).rejects.toThrow(
      /the nested job 'sign' is requesting 'id-token: write', but is only allowed 'id-token: none'/,
    );
  });
});
