import { errorClass } from '@digestline/base';
import type { FileFormat, Migration } from './discovery.js';
import { MigrationInputError } from './errors.js';

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

type Tool = Exclude<FileFormat, 'plain'>;

const TABLES: Record<Tool, string> = {
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

/**
 * A history table the workflow names (Flyway's `flyway.table`, golang-migrate's `x-migrations-table`,
 * dbmate's `--migrations-table`): a plain name, or `schema.name`. Nothing else is accepted, so the name
 * goes into the queries as it is, read by PostgreSQL as an unquoted name (lower-cased), as the tools
 * themselves create it.
 */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** The name as given when it is one the dry-run can read; otherwise an error saying what is accepted. */
export function historyTableName(name: string): string {
  if (!TABLE_NAME.test(name) || name.length > 127) {
    throw new MigrationInputError(
      `history-table "${name.slice(0, 80)}" is not a table name: give the migration tool's history table as a plain name or schema.name (letters, digits, _ and $), e.g. flyway_schema_history or app.schema_migrations.`,
    );
  }
  return name;
}

async function exists(query: HistoryQuery, table: string): Promise<boolean> {
  const { rows } = await query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  return rows[0]?.present === true;
}

async function columns(query: HistoryQuery, table: string): Promise<Set<string>> {
  const { rows } = await query(
    'SELECT attname AS column_name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped',
    [table],
  );
  return new Set(rows.map((row) => String(row.column_name)));
}

/** Which tool wrote a table, by the columns only that tool's table has. */
function toolOf(names: Set<string>): Tool | undefined {
  if (names.has('installed_rank') && names.has('success')) return 'flyway';
  if (names.has('migration_name') && names.has('finished_at')) return 'prisma';
  if (names.has('version') && names.has('dirty')) return 'golang-migrate';
  if (names.has('version')) return 'dbmate';
  return undefined;
}

/**
 * Reads the history table of the tool `format` names (for `auto` or `plain`, of whichever tool left one):
 * Flyway's `flyway_schema_history` (successful versioned rows), golang-migrate's `schema_migrations`
 * (one version and a dirty flag), dbmate's `schema_migrations` (one row per version) and Prisma's
 * `_prisma_migrations` (finished and not rolled back). With `table` (see {@link historyTableName}), that
 * table is read instead, and must exist: a tool configured with another table name would otherwise
 * look like a database where nothing is applied.
 */
export async function readHistory(
  query: HistoryQuery,
  format: FileFormat | 'auto',
  table?: string,
): Promise<AppliedHistory> {
  if (table !== undefined) {
    const name = historyTableName(table);
    if (!(await exists(query, name))) {
      throw new MigrationHistoryError(
        `The history table ${name} (history-table) does not exist in this database: check the name the migration tool is configured with; an unquoted name is read in lower case, and a table outside the search path needs its schema (schema.name).`,
      );
    }
    const names = await columns(query, name);
    const tool = format === 'auto' || format === 'plain' ? toolOf(names) : format;
    if (tool === undefined) {
      throw new MigrationHistoryError(
        `${name} (history-table) has none of the columns of Flyway's, golang-migrate's, dbmate's or Prisma's history table: name the table the migration tool keeps its applied versions in.`,
      );
    }
    return readTable(query, tool, name, names);
  }
  const candidates =
    format === 'auto' || format === 'plain'
      ? (['flyway', 'prisma', 'golang-migrate'] as const)
      : ([format] as const);
  for (const tool of candidates) {
    const name = TABLES[tool];
    if (await exists(query, name)) return readTable(query, tool, name);
  }
  return { versions: new Set() };
}

/**
 * Reads one tool's table; `table` is a default name or one {@link historyTableName} accepted, `names`
 * its columns when they were read already.
 */
async function readTable(
  query: HistoryQuery,
  tool: Tool,
  table: string,
  names?: Set<string>,
): Promise<AppliedHistory> {
  if (tool === 'flyway') {
    const { rows } = await query(`SELECT version FROM ${table} WHERE success AND version IS NOT NULL`);
    return { table, tool, versions: new Set(rows.map((row) => flywayKey(String(row.version)))) };
  }
  if (tool === 'prisma') {
    const { rows } = await query(
      `SELECT migration_name FROM ${table} WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const versions = rows.map((row) => /^(\d{14})_/.exec(String(row.migration_name))?.[1] ?? '');
    return { table, tool, versions: new Set(versions.filter((version) => version !== '')) };
  }
  // golang-migrate and dbmate share the table name; golang-migrate's has a `dirty` column.
  const golang = (names ?? (await columns(query, table))).has('dirty');
  if (golang) {
    const { rows } = await query(`SELECT version, dirty FROM ${table}`);
    const row = rows[0];
    if (row === undefined) return { table, tool: 'golang-migrate', versions: new Set() };
    if (row.dirty === true)
      throw new MigrationHistoryError(
        `${table} says version ${String(row.version)} is dirty: a migration failed half way. Repair the database and run \`migrate force ${String(row.version)}\` (or the version before it) before a dry-run.`,
      );
    return { table, tool: 'golang-migrate', versions: new Set(), upTo: BigInt(String(row.version)) };
  }
  const { rows } = await query(`SELECT version FROM ${table}`);
  return { table, tool: 'dbmate', versions: new Set(rows.map((row) => String(row.version))) };
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
