import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { MigrationInputError } from './errors.js';

export const FORMATS = ['auto', 'plain', 'flyway', 'golang-migrate', 'dbmate', 'prisma'] as const;
export type Format = (typeof FORMATS)[number];
export type FileFormat = Exclude<Format, 'auto'>;
export type Direction = 'up' | 'down';

/** One migration as a tool applies it: a whole file, or one `-- migrate:up`/`down` section of a dbmate file. */
export interface Migration {
  /** Path relative to the root (the workspace), with `/` separators: what reports and annotations show. */
  path: string;
  format: FileFormat;
  direction: Direction;
  /** Ordering key within its format: Flyway/golang-migrate version, dbmate/Prisma timestamp. */
  version: string;
  /** The SQL of this migration. */
  sql: string;
  /** The whole file's text; `offset` is where `sql` starts in it (0 unless a dbmate section). */
  fileText: string;
  offset: number;
  /** dbmate's `transaction:false` on the section header; the other tools decide by format. */
  transaction: boolean;
  /** Flyway `R__` migrations: re-applied when changed, no version, no undo. */
  repeatable: boolean;
}

const FLYWAY = /^([VU])(\d+(?:[._]\d+)*)__.+\.sql$/;
const FLYWAY_REPEATABLE = /^R__.+\.sql$/;
const GOLANG_MIGRATE = /^(\d+)_.+\.(up|down)\.sql$/;
const PRISMA_DIR = /^(\d{14})_/;
const DBMATE_MARKER = /^--\s*migrate:(up|down)\b(.*)$/gm;

/**
 * Finds the migrations under `paths` (files, directories searched for `*.sql`, or globs), relative to
 * `root`, reads them as UTF-8 and returns them in the order their tool would apply them. `only`, when given,
 * keeps only those paths (relative to root): the files a pull request changed.
 */
export async function discoverMigrations(options: {
  paths: string[];
  root: string;
  format?: Format;
  only?: ReadonlySet<string>;
}): Promise<Migration[]> {
  const format = options.format ?? 'auto';
  if (!FORMATS.includes(format)) {
    throw new MigrationInputError(
      `The migration format ${JSON.stringify(String(format).slice(0, 40))} is not one migration-check knows; use ${FORMATS.join(', ')}.`,
    );
  }
  const realRoot = await realpath(options.root);
  const files = new Set<string>();
  for (const entry of options.paths) {
    const matched = await expand(entry, options.root, realRoot);
    if (matched.length === 0) {
      throw new MigrationInputError(
        `The migrations path "${entry}" matches no .sql file under ${options.root}; point "path" at the directory or glob that holds your migrations (e.g. "db/migrations" or "db/**/*.sql").`,
      );
    }
    for (const file of matched) files.add(file);
  }
  const selected = [...files].filter((file) => options.only === undefined || options.only.has(file));
  const migrations: Migration[] = [];
  for (const path of selected) {
    const fileText = await readText(join(options.root, path), path);
    migrations.push(...classify(path, fileText, format));
  }
  return migrations.sort(compareMigrations);
}

const toRelative = (file: string) => file.split(sep).join('/');
const within = (dir: string, path: string) => path === dir || path.startsWith(`${dir}${sep}`);

/**
 * The walk never follows a symbolic link: a link to `/` or to its own parent would have it read the
 * whole machine or loop, and a link to a file outside the workspace would put that file in the report.
 * A path in the workspace must also stay there once its links are resolved.
 */
async function expand(entry: string, root: string, realRoot: string): Promise<string[]> {
  if (isDynamicPattern(entry)) {
    const found = await glob(entry, { cwd: root, onlyFiles: true, dot: false, followSymbolicLinks: false });
    const segments = entry.split('/');
    const fixed = segments.slice(
      0,
      segments.findIndex((segment) => isDynamicPattern(segment)),
    );
    await refuseLinks(join(root, ...fixed), root);
    return found.filter((file) => file.endsWith('.sql')).map(toRelative);
  }
  const absolute = isAbsolute(entry) ? entry : join(root, entry);
  const real = await realpath(absolute).catch(() => undefined);
  if (real === undefined) return [];
  if (!isAbsolute(entry) && !within(realRoot, real)) {
    throw new MigrationInputError(
      `The migrations path "${entry}" leads out of the workspace through a symbolic link; point "path" at the migrations themselves.`,
    );
  }
  const info = await stat(real);
  const rel = relative(root, absolute);
  if (info.isFile()) {
    await refuseLinks(absolute, root);
    return [toRelative(rel)];
  }
  if (!info.isDirectory()) return [];
  await refuseLinks(absolute, root);
  const found = await glob('**/*.sql', { cwd: real, onlyFiles: true, followSymbolicLinks: false });
  return found.map((file) => toRelative(join(rel, file)));
}

/**
 * A migration file that is a symbolic link is refused rather than skipped: the migration tool would
 * follow it and run what it points at, so leaving it out would pass what was never checked.
 */
async function refuseLinks(path: string, root: string): Promise<void> {
  const refuse = (link: string) => {
    throw new MigrationInputError(
      `${toRelative(relative(root, link))} is a symbolic link; migration-check reads migrations as files in the workspace and does not follow links: commit the migration itself in its place.`,
    );
  };
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) {
    if ((await lstat(path)).isSymbolicLink() && path.endsWith('.sql')) refuse(path);
    return;
  }
  if (!info?.isDirectory()) return;
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  for (const dirent of entries) {
    const full = join(dirent.parentPath, dirent.name);
    const hidden = relative(path, full)
      .split(sep)
      .some((part) => part.startsWith('.'));
    if (!hidden && dirent.isSymbolicLink() && dirent.name.endsWith('.sql')) refuse(full);
  }
}

async function readText(file: string, path: string): Promise<string> {
  const bytes = await readFile(file);
  if (bytes.includes(0)) {
    throw new MigrationInputError(
      `${path} is a binary file (it contains NUL bytes), not SQL; remove it from the migrations path or narrow "path" to your .sql migrations.`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new MigrationInputError(
      `${path} is not valid UTF-8; PostgreSQL migrations must be UTF-8 text: re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).`,
    );
  }
}

function classify(path: string, fileText: string, format: Format): Migration[] {
  const name = basename(path);
  const base = { path, fileText, offset: 0, sql: fileText, transaction: true, repeatable: false };
  const wants = (candidate: FileFormat) => format === 'auto' || format === candidate;

  const flyway = FLYWAY.exec(name);
  if (flyway && wants('flyway')) {
    const direction: Direction = flyway[1] === 'U' ? 'down' : 'up';
    return [{ ...base, format: 'flyway', direction, version: flyway[2] as string }];
  }
  if (FLYWAY_REPEATABLE.test(name) && wants('flyway')) {
    return [{ ...base, format: 'flyway', direction: 'up', version: name, repeatable: true }];
  }
  const golang = GOLANG_MIGRATE.exec(name);
  if (golang && wants('golang-migrate')) {
    const direction = golang[2] as Direction;
    return [{ ...base, format: 'golang-migrate', direction, version: golang[1] as string }];
  }
  if (wants('dbmate') && /^--\s*migrate:up\b/m.test(fileText)) return dbmateSections(path, fileText);
  const prismaDir = PRISMA_DIR.exec(basename(dirname(path)));
  if (name === 'migration.sql' && prismaDir && wants('prisma')) {
    return [{ ...base, format: 'prisma', direction: 'up', version: prismaDir[1] as string }];
  }
  if (format !== 'auto' && format !== 'plain') {
    throw new MigrationInputError(
      `${path} is not a ${format} migration (${EXPECTED[format]}); set "format: auto" or narrow "path" to the ${format} migrations.`,
    );
  }
  return [{ ...base, format: 'plain', direction: 'up', version: path }];
}

const EXPECTED: Record<Exclude<FileFormat, 'plain'>, string> = {
  flyway: 'expected V<version>__<name>.sql, U<version>__<name>.sql or R__<name>.sql',
  'golang-migrate': 'expected <version>_<name>.up.sql or <version>_<name>.down.sql',
  dbmate: 'expected a "-- migrate:up" section',
  prisma: 'expected <timestamp>_<name>/migration.sql',
};

function dbmateSections(path: string, fileText: string): Migration[] {
  const markers = [...fileText.matchAll(DBMATE_MARKER)];
  const version = /^(\d+)/.exec(basename(path))?.[1] ?? basename(path);
  return markers.map((marker, i) => {
    const headerEnd = (marker.index as number) + marker[0].length;
    const next = markers[i + 1];
    const end = next === undefined ? fileText.length : (next.index as number);
    return {
      path,
      format: 'dbmate' as const,
      direction: marker[1] as Direction,
      version,
      fileText,
      offset: headerEnd,
      sql: fileText.slice(headerEnd, end),
      transaction: !/\btransaction:false\b/.test(marker[2] ?? ''),
      repeatable: false,
    };
  });
}

/** Flyway versions compare segment by segment as numbers: 1.10 comes after 1.9. */
function compareFlywayVersions(a: string, b: string): number {
  const pa = a.split(/[._]/).map(BigInt);
  const pb = b.split(/[._]/).map(BigInt);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? -1n;
    const y = pb[i] ?? -1n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

function compareMigrations(a: Migration, b: Migration): number {
  if (a.format !== b.format) return a.format < b.format ? -1 : 1;
  if (a.repeatable !== b.repeatable) return a.repeatable ? 1 : -1;
  const byVersion =
    a.format === 'flyway' && !a.repeatable
      ? compareFlywayVersions(a.version, b.version)
      : natural(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  if (a.direction !== b.direction) return a.direction === 'up' ? -1 : 1;
  return natural(a.path, b.path);
}

/** Up migrations (not Flyway repeatables) whose tool would need a down/undo counterpart, and have none. */
export function missingDowns(migrations: Migration[]): Migration[] {
  const downs = new Set(
    migrations
      .filter((m) => m.direction === 'down' && m.sql.trim() !== '')
      .map((m) => `${m.format}:${m.version}`),
  );
  return migrations.filter(
    (m) => m.direction === 'up' && !m.repeatable && !downs.has(`${m.format}:${m.version}`),
  );
}
