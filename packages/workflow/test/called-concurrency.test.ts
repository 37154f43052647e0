import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { type Progress, WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectSerialized, gitRepository, progressSeen } from './repository.js';

let temp: { path: string; remove(): Promise<void> };
let executor: WorkflowExecutor;
let workflows: string;
const progress: Progress[] = [];

async function workflow(name: string, text: string): Promise<string> {
  const file = join(workflows, name);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  temp = await makeTempDir('workflow-called-concurrency');
  workflows = join(temp.path, 'workflows');
  const repository = join(temp.path, 'repository');
  await mkdir(workflows);
  await gitRepository(repository);
  executor = await WorkflowExecutor.start({
    repository: { name: 'octo-org/app', path: repository },
    workflowsDir: workflows,
    progress: (event) => progress.push(event),
  });
}, 60_000);

afterAll(async () => {
  await executor?.close();
  await temp?.remove();
});

const push = { name: 'push' };

describe('concurrency of a called workflow', () => {
  test("two runs calling a workflow with a workflow-level group run the callee's jobs one after the other", async () => {
    const gate = join(temp.path, 'gate');
    const order = join(temp.path, 'order');
    await workflow(
      'release.yml',
      `on:
  workflow_call:
    inputs:
      environment: {type: string, required: true}
concurrency:
  group: release-\${{ inputs.environment }}
  cancel-in-progress: false
jobs:
  switch:
    runs-on: ubuntu-24.04
    steps:
      - env:
          WHO: \${{ github.run_id }}
        run: |
          echo "start $WHO" >> "${order}"
          for _ in $(seq 1 200); do [ -e "${gate}" ] && break; sleep 0.05; done
          echo "end $WHO" >> "${order}"
`,
    );
    const caller = await workflow(
      'caller.yml',
      `on: push
jobs:
  release:
    uses: digestline/actions/.github/workflows/release.yml@main
    with:
      environment: production
`,
    );
    const first = executor.run(caller, push);
    const waiting = progressSeen(
      progress,
      (event) =>
        event.type === 'waiting-for-concurrency' &&
        event.group === 'release-production' &&
        event.job === 'release',
    );
    const second = executor.run(caller, push);
    await waiting;
    const before = existsSync(order) ? await readFile(order, 'utf8') : '';
    expect(before.split('\n').filter((line) => line.startsWith('start')).length).toBeLessThanOrEqual(1);
    await writeFile(gate, '');
    const runs = await Promise.all([first, second]);
    expect(runs.map((run) => run.conclusion)).toEqual(['success', 'success']);
    await expectSerialized(order, runs);
  });

  test('a called workflow asking for the group its caller holds is cancelled as a deadlock, as on GitHub', async () => {
    await workflow(
      'locked.yml',
      `on: workflow_call
concurrency:
  group: deploy-production
jobs:
  deploy:
    runs-on: ubuntu-24.04
    steps:
      - run: echo deployed
`,
    );
    const caller = await workflow(
      'locking-caller.yml',
      `on: push
concurrency:
  group: deploy-production
jobs:
  deploy:
    uses: digestline/actions/.github/workflows/locked.yml@main
`,
    );
    const run = await executor.run(caller, push);
    expect(run.conclusion).toBe('failure');
    expect(run.job('deploy').error).toBe(
      "Canceling since a deadlock was detected for concurrency group: 'deploy-production' between a top level workflow and 'deploy'",
    );
    expect(run.jobs.map((job) => job.key)).toEqual(['deploy']);
    // The group is free again for the next run.
    const again = await executor.run(
      await workflow(
        'plain.yml',
        'on: push\nconcurrency: deploy-production\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ok\n',
      ),
      push,
    );
    expect(again.conclusion).toBe('success');
  });
});
