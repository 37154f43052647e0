import pg from 'pg';
import { DatabaseUnavailableError, MigrationInputError } from './errors.js';
import type { ParsedMigration } from './lint.js';
import { LineIndex, type Statement } from './parser.js';

export interface DryRunLock {
  file: string;
  line: number;
  relation: string;
  mode: string;
}

export interface DryRunRewrite {
  file: string;
  line: number;
  relation: string;
  relfilenodeBefore: number;
  relfilenodeAfter: number;
}

export interface DryRunSkip {
  file: string;
  line: number;
  statement: string;
  reason: string;
}

export interface DryRunFailure {
  file: string;
  line: number;
  column: number;
  statement: string;
  /** PostgreSQL's message, with its SQLSTATE. */
  message: string;
  code?: string;
}

export interface DryRunResult {
  /** `host:port/database` — never the user or password. */
  database: string;
  migrations: number;
  executed: number;
  /** Statements that cannot run in a transaction (and transaction control in the files): not executed. */
  notRun: DryRunSkip[];
  locks: DryRunLock[];
  rewrites: DryRunRewrite[];
  failure?: DryRunFailure;
  durationMs: number;
}

export interface DryRunOptions {
  databaseUrl: string;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

const NOT_IN_TRANSACTION: Record<string, (node: Record<string, unknown>) => string | undefined> = {
  IndexStmt: (n) => (n.concurrent ? 'CREATE INDEX CONCURRENTLY cannot run inside a transaction' : undefined),
  DropStmt: (n) => (n.concurrent ? 'DROP INDEX CONCURRENTLY cannot run inside a transaction' : undefined),
  ReindexStmt: (n) =>
    JSON.stringify(n.params ?? []).includes('"concurrently"')
      ? 'REINDEX CONCURRENTLY cannot run inside a transaction'
      : undefined,
  VacuumStmt: () => 'VACUUM cannot run inside a transaction',
  CreatedbStmt: () => 'CREATE DATABASE cannot run inside a transaction',
  DropdbStmt: () => 'DROP DATABASE cannot run inside a transaction',
  AlterSystemStmt: () => 'ALTER SYSTEM cannot run inside a transaction',
  CreateTableSpaceStmt: () => 'CREATE TABLESPACE cannot run inside a transaction',
  DropTableSpaceStmt: () => 'DROP TABLESPACE cannot run inside a transaction',
  TransactionStmt: () =>
    'transaction control is replaced by the dry-run’s own transaction, rolled back at the end',
};

/** Where a URL points, for messages: host and port only, never user or password. */
export function describeDatabase(url: string): { host: string; port: string; database: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MigrationInputError(
      'The database URL cannot be read; expected postgres://user:password@host:port/database (URL-encode special characters in the password).',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new MigrationInputError(
      `The database URL has the scheme "${parsed.protocol}"; expected postgres://user:password@host:port/database.`,
    );
  }
  return {
    host: parsed.hostname || 'localhost',
    port: parsed.port || '5432',
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

/**
 * Runs the migrations, in order, inside one transaction with SET LOCAL lock_timeout and
 * statement_timeout, records the locks each statement took and the tables it rewrote, and always rolls
 * back: nothing is ever committed. Stops at the first failing statement.
 */
export async function dryRun(migrations: ParsedMigration[], options: DryRunOptions): Promise<DryRunResult> {
  const target = describeDatabase(options.databaseUrl);
  const where = `${target.host}:${target.port}`;
  const started = performance.now();
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'migration-check dry-run',
  });
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new DatabaseUnavailableError(
      `Cannot connect to PostgreSQL at ${where}: ${safeMessage(error, options.databaseUrl)}; check that the database is running and that "database-url" points at it.`,
    );
  }
  const result: DryRunResult = {
    database: `${where}/${target.database}`,
    migrations: migrations.length,
    executed: 0,
    notRun: [],
    locks: [],
    rewrites: [],
    durationMs: 0,
  };
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${Math.round(options.lockTimeoutMs ?? 5_000)}`);
    await client.query(`SET LOCAL statement_timeout = ${Math.round(options.statementTimeoutMs ?? 60_000)}`);
    const held = new Set<string>();
    outer: for (const { migration, statements } of migrations) {
      const lines = new LineIndex(migration.fileText);
      for (const statement of statements) {
        const at = lines.position(migration.offset + statement.start);
        const sql = migration.sql.slice(statement.start, statement.end);
        const skip = NOT_IN_TRANSACTION[statement.kind]?.(statement.node);
        if (skip) {
          result.notRun.push({ file: migration.path, line: at.line, statement: sql, reason: skip });
          continue;
        }
        const tables = touchedRelations(statement);
        const before = await relfilenodes(client, tables);
        try {
          await client.query(sql);
        } catch (error) {
          const pgError = error as { message?: string; code?: string; position?: string };
          const offset = pgError.position ? Number(pgError.position) - 1 : 0;
          const failedAt = lines.position(migration.offset + statement.start + Math.max(0, offset));
          result.failure = {
            file: migration.path,
            line: failedAt.line,
            column: failedAt.column,
            statement: sql,
            message: `${pgError.message ?? String(error)}${pgError.code ? ` (SQLSTATE ${pgError.code})` : ''}`,
            code: pgError.code,
          };
          break outer;
        }
        result.executed++;
        const after = await relfilenodes(client, tables);
        for (const [relation, node] of before) {
          const now = after.get(relation);
          if (now !== undefined && now !== node) {
            result.rewrites.push({
              file: migration.path,
              line: at.line,
              relation,
              relfilenodeBefore: node,
              relfilenodeAfter: now,
            });
          }
        }
        for (const lock of await ownLocks(client)) {
          const key = `${lock.relation}\u0000${lock.mode}`;
          if (held.has(key)) continue;
          held.add(key);
          result.locks.push({ file: migration.path, line: at.line, ...lock });
        }
      }
    }
  } catch (error) {
    throw new DatabaseUnavailableError(
      `The dry-run on PostgreSQL at ${where} failed: ${safeMessage(error, options.databaseUrl)}`,
    );
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

/** Tables a statement names (ALTER/CLUSTER/TRUNCATE/VACUUM targets…): where a rewrite would show. */
function touchedRelations(statement: Statement): string[] {
  const names = new Set<string>();
  const visit = (value: unknown) => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const range = (value as { RangeVar?: { relname?: string; schemaname?: string } }).RangeVar;
    const direct = value as { relname?: string; schemaname?: string };
    const rv = range ?? (typeof direct.relname === 'string' ? direct : undefined);
    if (rv?.relname)
      names.add(rv.schemaname ? `${quote(rv.schemaname)}.${quote(rv.relname)}` : quote(rv.relname));
    for (const child of Object.values(value)) visit(child);
  };
  visit(statement.node);
  return [...names];
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

async function relfilenodes(client: pg.Client, relations: string[]): Promise<Map<string, number>> {
  if (relations.length === 0) return new Map();
  const { rows } = await client.query<{ name: string; relfilenode: number }>(
    `SELECT c.oid::regclass::text AS name, c.relfilenode::int8 AS relfilenode
       FROM unnest($1::text[]) AS r(name)
       JOIN pg_class c ON c.oid = to_regclass(r.name)`,
    [relations],
  );
  return new Map(rows.map((row) => [row.name, Number(row.relfilenode)]));
}

async function ownLocks(client: pg.Client): Promise<{ relation: string; mode: string }[]> {
  const { rows } = await client.query<{ relation: string; mode: string }>(
    `SELECT l.relation::regclass::text AS relation, l.mode
       FROM pg_locks l
       JOIN pg_class c ON c.oid = l.relation
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY 1, 2`,
  );
  return rows;
}

/** A driver message with the URL's password removed, in case a driver ever echoes it. */
function safeMessage(error: unknown, url: string): string {
  const code = (error as { code?: string }).code;
  let message = error instanceof Error ? error.message || code || error.name : String(error);
  if (error instanceof AggregateError && error.errors.length > 0) {
    message = error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {}
  if (password !== '') message = message.split(password).join('***');
  return message;
}
