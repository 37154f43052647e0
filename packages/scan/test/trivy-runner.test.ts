// The Trivy runner against a stand-in executable (Trivy itself cannot be installed on these machines):
// the command line, the daily cache keys, and what Trivy's exit codes and output turn into.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type DatabaseCache,
  type Exec,
  readReportFile,
  runTrivy,
  TrivyError,
  trivyArgs,
  trivyCacheKeys,
} from '../src/index.js';
import { corpus } from './corpus.js';
import { runProcess } from './process.js';
import { writeStandIn } from './standin.js';

let temp: { path: string; remove(): Promise<void> };
let standIn: string;

beforeAll(async () => {
  temp = await makeTempDir('trivy-standin');
  standIn = await writeStandIn(temp.path);
});
afterAll(() => temp.remove());

/** Runs the stand-in in place of `trivy`, in the mode given. */
const execAs =
  (mode: string): Exec =>
  (_command, args, { cwd }) =>
    runProcess(standIn, args, {
      cwd,
      env: {
        STANDIN_MODE: mode,
        STANDIN_ARGS: join(temp.path, 'args'),
        STANDIN_REPORT: corpus('trivy/trivy-image-alpine-310.json'),
      },
    });

/** A cache that keeps keys in memory and remembers what was asked of it. */
function memoryCache(stored: string[] = []): DatabaseCache & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    available: () => true,
    async restore(_paths, key, restoreKeys) {
      calls.push(`restore ${key} [${restoreKeys.join(', ')}]`);
      return stored.includes(key)
        ? key
        : [...stored].reverse().find((k) => restoreKeys.some((p) => k.startsWith(p)));
    },
    async save(paths, key) {
      calls.push(`save ${key} ${paths.join(',')}`);
    },
  };
}

const NOW = new Date('2026-06-15T23:30:00Z');
const scan = (overrides = {}) => ({
  image: 'registry.example/app@sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a',
  output: join(temp.path, 'trivy.json'),
  cacheDir: '/home/runner/.cache/trivy',
  os: 'Linux',
  now: NOW,
  settingsDir: join(temp.path, 'settings'),
  ...overrides,
});

describe('command line', () => {
  test('an image scan asks for JSON, our cache directory, and exit code 0 whatever is found', () => {
    expect(trivyArgs(scan())).toEqual([
      'image',
      '--format',
      'json',
      '--output',
      join(temp.path, 'trivy.json'),
      '--cache-dir',
      '/home/runner/.cache/trivy',
      '--exit-code',
      '0',
      '--config',
      join(temp.path, 'settings', 'trivy.yaml'),
      '--ignorefile',
      join(temp.path, 'settings', 'trivyignore'),
      '--secret-config',
      join(temp.path, 'settings', 'trivy-secret.yaml'),
      '--scanners',
      'vuln,secret',
      'registry.example/app@sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a',
    ]);
  });

  test('a directory scan also looks for misconfigurations', () => {
    const args = trivyArgs(scan({ image: undefined, path: '/work/repo' }));
    expect(args[0]).toBe('fs');
    expect(args.slice(-3)).toEqual(['--scanners', 'vuln,secret,misconfig', '/work/repo']);
  });

  test('the stand-in receives exactly that command line', async () => {
    await runTrivy(execAs('ok'), memoryCache(), scan());
    const received = (await readFile(join(temp.path, 'args'), 'utf8')).trimEnd().split('\n');
    expect(received).toEqual(trivyArgs(scan()));
  });
});

describe('settings come from the policy, never from the scanned tree', () => {
  const flag = (args: string[], name: string) => args[args.indexOf(name) + 1] ?? '';

  test('Trivy runs outside the tree with an explicit, empty config, ignore file and secret config', async () => {
    const tree = await makeTempDir('trivy-tree');
    try {
      await writeFile(join(tree.path, '.trivyignore'), 'CVE-2019-1549\n');
      await writeFile(join(tree.path, 'trivy.yaml'), 'severity: [LOW]\n');
      await writeFile(join(tree.path, 'trivy-secret.yaml'), 'disable-rules: [private-key]\n');
      const settingsDir = join(temp.path, 'own-settings');
      await runTrivy(execAs('ok'), memoryCache(), scan({ image: undefined, path: tree.path, settingsDir }));
      const args = (await readFile(join(temp.path, 'args'), 'utf8')).trimEnd().split('\n');
      for (const [name, file] of [
        ['--config', 'trivy.yaml'],
        ['--ignorefile', 'trivyignore'],
        ['--secret-config', 'trivy-secret.yaml'],
      ] as const) {
        expect(flag(args, name)).toBe(join(settingsDir, file));
        // An empty mapping, not an empty file (which some Trivy builds refuse as a secret config).
        expect(await readFile(join(settingsDir, file), 'utf8')).toBe(file === 'trivyignore' ? '' : '{}\n');
      }
      expect((await readFile(join(temp.path, 'args.cwd'), 'utf8')).trim()).toBe(settingsDir);
    } finally {
      await tree.remove();
    }
  });

  test('the files the policy names are passed as they are', () => {
    const args = trivyArgs(
      scan({ settings: { config: '/work/repo/.github/trivy.yaml', ignoreFile: '/work/repo/.trivyignore' } }),
    );
    expect(flag(args, '--config')).toBe('/work/repo/.github/trivy.yaml');
    expect(flag(args, '--ignorefile')).toBe('/work/repo/.trivyignore');
    expect(flag(args, '--secret-config')).toBe(join(temp.path, 'settings', 'trivy-secret.yaml'));
  });
});

describe('database cache', () => {
  test('one key per UTC day and OS, restored by prefix from an earlier day', () => {
    expect(trivyCacheKeys('Linux', NOW)).toEqual({
      key: 'digestline-trivy-db-linux-2026-06-15',
      restoreKeys: ['digestline-trivy-db-linux-'],
    });
    expect(trivyCacheKeys('Linux', new Date('2026-06-16T00:00:01Z')).key).toBe(
      'digestline-trivy-db-linux-2026-06-16',
    );
  });

  test("yesterday's database is restored and today's saved: at most one download a day", async () => {
    const cache = memoryCache(['digestline-trivy-db-linux-2026-06-14']);
    const result = await runTrivy(execAs('ok'), cache, scan());
    expect(result).toMatchObject({ restoredFrom: 'digestline-trivy-db-linux-2026-06-14', saved: true });
    expect(cache.calls).toEqual([
      'restore digestline-trivy-db-linux-2026-06-15 [digestline-trivy-db-linux-]',
      'save digestline-trivy-db-linux-2026-06-15 /home/runner/.cache/trivy/db,/home/runner/.cache/trivy/java-db',
    ]);
  });

  test("today's database is used as it is and not saved again", async () => {
    const cache = memoryCache(['digestline-trivy-db-linux-2026-06-15']);
    await expect(runTrivy(execAs('ok'), cache, scan())).resolves.toMatchObject({ saved: false });
    expect(cache.calls).toHaveLength(1);
  });

  /** A cache directory holding Trivy's metadata for each database named, downloaded at the time given. */
  async function cacheDirWith(databases: Record<string, string>): Promise<string> {
    const dir = join(
      temp.path,
      `cache-${Object.values(databases)
        .join('-')
        .replace(/[^0-9]/g, '')}`,
    );
    for (const [name, downloadedAt] of Object.entries(databases)) {
      await mkdir(join(dir, name), { recursive: true });
      await writeFile(
        join(dir, name, 'metadata.json'),
        JSON.stringify({
          Version: 2,
          NextUpdate: '2026-06-15T06:00:00Z',
          UpdatedAt: downloadedAt,
          DownloadedAt: downloadedAt,
        }),
      );
    }
    return dir;
  }
  const received = async () => (await readFile(join(temp.path, 'args'), 'utf8')).trimEnd().split('\n');

  test("a database already restored today (by the workflow's actions/cache) is used as it is: Trivy is told not to update it, and the cache is not asked", async () => {
    const cacheDir = await cacheDirWith({ db: '2026-06-15T00:12:00Z', 'java-db': '2026-06-15T00:12:30Z' });
    const cache = memoryCache(['digestline-trivy-db-linux-2026-06-14']);
    const result = await runTrivy(execAs('ok'), cache, scan({ cacheDir }));
    expect(result).toMatchObject({
      skipped: { db: true, javaDb: true },
      restoredFrom: undefined,
      saved: false,
    });
    expect(cache.calls).toEqual([]);
    const args = await received();
    expect(args).toEqual(trivyArgs(scan({ cacheDir }), { db: true, javaDb: true }));
    expect(args).toContain('--skip-db-update');
    expect(args).toContain('--skip-java-db-update');
  });

  test("yesterday's database, or one without metadata, is left to Trivy to update", async () => {
    for (const cacheDir of [
      await cacheDirWith({ db: '2026-06-14T23:59:00Z' }),
      join(temp.path, 'empty-cache'),
    ]) {
      const result = await runTrivy(execAs('ok'), undefined, scan({ cacheDir }));
      expect(result.skipped).toEqual({ db: false, javaDb: false });
      const args = await received();
      expect(args).not.toContain('--skip-db-update');
      expect(args).not.toContain('--skip-java-db-update');
    }
  });

  test("today's cache entry is used as it is, whenever Trivy downloaded what it holds; an earlier day's is updated", async () => {
    // What the first run of the day saved: Trivy found yesterday evening's download still current.
    const cacheDir = await cacheDirWith({ db: '2026-06-14T20:00:00Z', 'java-db': '2026-06-14T20:01:00Z' });
    const today = 'digestline-trivy-db-linux-2026-06-15';
    await expect(runTrivy(execAs('ok'), memoryCache([today]), scan({ cacheDir }))).resolves.toMatchObject({
      restoredFrom: today,
      skipped: { db: true, javaDb: true },
      saved: false,
    });
    expect(await received()).toContain('--skip-db-update');
    const yesterday = 'digestline-trivy-db-linux-2026-06-14';
    await expect(runTrivy(execAs('ok'), memoryCache([yesterday]), scan({ cacheDir }))).resolves.toMatchObject(
      {
        restoredFrom: yesterday,
        skipped: { db: false, javaDb: false },
        saved: true,
      },
    );
    expect(await received()).not.toContain('--skip-db-update');
  });

  test("the workflow's cache hit on today's key counts the same, but only for a database that is there", async () => {
    const cacheDir = await cacheDirWith({ db: '2026-06-14T20:00:00Z' });
    const cache = memoryCache();
    await expect(
      runTrivy(execAs('ok'), cache, scan({ cacheDir, restoredToday: true })),
    ).resolves.toMatchObject({ skipped: { db: true, javaDb: false } });
    expect(cache.calls).toEqual([]);
    await expect(
      runTrivy(execAs('ok'), undefined, scan({ cacheDir: join(temp.path, 'no-cache'), restoredToday: true })),
    ).resolves.toMatchObject({ skipped: { db: false, javaDb: false } });
    expect(await received()).not.toContain('--skip-db-update');
  });

  test('a Java index downloaded today is kept while the vulnerability database of yesterday is updated', async () => {
    const cacheDir = await cacheDirWith({ db: '2026-06-14T08:00:00Z', 'java-db': '2026-06-15T01:00:00Z' });
    await expect(runTrivy(execAs('ok'), undefined, scan({ cacheDir }))).resolves.toMatchObject({
      skipped: { db: false, javaDb: true },
    });
    expect(await received()).toContain('--skip-java-db-update');
  });

  test('without a cache service Trivy still runs', async () => {
    const cache = { ...memoryCache(), available: () => false };
    await expect(runTrivy(execAs('ok'), cache, scan())).resolves.toMatchObject({
      restoredFrom: undefined,
      saved: false,
    });
  });
});

describe('exit codes and output', () => {
  test('a successful run leaves a report scan-gate reads', async () => {
    const result = await runTrivy(execAs('ok'), memoryCache(), scan());
    const report = await readReportFile(result.report, 'trivy.json');
    expect(report.format).toBe('trivy');
    expect(report.findings).toHaveLength(4);
  });

  test('a rate-limited database download is reported as that, not as findings, and nothing is saved', async () => {
    const cache = memoryCache();
    const failure = await runTrivy(execAs('rate-limited'), cache, scan()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TrivyError);
    expect(failure).toMatchObject({ reason: 'rate-limited' });
    expect((failure as Error).message).toMatch(
      /^Trivy could not download its vulnerability database: the registry rate-limited the download \(exit 1\)\. This is not a scan result/,
    );
    expect(cache.calls.filter((c) => c.startsWith('save'))).toEqual([]);
  });

  test('a failed database download is reported as that', async () => {
    await expect(runTrivy(execAs('db-failed'), memoryCache(), scan())).rejects.toMatchObject({
      reason: 'database-download',
      message: expect.stringContaining('lookup ghcr.io: no such host'),
    });
  });

  test('any other failure carries the exit code and the end of stderr', async () => {
    await expect(runTrivy(execAs('crash'), memoryCache(), scan())).rejects.toMatchObject({
      reason: 'failed',
      message:
        'Trivy failed with exit code 2; this is not a scan result.\npanic: runtime error: invalid memory address',
    });
  });
});
