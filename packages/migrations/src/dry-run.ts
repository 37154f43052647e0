import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import type { Format } from './discovery.js';
import { outsideEffects } from './dry-run-effects.js';
import { DatabaseUnavailableError, MigrationInputError } from './errors.js';
import { type HistoryQuery, MigrationHistoryError, pendingMigrations, readHistory } from './history.js';
import type { ParsedMigration } from './lint.js';
import { LineIndex, type Statement } from './parser.js';
import { conditionName } from './sqlstate.js';

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
  /**
   * The SQLSTATE's condition name and the objects the server names (constraint, column, table), never
   * the server's message text, which can quote row values.
   */
  message: string;
  code?: string;
}

/** Where the dry-run learnt which migrations the database already has. */
export interface DryRunHistory {
  /** The migration tool's history table read, e.g. `flyway_schema_history`; null when there was none. */
  table: string | null;
  tool: 'flyway' | 'golang-migrate' | 'dbmate' | 'prisma' | null;
  /** Up migrations the history names as applied: not replayed. */
  applied: number;
}

export interface DryRunResult {
  /** `host:port/database` — never the user or password. */
  database: string;
  history: DryRunHistory;
  /** Pending up migrations: the ones replayed (up to the first failure). */
  migrations: number;
  executed: number;
  /**
   * Statements not executed: those that cannot run in a transaction, transaction control, settings
   * that would loosen the dry-run's limits or change its role, and effects a rollback cannot undo.
   */
  notRun: DryRunSkip[];
  locks: DryRunLock[];
  rewrites: DryRunRewrite[];
  failure?: DryRunFailure;
  durationMs: number;
}

export interface DryRunOptions {
  /**
   * postgres://user:password@host:port/database. `sslmode` (disable, require, verify-ca, verify-full)
   * defaults to verify-full for every host but localhost, 127.0.0.0/8, ::1 and a socket directory;
   * `sslrootcert` (a PEM file, or `system`), `sslcert` and `sslkey` as libpq reads them.
   */
  databaseUrl: string;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** For the whole dry-run, connecting included; default {@link DEFAULT_DRY_RUN_DEADLINE_MS}. */
  deadlineMs?: number;
  /**
   * Whose history table says what is applied: `auto` (and `plain`) look for Flyway's, Prisma's, then
   * golang-migrate's or dbmate's; a tool's name reads only that tool's table.
   */
  format?: Format;
  /** The history table, when the tool is configured with a name of its own (see historyTableName). */
  historyTable?: string;
}

export const DEFAULT_DRY_RUN_DEADLINE_MS = 10 * 60_000;
// How long past the deadline a server that stopped answering is waited for before the socket is cut.
const DEADLINE_GRACE_MS = 2_000;

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

const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
type SslMode = (typeof SSL_MODES)[number];

/** Connection parameters libpq reads from a URL's query that would send the connection elsewhere. */
const REDIRECTING_PARAMETERS = ['hostaddr', 'port', 'service', 'target_session_attrs'];

/**
 * A name that can only mean this machine: localhost, 127.0.0.0/8, ::1 or a Unix socket directory. A
 * name that merely resolves to a loopback address today is not one: DNS and hosts files change.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  return (
    name === 'localhost' ||
    name === '::1' ||
    name.startsWith('/') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}

interface Target {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
  loopback: boolean;
  sslmode: SslMode;
  ssl: false | ConnectionOptions;
  options?: string;
}

function parseUrl(url: string): URL {
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
  return parsed;
}

const decode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new MigrationInputError(
      'The database URL has a broken %-escape; URL-encode special characters in the user and password.',
    );
  }
};

/** Where a URL points, for messages: host and port only, never user or password. */
export function describeDatabase(url: string): { host: string; port: string; database: string } {
  const parsed = parseUrl(url);
  const socket = parsed.searchParams.get('host');
  return {
    host: socket?.startsWith('/') ? socket : parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: parsed.port || '5432',
    database: decode(parsed.pathname.slice(1)),
  };
}

function readPem(parameter: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new MigrationInputError(
      `The database URL's ${parameter}=${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); give the path of a PEM file on the runner.`,
    );
  }
}

/** Everything the connection uses, from the URL alone: no environment, no parameter that moves it. */
function readTarget(url: string): Target {
  const parsed = parseUrl(url);
  const { host, port, database } = describeDatabase(url);
  const params = parsed.searchParams;
  const socket = params.get('host');
  if (socket !== null && !socket.startsWith('/')) {
    throw new MigrationInputError(
      'The database URL sets "host" as a parameter; write the host in the URL itself (postgres://user:password@host:port/database), so that it is the host TLS is checked against.',
    );
  }
  const redirecting = REDIRECTING_PARAMETERS.find((name) => params.has(name));
  if (redirecting) {
    throw new MigrationInputError(
      `The database URL sets "${redirecting}" as a parameter, which would send the connection somewhere the URL does not show; write host and port in the URL itself and remove it.`,
    );
  }
  const loopback = isLoopbackHost(host);
  const mode = params.get('sslmode') ?? (loopback ? 'disable' : 'verify-full');
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new MigrationInputError(
      `The database URL has sslmode=${mode}; use verify-full (the default for hosts other than localhost), verify-ca or require, or disable to connect without TLS on purpose. Modes that fall back to plain text are not accepted.`,
    );
  }
  const sslmode = mode as SslMode;
  let ssl: Target['ssl'] = false;
  if (sslmode !== 'disable') {
    const rootcert = params.get('sslrootcert');
    const cert = params.get('sslcert');
    const key = params.get('sslkey');
    ssl = {
      rejectUnauthorized: sslmode !== 'require',
      ...(rootcert && rootcert !== 'system' ? { ca: readPem('sslrootcert', rootcert) } : {}),
      ...(cert ? { cert: readPem('sslcert', cert) } : {}),
      ...(key ? { key: readPem('sslkey', key) } : {}),
      // verify-full checks the name in the URL, whatever the driver would pass on.
      checkServerIdentity:
        sslmode === 'verify-full'
          ? (_name, peer) => process.getBuiltinModule('node:tls').checkServerIdentity(host, peer)
          : () => undefined,
    };
  }
  return {
    host,
    port,
    database,
    user: decode(parsed.username),
    password: decode(parsed.password),
    loopback,
    sslmode,
    ssl,
    options: params.get('options') ?? undefined,
  };
}

/** Node's codes for a certificate that did not verify, and the name check's own. */
const isTlsFailure = (error: unknown) => {
  const code = String((error as { code?: unknown }).code ?? '');
  return /CERT|SELF_SIGNED|SIGNATURE|ERR_TLS|ERR_SSL|ISSUER/.test(code);
};

/**
 * Replays the pending up migrations, in order, inside one transaction with SET LOCAL lock_timeout and
 * statement_timeout, records the locks each statement took and the tables it rewrote, and always rolls
 * back: nothing is ever committed. Pending are those the migration tool's own history table (read on the
 * same connection, inside the transaction) does not name as applied: against an already migrated
 * database only what a deployment would run next is replayed. Stops at the first failing statement, or
 * before the first pending migration that does not parse.
 */
export async function dryRun(migrations: ParsedMigration[], options: DryRunOptions): Promise<DryRunResult> {
  const target = readTarget(options.databaseUrl);
  const where = `${target.host}:${target.port}`;
  const started = performance.now();
  const deadlineMs = options.deadlineMs ?? DEFAULT_DRY_RUN_DEADLINE_MS;
  const remainingMs = () => deadlineMs - (performance.now() - started);
  const seconds = `${Number((deadlineMs / 1000).toFixed(1))} s`;
  // Loaded only for a dry-run: a lint alone never connects, and the driver brings net, tls and crypto.
  const { default: driver } = await import('pg');
  const client = new driver.Client({
    host: target.host,
    port: Number(target.port),
    database: target.database,
    user: target.user,
    password: target.password,
    ssl: target.ssl,
    options: target.options,
    connectionTimeoutMillis: Math.max(1, Math.min(options.connectTimeoutMs ?? 10_000, deadlineMs)),
    application_name: 'migration-check dry-run',
  });
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on('error', () => undefined);
  // The server enforces the deadline through statement_timeout; this is for a server that stopped answering.
  let abandoned = false;
  const watchdog = setTimeout(() => {
    abandoned = true;
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }, deadlineMs + DEADLINE_GRACE_MS);
  const unanswered = () =>
    new DatabaseUnavailableError(
      `PostgreSQL at ${where} did not answer within the dry-run’s deadline of ${seconds}; the connection was closed, so the server rolls the transaction back. Check the server's load and the network to it.`,
    );
  try {
    await client.connect();
  } catch (error) {
    clearTimeout(watchdog);
    await client.end().catch(() => undefined);
    if (abandoned) throw unanswered();
    throw connectError(error, target, where, options.databaseUrl);
  }
  const result: DryRunResult = {
    database: `${where}/${target.database}`,
    history: { table: null, tool: null, applied: 0 },
    migrations: 0,
    executed: 0,
    notRun: [],
    locks: [],
    rewrites: [],
    durationMs: 0,
  };
  const statementTimeoutMs = Math.round(options.statementTimeoutMs ?? 60_000);
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${Math.round(options.lockTimeoutMs ?? 5_000)}`);
    await client.query(`SET LOCAL statement_timeout = ${statementTimeoutMs}`);
    const query: HistoryQuery = (text, params) => client.query(text, params);
    const history = await readHistory(query, options.format ?? 'auto', options.historyTable);
    const pending = new Set(
      pendingMigrations(
        migrations.map((p) => p.migration),
        history,
      ),
    );
    const ups = migrations.filter((p) => p.migration.direction === 'up');
    const replayed = ups.filter((p) => pending.has(p.migration));
    result.history = {
      table: history.table ?? null,
      tool: history.tool ?? null,
      applied: ups.length - replayed.length,
    };
    result.migrations = replayed.length;
    const broken = replayed.findIndex((p) => p.syntaxError !== undefined);
    const sequences = await existingSequences(client);
    // The history was read in this transaction: its locks are the dry-run's own, not a migration's.
    const held = new Set((await ownLocks(client)).map((lock) => `${lock.relation}\u0000${lock.mode}`));
    outer: for (const { migration, statements } of broken === -1 ? replayed : replayed.slice(0, broken)) {
      const lines = new LineIndex(migration.fileText);
      for (const statement of statements) {
        const at = lines.position(migration.offset + statement.start);
        const sql = migration.sql.slice(statement.start, statement.end);
        const skip =
          NOT_IN_TRANSACTION[statement.kind]?.(statement.node) ??
          (await outsideReason(client, statement, sequences));
        if (skip) {
          result.notRun.push({ file: migration.path, line: at.line, statement: sql, reason: skip });
          continue;
        }
        const fail = (code: string, message: string, offset = 0) => {
          const failedAt = lines.position(migration.offset + statement.start + Math.max(0, offset));
          result.failure = {
            file: migration.path,
            line: failedAt.line,
            column: failedAt.column,
            statement: sql,
            message,
            code,
          };
        };
        // The statement may use what is left of the deadline, and no more: the server cancels it then.
        const left = Math.floor(remainingMs());
        if (left <= 0) {
          fail(
            '57014',
            `the dry-run’s deadline of ${seconds} ran out before this statement (SQLSTATE 57014)`,
          );
          break outer;
        }
        const capped = left < statementTimeoutMs;
        if (capped) await client.query(`SET LOCAL statement_timeout = ${left}`);
        const tables = touchedRelations(statement);
        const before = await relfilenodes(client, tables);
        try {
          // The extended protocol takes one statement only, so nothing can ride along after a `;`.
          await client.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig);
        } catch (error) {
          const { code, position } = error as { code?: unknown; position?: string };
          if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) throw error;
          const offset = position ? Number(position) - 1 : 0;
          fail(
            code,
            capped && code === '57014'
              ? `the dry-run’s deadline of ${seconds} ran out during this statement (SQLSTATE 57014)`
              : describeFailure(code, error, tables, position ? sql.slice(offset) : ''),
            offset,
          );
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
    const syntax = replayed[broken]?.syntaxError;
    if (syntax && result.failure === undefined) {
      result.failure = {
        file: syntax.file,
        line: syntax.line,
        column: syntax.column,
        statement: syntax.statement,
        message: `not run: the migration does not parse (${syntax.message.split('. ')[0]})`,
      };
    }
  } catch (error) {
    if (abandoned) throw unanswered();
    if (error instanceof MigrationHistoryError) throw error;
    throw new DatabaseUnavailableError(
      `The dry-run on PostgreSQL at ${where} failed: ${safeMessage(error, options.databaseUrl)}`,
    );
  } finally {
    if (!abandoned) await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
    clearTimeout(watchdog);
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

function connectError(error: unknown, target: Target, where: string, url: string): DatabaseUnavailableError {
  const message = safeMessage(error, url);
  if (/does not support SSL/i.test(message)) {
    const why = target.loopback
      ? `which sslmode=${target.sslmode} asks for`
      : 'which a host other than localhost needs (sslmode=verify-full unless the URL says otherwise)';
    return new DatabaseUnavailableError(
      `PostgreSQL at ${where} does not offer TLS, ${why}: turn on TLS in the server, or connect without it on purpose (migration-check's "database-tls: disable", or sslmode=disable in the URL).`,
    );
  }
  if (isTlsFailure(error)) {
    return new DatabaseUnavailableError(
      `TLS to PostgreSQL at ${where} failed: ${message}. Give the CA that signed the server's certificate as sslrootcert=/path/to/ca.pem in the URL, or encrypt without checking the certificate ("database-tls: require").`,
    );
  }
  return new DatabaseUnavailableError(
    `Cannot connect to PostgreSQL at ${where}: ${message}; check that the database is running and that "database-url" points at it.`,
  );
}

/**
 * The condition, the objects the server names and the word of the statement it points at: identifiers
 * and the migration's own text, never a value from a row.
 */
function describeFailure(code: string, error: unknown, tables: string[], from: string): string {
  const fields = error as { constraint?: unknown; column?: unknown; table?: unknown };
  const name = (value: unknown) => `"${String(value).replace(/"/g, '""')}"`;
  const about = [
    typeof fields.constraint === 'string' ? `on constraint ${name(fields.constraint)}` : '',
    typeof fields.column === 'string' ? `in column ${name(fields.column)}` : '',
    typeof fields.table === 'string'
      ? `of table ${name(fields.table)}`
      : tables.length > 0
        ? `on ${tables.slice(0, 5).join(', ')}`
        : '',
  ].filter(Boolean);
  const word = /^(?:"(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$.]*|[^\s(),;]+)/u.exec(from)?.[0];
  if (word) about.push(`at ${word.slice(0, 64)}`);
  const condition = conditionName(code);
  return [`${condition ? `${condition} ` : ''}(SQLSTATE ${code})`, ...about].join(' ');
}

/** Sequences that existed before the dry-run began: an advance of these outlives the rollback. */
async function existingSequences(client: pg.Client): Promise<Set<number>> {
  const { rows } = await client.query<{ oid: number }>(
    "SELECT oid::int8 AS oid FROM pg_class WHERE relkind = 'S'",
  );
  return new Set(rows.map((row) => Number(row.oid)));
}

/** Why `statement` must not run, now that the database can say which sequences it would move. */
async function outsideReason(
  client: pg.Client,
  statement: Statement,
  existing: Set<number>,
): Promise<string | undefined> {
  const effects = outsideEffects(statement);
  if (effects.reason) return effects.reason;
  for (const { call, name } of effects.sequences) {
    const { rows } = await client.query<{ oid: number | null; name: string | null }>(
      'SELECT to_regclass($1)::oid::int8 AS oid, to_regclass($1)::text AS name',
      [name],
    );
    const [row] = rows;
    if (row?.oid !== null && row?.oid !== undefined && existing.has(Number(row.oid))) {
      return `${call}() would move the sequence ${row.name}, which a rollback does not undo`;
    }
  }
  for (const table of effects.inserts) {
    const { rows } = await client.query<{ oid: number; name: string }>(
      `SELECT s.oid::int8 AS oid, s.oid::regclass::text AS name
         FROM pg_class s
         JOIN pg_depend d ON d.refobjid = s.oid AND d.refclassid = 'pg_class'::regclass
         JOIN pg_attrdef a ON d.classid = 'pg_attrdef'::regclass AND d.objid = a.oid
        WHERE s.relkind = 'S' AND a.adrelid = to_regclass($1)
       UNION
       SELECT s.oid::int8, s.oid::regclass::text
         FROM pg_class s
         JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'i'
        WHERE s.relkind = 'S' AND d.refobjid = to_regclass($1)
        ORDER BY 2`,
      [table],
    );
    const drawn = rows.find((row) => existing.has(Number(row.oid)));
    if (drawn) {
      return `adding rows to ${table} draws from the sequence ${drawn.name}, which a rollback does not undo`;
    }
  }
  return undefined;
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
