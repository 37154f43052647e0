import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import type { Progress, RunResult } from '../src/index.js';

/** A git repository at `path` with one commit of README.md (`content`): what checkout copies. */
export async function gitRepository(path: string, content = 'app\n'): Promise<(...args: string[]) => Buffer> {
  await mkdir(path, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd: path,
      stdio: 'pipe',
    });
  git('init', '--quiet', '--initial-branch=main');
  await writeFile(join(path, 'README.md'), content);
  git('add', '.');
  git('commit', '--quiet', '-m', content.trim());
  return git;
}

/** Resolves once the executor has reported an event that `matches`. */
export function progressSeen(progress: Progress[], matches: (event: Progress) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (progress.some(matches)) {
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
}

/**
 * Two runs whose jobs append `start <run>` and `end <run>` to `order` ran one after the other: the first
 * run's start and end come before the second's.
 */
export async function expectSerialized(order: string, runs: RunResult[]): Promise<void> {
  const lines = (await readFile(order, 'utf8')).trim().split('\n');
  const [one, two] = [lines[0]?.split(' ')[1], lines[2]?.split(' ')[1]];
  expect(new Set([one, two])).toEqual(new Set(runs.map((run) => String(run.id))));
  expect(lines).toEqual([`start ${one}`, `end ${one}`, `start ${two}`, `end ${two}`]);
}
