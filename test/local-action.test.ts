// GitHub's @github/local-action runs each action from src/main.ts (its exported `run`), with the inputs in
// a .env file. These tests start the real CLI as a child process, as the READMEs' "Debug locally" says.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { publishedActions } from '../scripts/lib/actions.mjs';
import { corpusPath } from './harness/corpus.js';
import { codeBlocks, type ProcessResult, runLocalAction } from './harness/local-action.js';

const report = corpusPath('trivy/trivy-image-alpine-310.json'); // 4 MEDIUM findings, nothing else
const counts = { critical: 0, high: 0, medium: 4, low: 0, unknown: 0 };
const scanGateOutputs = Object.keys(
  (parseYaml(readFileSync(join(repoRoot, 'actions/scan-gate/action.yml'), 'utf8')) as { outputs: object })
    .outputs,
);

describe('@github/local-action runs scan-gate from src/main.ts', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let runs: Record<'defaults' | 'threshold' | 'readme' | 'post', ProcessResult>;

  beforeAll(async () => {
    temp = await makeTempDir('local-action');
    const dotenv = async (name: string, lines: string[]) => {
      const file = join(temp.path, `${name}.env`);
      await writeFile(file, `${lines.join('\n')}\n`);
      return file;
    };
    const sarif = (name: string) => `INPUT_SARIF=${join(temp.path, `${name}.sarif`)}`;
    // The README's own .env block, with the SARIF written into this test's directory instead of /tmp.
    const readme = readFileSync(join(repoRoot, 'actions/scan-gate/README.md'), 'utf8');
    const readmeEnv = codeBlocks(readme).find((b) => b.lang === 'dotenv')?.code ?? '';
    const files = {
      defaults: await dotenv('defaults', [`INPUT_REPORTS=${report}`, sarif('defaults')]),
      threshold: await dotenv('threshold', [
        `INPUT_REPORTS=${report}`,
        'INPUT_SEVERITY-THRESHOLD=medium',
        sarif('threshold'),
      ]),
      readme: await dotenv('readme', [
        readmeEnv.replace('/tmp/scan-gate.sarif', join(temp.path, 'readme.sarif')),
      ]),
      post: await dotenv('post', ['INPUT_MESSAGE=ab', 'STATE_isPost=true', 'STATE_echoed=saved by main']),
    };
    // In parallel: each run starts tsx and compiles the action from source (a few seconds each).
    const [defaults, threshold, readmeRun, post] = await Promise.all([
      runLocalAction('actions/scan-gate', 'src/main.ts', files.defaults),
      runLocalAction('actions/scan-gate', 'src/main.ts', files.threshold),
      runLocalAction('actions/scan-gate', 'src/main.ts', files.readme),
      runLocalAction('test/fixtures/actions/echo', 'src/main.ts', files.post),
    ]);
    runs = { defaults, threshold, readme: readmeRun, post } as typeof runs;
  }, 120_000);
  afterAll(() => temp?.remove());

  test('on defaults it prints the outputs action.yml defines: 4 medium findings, none blocking at high', () => {
    const { exitCode, outputs, errors, stdout } = runs.defaults;
    expect(errors).toEqual([]);
    expect(Object.keys(outputs).sort()).toEqual([...scanGateOutputs].sort());
    expect(outputs.passed).toBe('true');
    expect(outputs.blocking).toBe('0');
    expect(JSON.parse(outputs.counts as string)).toEqual(counts);
    expect(outputs.sarif).toBe(join(temp.path, 'defaults.sarif'));
    expect(stdout).toContain('Read 1 report(s): 4 findings after merging, 0 blocking.');
    expect(exitCode).toBe(0);
  });

  test('severity-threshold: medium (a hyphenated input, from the .env) fails the gate through setFailed, exit 1', () => {
    const { exitCode, outputs, errors, stdout } = runs.threshold;
    expect(outputs.passed).toBe('false');
    expect(outputs.blocking).toBe('4');
    expect(JSON.parse(outputs.counts as string)).toEqual(counts);
    expect(errors).toEqual([
      'scan-gate found 4 blocking finding(s) (4 medium) at threshold medium: fix them, or waive each with a reason and an expiry date in the policy file.',
    ]);
    // The error went through action-kit's run (setFailed), not out of run() as an uncaught exception:
    // local-action got to print its closing section, and no bare stack trace was thrown.
    expect(stdout).toContain('Action Outputs');
    expect(`${stdout}${runs.threshold.stderr}`).not.toMatch(/^Error: scan-gate found/m);
    expect(exitCode).toBe(1);
  });

  test("the README's .env example runs as documented: blocking at medium, reported only (fail-on: never)", () => {
    const { exitCode, outputs, errors } = runs.readme;
    expect(errors).toEqual([]);
    expect(outputs.passed).toBe('false');
    expect(outputs.blocking).toBe('4');
    expect(exitCode).toBe(0);
  });

  test('STATE_isPost=true in the .env runs the post step with the saved state, as the runner does', () => {
    const { exitCode, outputs, errors } = runs.post;
    expect(errors).toEqual([]);
    expect(outputs).toEqual({ 'post-saw': 'saved by main' });
    expect(exitCode).toBe(0);
  });
});

describe('every action follows the local-action convention', () => {
  test.each(publishedActions().map((a) => [a.name]))('%s: src/main.ts exports run()', async (name) => {
    const main = (await import(join(repoRoot, 'actions', name, 'src/main.ts'))) as { run?: unknown };
    expect(typeof main.run).toBe('function');
  });

  test.each(publishedActions().map((a) => [a.name]))(
    '%s: the README says how to debug it locally',
    (name) => {
      const readme = readFileSync(join(repoRoot, 'actions', name, 'README.md'), 'utf8');
      const debug = readme.slice(readme.indexOf('## Debug locally'));
      expect(readme).toContain('## Debug locally');
      expect(codeBlocks(debug).map((b) => b.code.trim())).toContain(
        `npx @github/local-action run actions/${name} src/main.ts .env`,
      );
      expect(codeBlocks(debug).find((b) => b.lang === 'dotenv')?.code).toMatch(
        /^INPUT_[A-Z0-9]+-[A-Z0-9-]+=/m,
      );
    },
  );
});
