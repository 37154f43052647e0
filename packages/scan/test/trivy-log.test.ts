// What runTrivy tells the log about its vulnerability database: downloaded, restored, or no cache here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { type DatabaseCache, type Exec, runTrivy } from '../src/index.js';

const now = new Date('2026-06-15T12:00:00Z');
const today = 'digestline-trivy-db-linux-2026-06-15';
const settingsDir = mkdtempSync(join(tmpdir(), 'trivy-log-'));
afterAll(() => rmSync(settingsDir, { recursive: true, force: true }));
const scan = {
  image: 'alpine:3.10',
  output: '/tmp/report.json',
  cacheDir: '/tmp/trivy',
  os: 'Linux',
  now,
  settingsDir,
};
const trivyOk: Exec = async () => ({ exitCode: 0, stdout: '', stderr: '' });

function cacheHolding(key: string | undefined, available = true): DatabaseCache {
  return { available: () => available, restore: async () => key, save: async () => {} };
}

async function logged(cache: DatabaseCache | undefined): Promise<string[]> {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m), warning: () => {}, debug: () => {} };
  await runTrivy(trivyOk, cache, scan, log);
  return lines;
}

test.each([
  [`Trivy database: downloaded, saved as ${today}.`, cacheHolding(undefined)],
  [
    `Trivy database: restored from digestline-trivy-db-linux-2026-06-14, saved as ${today}.`,
    cacheHolding('digestline-trivy-db-linux-2026-06-14'),
  ],
  [`Trivy database: restored from ${today}.`, cacheHolding(today)],
  ['Trivy database: the cache service is not available here.', cacheHolding(undefined, false)],
  ['Trivy database: not cached by this step, updated by Trivy.', undefined],
])('logs "%s"', async (line, cache) => {
  expect(await logged(cache)).toEqual([line]);
});
