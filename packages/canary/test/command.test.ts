import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { CommandProvider } from '../src/index.js';

let dir: { path: string; remove(): Promise<void> };
beforeEach(async () => {
  dir = await makeTempDir('canary-command');
});
afterEach(async () => {
  await dir.remove();
});

const digest = `sha256:${'a'.repeat(64)}`;
const previousDigest = `sha256:${'b'.repeat(64)}`;

test('passes DIGEST, WEIGHT and PREVIOUS_DIGEST to each command as environment variables', async () => {
  const record = (what: string) => `echo "${what} $DIGEST $WEIGHT $PREVIOUS_DIGEST" >> calls.txt`;
  const provider = new CommandProvider(
    {
      deploy: record('deploy'),
      setWeight: record('weight'),
      promote: record('promote'),
      rollback: record('rollback'),
      cwd: dir.path,
    },
    { digest, previousDigest },
  );
  await provider.deploy(5);
  await provider.setWeight(25);
  await provider.promote();
  await provider.rollback();
  expect((await readFile(join(dir.path, 'calls.txt'), 'utf8')).trim().split('\n')).toEqual([
    `deploy ${digest} 5 ${previousDigest}`,
    `weight ${digest} 25 ${previousDigest}`,
    `promote ${digest} 100 ${previousDigest}`,
    `rollback ${digest} 0 ${previousDigest}`,
  ]);
});

test('a value holding shell syntax reaches the command as text and runs nothing', async () => {
  const marker = join(dir.path, 'x');
  const hostile = `$(touch ${marker})\`touch ${marker}\`; touch ${marker}`;
  const provider = new CommandProvider(
    {
      deploy: 'printf %s "$DIGEST" > seen.txt',
      rollback: 'printf %s "$PREVIOUS_DIGEST" > seen-previous.txt',
      cwd: dir.path,
    },
    { digest: hostile, previousDigest: hostile },
  );
  await provider.deploy(5);
  await provider.rollback();
  expect(await readFile(join(dir.path, 'seen.txt'), 'utf8')).toBe(hostile);
  expect(await readFile(join(dir.path, 'seen-previous.txt'), 'utf8')).toBe(hostile);
  expect(existsSync(marker)).toBe(false);
});

test('a failing command rejects with its exit code and the end of its output', async () => {
  const provider = new CommandProvider(
    { deploy: 'echo "kubectl: forbidden" >&2; exit 3', rollback: 'true' },
    { digest },
  );
  await expect(provider.deploy(5)).rejects.toThrow(
    /the deploy command failed with exit code 3; its output ended with: kubectl: forbidden/,
  );
});

test('set-weight and promote are optional', async () => {
  const provider = new CommandProvider({ deploy: 'true', rollback: 'true' }, { digest });
  await expect(provider.setWeight(50)).resolves.toBeUndefined();
  await expect(provider.promote()).resolves.toBeUndefined();
});
