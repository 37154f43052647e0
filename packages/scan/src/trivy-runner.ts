import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DigestlineError, type Logger, silentLogger } from '@digestline/base';

/** Runs a program in `cwd` and returns how it ended; the action passes @actions/exec, tests a stand-in. */
export type Exec = (
  command: string,
  args: string[],
  options: { cwd: string },
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** Trivy's own settings files, as absolute paths: what the policy names. */
export interface TrivySettings {
  config?: string;
  ignoreFile?: string;
  secretConfig?: string;
}

/** The runner's cache, as @actions/cache offers it; restore returns the key that matched, if any. */
export interface DatabaseCache {
  available(): boolean;
  restore(paths: string[], key: string, restoreKeys: string[]): Promise<string | undefined>;
  save(paths: string[], key: string): Promise<void>;
}

export interface TrivyScan {
  /** An image reference (`scan-image`) or a directory (`scan-path`); exactly one. */
  image?: string;
  path?: string;
  /** Where Trivy writes its JSON report. */
  output: string;
  /** Trivy's cache directory; its `db` holds the vulnerability database worth keeping between runs. */
  cacheDir: string;
  /** Runner OS, part of the cache key: the database is the same everywhere, the archive format is not. */
  os: string;
  now: Date;
  /**
   * A directory of the run's own, outside the scanned tree: Trivy runs there, and the settings the
   * policy does not name are empty files there, so nothing in the tree can configure the scan.
   */
  settingsDir: string;
  settings?: TrivySettings;
  /**
   * The workflow restored today's copy of the databases into `cacheDir` (actions/cache's `cache-hit` on
   * a key with the date): they are used as they are, whenever they were downloaded.
   */
  restoredToday?: boolean;
}

export interface TrivyRunResult {
  report: string;
  cacheKey: string;
  /** The key the database was restored from; undefined when it was downloaded. */
  restoredFrom?: string;
  saved: boolean;
  /** The databases Trivy was told not to update, because they were downloaded today. */
  skipped: { db: boolean; javaDb: boolean };
}

/** Trivy's two databases under its cache directory, each with the metadata.json Trivy keeps beside it. */
export const TRIVY_DATABASES = { db: 'db', javaDb: 'java-db' } as const;

/**
 * The UTC day (`2026-06-15`) Trivy's `metadata.json` in `dir` says its database was downloaded;
 * undefined when there is no readable one, and so no database Trivy could use without a download.
 */
async function downloadedOn(dir: string): Promise<string | undefined> {
  const text = await readFile(join(dir, 'metadata.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let downloadedAt: unknown;
  try {
    downloadedAt = (JSON.parse(text) as { DownloadedAt?: unknown } | null)?.DownloadedAt;
  } catch {
    return undefined;
  }
  const when = typeof downloadedAt === 'string' ? new Date(downloadedAt) : undefined;
  return when && !Number.isNaN(when.getTime()) ? when.toISOString().slice(0, 10) : undefined;
}

/**
 * Whether the database in `dir` is today's: downloaded on this UTC day, or there at all and restored
 * from today's cache entry (which holds what the first run of the day had, downloaded or still current).
 */
async function isTodays(dir: string, now: Date, restoredToday: boolean): Promise<boolean> {
  const day = await downloadedOn(dir);
  return day !== undefined && (restoredToday || day === now.toISOString().slice(0, 10));
}

/** Raised when Trivy itself failed: never to be read as "vulnerabilities found". */
export class TrivyError extends DigestlineError<'TRIVY_FAILED'> {
  override name = 'TrivyError';
  readonly reason: 'rate-limited' | 'database-download' | 'failed';

  constructor(message: string, reason: TrivyError['reason']) {
    super(message, { code: 'TRIVY_FAILED', fault: 'environment' });
    this.reason = reason;
  }
}

/** One key per UTC day, so a repository downloads the database at most once a day. */
export function trivyCacheKeys(os: string, now: Date): { key: string; restoreKeys: string[] } {
  const prefix = `digestline-trivy-db-${os.toLowerCase()}-`;
  return { key: `${prefix}${now.toISOString().slice(0, 10)}`, restoreKeys: [prefix] };
}

/** Where the settings the policy does not name are written, empty. */
const EMPTY_SETTINGS = { config: 'trivy.yaml', ignoreFile: 'trivyignore', secretConfig: 'trivy-secret.yaml' };

/** The three settings files Trivy reads, each named on the command line. */
function settingsFiles(scan: TrivyScan): Required<TrivySettings> {
  const file = (name: keyof TrivySettings) =>
    scan.settings?.[name] ?? join(scan.settingsDir, EMPTY_SETTINGS[name]);
  return { config: file('config'), ignoreFile: file('ignoreFile'), secretConfig: file('secretConfig') };
}

/**
 * The command line. `--exit-code 0`: findings never change Trivy's exit code, so a non-zero exit means
 * Trivy failed and the gate alone decides on findings. Trivy would otherwise read trivy.yaml,
 * .trivyignore and trivy-secret.yaml from where it runs, which a pull request could add: each is named.
 */
export function trivyArgs(
  scan: TrivyScan,
  skip: TrivyRunResult['skipped'] = { db: false, javaDb: false },
): string[] {
  const settings = settingsFiles(scan);
  const common = [
    '--format',
    'json',
    '--output',
    scan.output,
    '--cache-dir',
    scan.cacheDir,
    '--exit-code',
    '0',
    '--config',
    settings.config,
    '--ignorefile',
    settings.ignoreFile,
    '--secret-config',
    settings.secretConfig,
    // A database downloaded today is used as it is: nothing is fetched, not even a check for a newer one.
    ...(skip.db ? ['--skip-db-update'] : []),
    ...(skip.javaDb ? ['--skip-java-db-update'] : []),
  ];
  if (scan.image !== undefined) return ['image', ...common, '--scanners', 'vuln,secret', scan.image];
  return ['fs', ...common, '--scanners', 'vuln,secret,misconfig', scan.path ?? '.'];
}

const RATE_LIMITED = /TOOMANYREQUESTS|429 Too Many Requests|rate limit/i;
const DB_DOWNLOAD = /(DB|database)[^\n]*(download|fetch|pull)|failed to download/i;
// Some builds exit 1 right after this line when the download fails, without a word of why.
const DOWNLOADING = /Downloading (Java )?DB/i;

function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

/**
 * Uses the databases already in the cache directory when they were downloaded today (an actions/cache
 * step of the workflow restored them), else restores them through `cache`; runs Trivy, told not to
 * update what is fresh; saves the databases when today's key was not restored. `cache` undefined: this
 * step does not cache them (the workflow does). Logs where the database came from.
 */
export async function runTrivy(
  exec: Exec,
  cache: DatabaseCache | undefined,
  scan: TrivyScan,
  log: Logger = silentLogger,
): Promise<TrivyRunResult> {
  const { key, restoreKeys } = trivyCacheKeys(scan.os, scan.now);
  const dirs = {
    db: join(scan.cacheDir, TRIVY_DATABASES.db),
    javaDb: join(scan.cacheDir, TRIVY_DATABASES.javaDb),
  };
  const paths = [dirs.db, dirs.javaDb];
  const restoredToday = scan.restoredToday === true;
  const freshBefore = await isTodays(dirs.db, scan.now, restoredToday);
  const useCache = !freshBefore && cache !== undefined && cache.available();
  const restoredFrom = useCache ? await cache.restore(paths, key, restoreKeys) : undefined;
  const todaysEntry = restoredToday || restoredFrom === key;
  const skipped = {
    db: freshBefore || (restoredFrom !== undefined && (await isTodays(dirs.db, scan.now, todaysEntry))),
    javaDb: await isTodays(dirs.javaDb, scan.now, todaysEntry),
  };
  await mkdir(scan.settingsDir, { recursive: true });
  for (const name of Object.keys(EMPTY_SETTINGS) as (keyof TrivySettings)[]) {
    // `{}`, not an empty file: some Trivy builds fail (exit 1, no message) on an empty secret config.
    if (scan.settings?.[name] === undefined)
      await writeFile(join(scan.settingsDir, EMPTY_SETTINGS[name]), name === 'ignoreFile' ? '' : '{}\n');
  }
  const { exitCode, stderr } = await exec('trivy', trivyArgs(scan, skipped), { cwd: scan.settingsDir });
  if (exitCode !== 0) {
    const tail = lastLines(stderr);
    if (RATE_LIMITED.test(stderr)) {
      throw new TrivyError(
        `Trivy could not download its vulnerability database: the registry rate-limited the download (exit ${exitCode}). This is not a scan result; retry later, or let the daily database cache fill first.\n${tail}`,
        'rate-limited',
      );
    }
    if (DB_DOWNLOAD.test(stderr) || DOWNLOADING.test(lastLines(stderr, 1))) {
      throw new TrivyError(
        `Trivy could not download its vulnerability database (exit ${exitCode}). This is not a scan result; where the runner cannot reach ghcr.io, restore a database downloaded today into ${scan.cacheDir} (db/, java-db/) so that Trivy is told not to update it.\n${tail}`,
        'database-download',
      );
    }
    throw new TrivyError(
      `Trivy failed with exit code ${exitCode}; this is not a scan result.\n${tail}`,
      'failed',
    );
  }
  const saved = useCache && restoredFrom !== key;
  if (saved) await cache.save(paths, key);
  const used = skipped.db ? ", today's: used as it is (--skip-db-update)" : '';
  const cacheState = freshBefore
    ? `already in ${dirs.db}${used}`
    : cache === undefined
      ? `not cached by this step${skipped.db ? used : ', updated by Trivy'}`
      : !useCache
        ? 'the cache service is not available here'
        : restoredFrom === undefined
          ? `downloaded, saved as ${key}`
          : `restored from ${restoredFrom}${used}${saved ? `, saved as ${key}` : ''}`;
  log.info(`Trivy database: ${cacheState}.`);
  return { report: scan.output, cacheKey: key, restoredFrom, saved, skipped };
}
