import { errorClass } from '@digestline/base';
import type { FileFormat, Migration } from './discovery.js';

/** Runs one query on the dry-run's connection (the dry-run owns the connection and its checks). */
export type HistoryQuery = (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** The migration tool's history says the database is in a state no dry-run can start from. */
export class MigrationHistoryError extends errorClass('MigrationHistoryError', 'MIGRATION_HISTORY', 'user') {}

/** What a database says it has applied, read from the migration tool's own table. */
export interface AppliedHistory {
  /** The table read, e.g. `flyway_schema_history`; undefined when the database has none (nothing applied). */
  table?: string;
  tool?: 'flyway' | 'golang-migrate' | 'dbmate' | 'prisma';
  /** Applied versions as the discovery names them (Flyway `1.2`, a dbmate or Prisma timestamp). */
  versions: Set<string>;
  /** golang-migrate keeps only its current version: everything at or below it is applied. */
  upTo?: bigint;
}

const TABLES: Record<Exclude<FileFormat, 'plain'>, string> = {
  flyway: 'flyway_schema_history',
  'golang-migrate': 'schema_migrations',
  dbmate: 'schema_migrations',
  prisma: '_prisma_migrations',
};

/** Flyway's `1_2`, `1.02` and `1.2` are one version. */
function flywayKey(version: string): string {
  return version
    .split(/[._]/)
    .map((part) => BigInt(part).toString())
    .join('.');
}

async function exists(query: HistoryQuery, table: string): Promise<boolean> {
  const { rows } = await query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  return rows[0]?.present === true;
}

async function columns(query: HistoryQuery, table: string): Promise<Set<string>> {
  const { rows } = await query(
    `SELECT column_name FROM information_schema.columns
      WHERE table_name = $1 AND table_schema = ANY (current_schemas(false))`,
    [table],
  );
  return new Set(rows.map((row) => String(row.column_name)));
}

/**
 * Reads the history table of the tool `format` names (for `auto` or `plain`, of whichever tool left one):
 * Flyway's `flyway_schema_history` (successful versioned rows), golang-migrate's `schema_migrations`
 * (one version and a dirty flag), dbmate's `schema_migrations` (one row per version) and Prisma's
 * `_prisma_migrations` (finished and not rolled back).
 */
export async function readHistory(query: HistoryQuery, format: FileFormat | 'auto'): Promise<AppliedHistory> {
  const candidates =
    format === 'auto' || format === 'plain'
      ? (['flyway', 'prisma', 'golang-migrate'] as const)
      : ([format] as const);
  for (const tool of candidates) {
    const table = TABLES[tool];
    if (!(await exists(query, table))) continue;
    if (tool === 'flyway') {
      const { rows } = await query(
        'SELECT version FROM flyway_schema_history WHERE success AND version IS NOT NULL',
      );
      return { table, tool, versions: new Set(rows.map((row) => flywayKey(String(row.version)))) };
    }
    if (tool === 'prisma') {
      const { rows } = await query(
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      );
      const versions = rows.map((row) => /^(\d{14})_/.exec(String(row.migration_name))?.[1] ?? '');
      return { table, tool, versions: new Set(versions.filter((version) => version !== '')) };
    }
    // golang-migrate and dbmate share the table name; golang-migrate's has a `dirty` column.
    const golang = (await columns(query, table)).has('dirty');
    if (golang) {
      const { rows } = await query('SELECT version, dirty FROM schema_migrations');
      const row = rows[0];
      if (row === undefined) return { table, tool: 'golang-migrate', versions: new Set() };
      if (row.dirty === true)
        throw new MigrationHistoryError(
          `schema_migrations says version ${String(row.version)} is dirty: a migration failed half way. Repair the database and run \`migrate force ${String(row.version)}\` (or the version before it) before a dry-run.`,
        );
      return { table, tool: 'golang-migrate', versions: new Set(), upTo: BigInt(String(row.version)) };
    }
    const { rows } = await query('SELECT version FROM schema_migrations');
    return { table, tool: 'dbmate', versions: new Set(rows.map((row) => String(row.version))) };
  }
  return { versions: new Set() };
}

/**
 * The up migrations the database has not applied yet, in order: what a deployment would run next and
 * so what the dry-run replays. Flyway's repeatable migrations are always kept (Flyway re-applies them
 * whenever they change).
 */
export function pendingMigrations(migrations: Migration[], history: AppliedHistory): Migration[] {
  return migrations.filter((migration) => {
    if (migration.direction !== 'up') return false;
    // Plain files carry no version a history could name: every one is replayed.
    if (migration.format === 'plain') return true;
    if (migration.format === 'flyway')
      return migration.repeatable || !history.versions.has(flywayKey(migration.version));
    if (migration.format === 'golang-migrate' && history.upTo !== undefined)
      return BigInt(migration.version) > history.upTo;
    return !history.versions.has(migration.version);
  });
}
