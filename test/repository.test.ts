import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoRoot } from '@digestline/local';
import { expect, test } from '@jest/globals';

/** `git grep` over the tracked files; exit 1 means no match. */
function gitGrep(args: string[]): string[] {
  try {
    return execFileSync('git', ['grep', '-n', ...args], { cwd: repoRoot, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line !== '');
  } catch (error) {
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}

test('no tracked file refers to a folder beside the checkout', () => {
  // A clone has nothing beside it: tests read test/corpus, the rules of the house live in docs/.
  const outside = ['..', 'shared'].join('/');
  expect(gitGrep(['-F', outside, '--', '.', ':!pnpm-lock.yaml'])).toEqual([]);
});

test('no product file imports from test/', () => {
  const importsTest = /from\s+'[^']*\btest\/|import\(\s*'[^']*\btest\//;
  const product = execFileSync('git', ['ls-files', 'packages/*/src/**', 'actions/*/src/**', 'scripts/**'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((path) => /\.(ts|mjs|js)$/.test(path));
  expect(product.length).toBeGreaterThan(20);
  const offenders = product.filter((path) => importsTest.test(readFileSync(`${repoRoot}/${path}`, 'utf8')));
  expect(offenders).toEqual([]);
});
