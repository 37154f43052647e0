import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, node24, parseAnnotations, repoRoot } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { publishedActions } from '../scripts/lib/actions.mjs';
import { stampUses } from '../scripts/lib/stamp.mjs';

const run = promisify(execFile);
const release = join(repoRoot, 'scripts/release');

function treeHashes(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    hashes[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return hashes;
}

/** Every `uses:` value in a workflow, wherever it stands (jobs and steps). */
function usesOf(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(usesOf);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === 'uses' && typeof value === 'string' ? [value] : usesOf(value),
  );
}

describe('scripts/release', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let tree: string;
  const actions = publishedActions();

  beforeAll(async () => {
    temp = await makeTempDir('release');
    tree = join(temp.path, 'tree');
    await run(release, ['v1.2.3', '--out', tree, '--include', 'test/fixtures/actions/echo'], {
      cwd: repoRoot,
    });
  }, 900_000);
  afterAll(() => temp?.remove());

  test('lays out <name>/action.yml and <name>/dist for every action, and no sources', () => {
    const files = Object.keys(treeHashes(tree));
    for (const name of [...actions.map((a) => a.name), 'echo']) {
      expect(files).toEqual(
        expect.arrayContaining([`${name}/action.yml`, `${name}/README.md`, `${name}/dist/index.js`]),
      );
    }
    expect(
      files.filter((f) => f.includes('/src/') || f.includes('node_modules') || f.endsWith('.ts')),
    ).toEqual([]);
  });

  test('bundles are byte-identical to a separate build of the same sources (run `pnpm build` first)', () => {
    for (const action of actions) {
      const built = join(action.dir, 'dist');
      expect(existsSync(built)).toBe(true);
      expect({ action: action.name, files: treeHashes(join(tree, action.name, 'dist')) }).toEqual({
        action: action.name,
        files: treeHashes(built),
      });
    }
  });

  test('every internal uses: in the released workflows is stamped and resolves inside the tree', () => {
    const workflows = join(tree, '.github', 'workflows');
    const internal = readdirSync(workflows)
      .filter((f) => f.endsWith('.yml'))
      .flatMap((f) => usesOf(parseYaml(readFileSync(join(workflows, f), 'utf8'))))
      .filter((uses) => uses.startsWith('digestline/actions/'));
    expect(internal.length).toBeGreaterThan(0);
    for (const uses of internal) {
      const [path, ref] = uses.slice('digestline/actions/'.length).split('@') as [string, string];
      expect({ uses, ref }).toEqual({ uses, ref: 'v1.2.3' });
      const target = path.endsWith('.yml') ? join(tree, path) : join(tree, path, 'action.yml');
      expect({ uses, resolves: existsSync(target) }).toEqual({ uses, resolves: true });
    }
  });

  test('the released bundles run from the tree under Node 24', async () => {
    const echo = await run(node24, [join(tree, 'echo/dist/index.js')], {
      env: { PATH: process.env.PATH, INPUT_MESSAGE: 'hi', INPUT_REPEAT: '2', INPUT_MODE: 'ok' },
    });
    expect(echo.stdout).toContain('::set-output name=echoed::hihi');
    // Without inputs every action must load and then stop with an error that names the input to set
    // (migration-check's path defaults to `migrations`, which the release tree does not have).
    for (const action of actions) {
      const result = await run(node24, [join(tree, action.name, 'dist/index.js')], {
        env: { PATH: process.env.PATH },
      }).catch((error: { code: number; stdout: string }) => error);
      expect({ action: action.name, exit: 'code' in result ? result.code : 0 }).toEqual({
        action: action.name,
        exit: 1,
      });
      const errors = parseAnnotations(result.stdout).filter((a) => a.level === 'error');
      expect({ action: action.name, message: errors[0]?.message }).toEqual({
        action: action.name,
        message: expect.stringMatching(/(?:[Ii]nput|point) "[a-z-]+"/),
      });
    }
  });

  test('refuses to run without a version, or with one that is not a release version', async () => {
    await expect(run(release, [], { cwd: repoRoot })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: scripts/release <version>'),
    });
    await expect(run(release, ['main'], { cwd: repoRoot })).rejects.toMatchObject({
      code: 2,
      stdout: expect.stringContaining('::error::version "main" is not a release version'),
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
