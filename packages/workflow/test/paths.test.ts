import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { WorkflowError, WorkflowExecutor } from '@digestline/workflow';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

let temp: { path: string; remove(): Promise<void> };
let executor: WorkflowExecutor;
let repository: string;
let workflows: string;

const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd: repository,
    encoding: 'utf8',
  }).trim();

/** Commits `files` (path → content) and returns the commit. */
async function commit(files: Record<string, string>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(repository, path, '..'), { recursive: true });
    await writeFile(join(repository, path), content);
  }
  git('add', '-A');
  git('commit', '--quiet', '-m', Object.keys(files).join(' '));
  return git('rev-parse', 'HEAD');
}

async function workflow(name: string, text: string): Promise<string> {
  const file = join(workflows, name);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  temp = await makeTempDir('workflow-paths');
  repository = join(temp.path, 'repository');
  workflows = join(temp.path, 'workflows');
  await mkdir(repository);
  await mkdir(workflows);
  git('init', '--quiet', '--initial-branch=main');
  await commit({ 'README.md': 'app\n' });
  executor = await WorkflowExecutor.start({ repository: { name: 'octo-org/app', path: repository } });
}, 60_000);

afterAll(async () => {
  await executor?.close();
  await temp?.remove();
});

const job = 'jobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ran\n';

describe('paths filters', () => {
  test('a push starts the workflow only when a changed file matches paths, a later !pattern taking it back', async () => {
    const file = await workflow(
      'deps.yml',
      `on:\n  push:\n    branches: [main]\n    paths:\n      - "**/package.json"\n      - "!examples/**"\n${job}`,
    );
    const readme = await commit({ 'README.md': 'changed\n' });
    await expect(executor.run(file, { name: 'push', sha: readme })).rejects.toThrow(
      /deps\.yml does not run on push: none of the changed files \(README\.md\) passes its paths filters/,
    );
    const example = await commit({ 'examples/demo/package.json': '{}\n' });
    await expect(executor.run(file, { name: 'push', sha: example })).rejects.toThrow(WorkflowError);
    const root = await commit({ 'package.json': '{}\n' });
    expect((await executor.run(file, { name: 'push', sha: root })).conclusion).toBe('success');
    // `before` widens the push to every commit since then.
    const nested = await commit({ 'docs/guide.md': 'guide\n' });
    await expect(executor.run(file, { name: 'push', sha: nested })).rejects.toThrow(WorkflowError);
    const run = await executor.run(file, { name: 'push', sha: nested, payload: { before: readme } });
    expect(run.conclusion).toBe('success');
  });

  test('paths-ignore skips a push or pull request that changes only ignored files', async () => {
    const file = await workflow(
      'code.yml',
      `on:\n  pull_request:\n    paths-ignore: ["docs/**", "*.md"]\n${job}`,
    );
    const base = git('rev-parse', 'HEAD');
    const docs = await commit({ 'docs/more.md': 'more\n', 'CHANGELOG.md': 'one\n' });
    const pr = (sha: string) => ({
      name: 'pull_request',
      sha,
      payload: { pull_request: { base: { ref: 'main', sha: base }, head: { ref: 'x', sha } } },
    });
    await expect(executor.run(file, pr(docs))).rejects.toThrow(/code\.yml does not run on pull_request/);
    const code = await commit({ 'src/app.ts': 'export {};\n' });
    expect((await executor.run(file, pr(code))).conclusion).toBe('success');
  });
});
