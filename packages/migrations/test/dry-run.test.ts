import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, type LocalPostgres, makeTempDir, startPostgres } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { discoverMigrations } from '../src/discovery.js';
import { type DryRunResult, dryRun } from '../src/dry-run.js';
import { DatabaseUnavailableError, MigrationInputError } from '../src/errors.js';
import { lintMigrations } from '../src/lint.js';
import { loadParser } from '../src/parser.js';
import { workspace } from './helpers.js';
import { enableTls, type NamedHost, startNamedHost } from './postgres-hosts.js';

const run = promisify(execFile);
const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';

let server: LocalPostgres;
let url: string;

const SCHEMA = `
CREATE TABLE users (id bigint PRIMARY KEY, email varchar(50), name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, amount int);
INSERT INTO users SELECT g, 'u' || g || '@example.com', 'n' FROM generate_series(1, 100) g;
INSERT INTO orders SELECT g, g, g FROM generate_series(1, 100) g;
CREATE SEQUENCE invoice_numbers;
CREATE TABLE events (id serial PRIMARY KEY, name text);
CREATE TABLE people (id bigint PRIMARY KEY, secret text);
INSERT INTO people VALUES (1, 'row-value-not-for-logs');
DO $$ BEGIN CREATE ROLE dryrun_low NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
`;

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('dryrun');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(SCHEMA);
  await client.end();
  await loadParser();
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

async function parsed(files: Record<string, string>) {
  const dir = await workspace(files);
  try {
    const migrations = await discoverMigrations({ paths: ['db'], root: dir.path });
    return lintMigrations(migrations, { postgresVersion: 15 }).parsed.filter(
      (p) => p.migration.direction === 'up',
    );
  } finally {
    await dir.remove();
  }
}

/** Runs `action` while another session holds a share lock on `table`. */
async function whileLocked<T>(table: string, action: () => Promise<T>): Promise<T> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${table} IN ACCESS SHARE MODE`);
    return await action();
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
  }
}

async function schemaDump(): Promise<string> {
  // pg_dump 15.14+ writes a random \restrict key into every dump unless it is given one.
  const { stdout } = await run(
    PG_DUMP,
    ['--schema-only', '--restrict-key=migrationcheck', `--dbname=${url}`],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return stdout;
}

async function rowCount(table: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0].n as number;
  } finally {
    await client.end();
  }
}

describe('dry-run on a real PostgreSQL', () => {
  test('records locks and rewrites, reports CONCURRENTLY as not run, and leaves the schema byte-for-byte unchanged', async () => {
    const before = await schemaDump();
    const result = await dryRun(
      await parsed({
        'db/V1__widen.sql':
          "SET lock_timeout = '1s';\nALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n",
        'db/V2__rewrite.sql':
          'ALTER TABLE orders ALTER COLUMN amount TYPE bigint;\nCREATE TABLE audit (id bigint);\n',
        'db/V3__index.sql': 'CREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n',
        'db/V4__truncate.sql': 'DELETE FROM users WHERE id > 50;\nDROP TABLE audit;\n',
      }),
      { databaseUrl: url },
    );
    expect(result.failure).toBeUndefined();
    expect(result.executed).toBe(5);
    expect(result.locks).toEqual(
      expect.arrayContaining([
        { file: 'db/V1__widen.sql', line: 2, relation: 'users', mode: 'AccessExclusiveLock' },
        { file: 'db/V2__rewrite.sql', line: 1, relation: 'orders', mode: 'AccessExclusiveLock' },
      ]),
    );
    // Widening varchar is binary-compatible: no rewrite. int → bigint rewrites orders.
    expect(result.rewrites.map((r) => `${r.file}:${r.line}:${r.relation}`)).toEqual([
      'db/V2__rewrite.sql:1:orders',
    ]);
    expect(result.rewrites[0]?.relfilenodeAfter).not.toBe(result.rewrites[0]?.relfilenodeBefore);
    expect(result.notRun).toEqual([
      expect.objectContaining({
        file: 'db/V1__widen.sql',
        line: 1,
        reason: expect.stringContaining('lock_timeout'),
      }),
      expect.objectContaining({
        file: 'db/V3__index.sql',
        line: 1,
        reason: expect.stringContaining('CONCURRENTLY'),
      }),
    ]);
    expect(result.database).toMatch(/^127\.0\.0\.1:\d+\/dryrun$/);

    expect(await schemaDump()).toBe(before);
    expect(await rowCount('users')).toBe(100);
  });

  test('a failing statement is reported with file, line and SQLSTATE; nothing before it stays', async () => {
    const before = await schemaDump();
    const result = await dryRun(
      await parsed({
        'db/V1__ok.sql':
          'CREATE TABLE kept_nowhere (id bigint);\nALTER TABLE users ADD COLUMN nickname text;\n',
        'db/V2__broken.sql': 'SELECT 1;\n\nALTER TABLE users ADD COLUMN nickname text;\nSELECT 2;\n',
      }),
      { databaseUrl: url },
    );
    expect(result.failure).toMatchObject({
      file: 'db/V2__broken.sql',
      line: 3,
      code: '42701',
      statement: 'ALTER TABLE users ADD COLUMN nickname text',
    });
    expect(result.failure?.message).toBe('duplicate_column (SQLSTATE 42701) on "users"');
    expect(result.executed).toBe(3);
    expect(await schemaDump()).toBe(before);
  });

  test('lock_timeout is set: a statement that waits for a lock another session holds fails fast', async () => {
    const result = await whileLocked('orders', async () =>
      dryRun(await parsed({ 'db/V1__lock.sql': 'ALTER TABLE orders ADD COLUMN x text;\n' }), {
        databaseUrl: url,
        lockTimeoutMs: 200,
      }),
    );
    expect(result.failure?.code).toBe('55P03');
    expect(result.failure?.message).toBe('lock_not_available (SQLSTATE 55P03) on "orders"');
  });

  test('a database that is down: the error names host and port, never the password', async () => {
    const port = await freePort();
    const secret = 'hunter2-do-not-print';
    const attempt = dryRun([], {
      databaseUrl: `postgres://app:${secret}@127.0.0.1:${port}/app`,
      connectTimeoutMs: 2_000,
    });
    await expect(attempt).rejects.toThrow(
      new RegExp(`Cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}`),
    );
    await expect(attempt).rejects.not.toThrow(secret);
  });

  test('a wrong password: named host and port, no password in the message', async () => {
    const wrong = url.replace(`:${encodeURIComponent(server.password)}@`, ':not-the-password@');
    const attempt = dryRun([], { databaseUrl: wrong });
    await expect(attempt).rejects.toThrow(/127\.0\.0\.1:\d+: password authentication failed/);
    await expect(attempt).rejects.not.toThrow('not-the-password');
  });

  test('an unreadable URL is refused without echoing it', async () => {
    await expect(dryRun([], { databaseUrl: 'postgres://u:p@ss@host:notaport/db' })).rejects.toThrow(
      /The database URL cannot be read/,
    );
    await expect(dryRun([], { databaseUrl: 'mysql://u:secret@h/db' })).rejects.toThrow(/scheme "mysql:"/);
  });
});

/** Runs `sql` as one migration file `db/V1__m.sql`. */
const runOne = async (sql: string, options: Partial<Parameters<typeof dryRun>[1]> = {}) =>
  dryRun(await parsed({ 'db/V1__m.sql': sql }), { databaseUrl: url, ...options });

const notRunLines = (result: DryRunResult) => result.notRun.map((skip) => skip.line);

describe('a migration cannot loosen the dry-run’s own limits', () => {
  test('SET lock_timeout in a migration is not run: the dry-run’s lock_timeout still holds', async () => {
    const result = await whileLocked('orders', () =>
      runOne('SET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN y text;\n', {
        lockTimeoutMs: 200,
        statementTimeoutMs: 3_000,
      }),
    );
    expect(result.notRun).toEqual([
      expect.objectContaining({ line: 1, reason: expect.stringContaining('lock_timeout') }),
    ]);
    expect(result.failure).toMatchObject({ line: 2, code: '55P03' });
  });

  test('SET statement_timeout, RESET ALL and set_config() of it are not run: the statement timeout still holds', async () => {
    const result = await runOne(
      "SET statement_timeout = 0;\nRESET ALL;\nSELECT set_config('statement_timeout', '0', false);\nSELECT pg_sleep(3);\n",
      { statementTimeoutMs: 300 },
    );
    expect(notRunLines(result)).toEqual([1, 2, 3]);
    expect(result.failure).toMatchObject({ line: 4, code: '57014' });
  });

  test('SET ROLE, SET SESSION AUTHORIZATION and idle_in_transaction_session_timeout are not run', async () => {
    const result = await runOne(
      [
        'SET idle_in_transaction_session_timeout = 1;',
        'SET ROLE dryrun_low;',
        'SET SESSION AUTHORIZATION dryrun_low;',
        'RESET role;',
        'CREATE TABLE made_by_the_owner (id int);',
        '',
      ].join('\n'),
    );
    expect(result.failure).toBeUndefined();
    expect(notRunLines(result)).toEqual([1, 2, 3, 4]);
    expect(result.notRun.map((skip) => skip.reason)).toEqual([
      expect.stringContaining('idle_in_transaction_session_timeout'),
      expect.stringContaining('role'),
      expect.stringContaining('session_authorization'),
      expect.stringContaining('role'),
    ]);
    expect(result.executed).toBe(1);
  });
});

describe('statements with effects outside the transaction are reported as not run', () => {
  test('sequences, COPY PROGRAM and server files, large objects, dblink, backends, extensions, LOAD and a DO block: nothing outside the transaction moves', async () => {
    const marker = join(tmpdir(), `dry-run-marker-${process.pid}`);
    const sequenceState = async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const invoices = await client.query('SELECT last_value, is_called FROM invoice_numbers');
        const events = await client.query('SELECT last_value, is_called FROM events_id_seq');
        const objects = await client.query('SELECT count(*)::int AS n FROM pg_largeobject_metadata');
        return [invoices.rows[0], events.rows[0], objects.rows[0]];
      } finally {
        await client.end();
      }
    };
    const before = await sequenceState();
    const result = await runOne(
      [
        "SELECT nextval('invoice_numbers');",
        "SELECT setval('public.invoice_numbers', 100);",
        "INSERT INTO events (name) VALUES ('drawn from events_id_seq');",
        `COPY users TO PROGRAM 'touch ${marker}';`,
        `COPY users TO '${marker}.csv';`,
        "SELECT lo_import('/etc/hostname');",
        "SELECT dblink_exec('dbname=postgres', 'CREATE TABLE escaped ()');",
        'SELECT pg_terminate_backend(pg_backend_pid());',
        'CREATE EXTENSION IF NOT EXISTS pgcrypto;',
        "LOAD 'auto_explain';",
        "DO $$ BEGIN PERFORM nextval('invoice_numbers'); END $$;",
        'CREATE SEQUENCE fresh_numbers;',
        "SELECT nextval('fresh_numbers');",
        'CREATE TABLE fresh_events (id serial, name text);',
        "INSERT INTO fresh_events (name) VALUES ('drawn from a sequence made in this transaction');",
        '',
      ].join('\n'),
    );
    expect(result.failure).toBeUndefined();
    expect(notRunLines(result)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(result.notRun.map((skip) => skip.reason)).toEqual([
      expect.stringContaining('invoice_numbers'),
      expect.stringContaining('invoice_numbers'),
      expect.stringContaining('events_id_seq'),
      expect.stringContaining('PROGRAM'),
      expect.stringContaining('file on the database server'),
      expect.stringContaining('lo_import'),
      expect.stringContaining('dblink_exec'),
      expect.stringContaining('pg_terminate_backend'),
      expect.stringContaining('CREATE EXTENSION'),
      expect.stringContaining('LOAD'),
      expect.stringContaining('nextval'),
    ]);
    expect(result.executed).toBe(4);
    expect(await sequenceState()).toEqual(before);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${marker}.csv`)).toBe(false);
  });
});

describe('a failure carries its SQLSTATE and place, not the server’s text', () => {
  test('a row value in the server’s message never reaches the result', async () => {
    const result = await runOne(
      'SELECT 1;\n\nALTER TABLE people ALTER COLUMN secret TYPE integer USING secret::integer;\n',
    );
    expect(result.failure).toEqual({
      file: 'db/V1__m.sql',
      line: 3,
      column: 1,
      statement: 'ALTER TABLE people ALTER COLUMN secret TYPE integer USING secret::integer',
      code: '22P02',
      message: 'invalid_text_representation (SQLSTATE 22P02) on "people"',
    });
    expect(JSON.stringify(result)).not.toContain('row-value-not-for-logs');
  });

  test('the tables the statement names, and the word of it the server points at, say where it failed', async () => {
    const missing = await runOne('ALTER TABLE invoices ADD COLUMN note text;\n');
    expect(missing.failure).toMatchObject({
      line: 1,
      column: 1,
      message: 'undefined_table (SQLSTATE 42P01) on "invoices"',
    });
    const column = await runOne('SELECT 1;\nSELECT id, nickname FROM users;\n');
    expect(column.failure).toMatchObject({
      line: 2,
      column: 12,
      message: 'undefined_column (SQLSTATE 42703) on "users" at nickname',
    });
  });

  test('a constraint violation names the constraint and table, not the key', async () => {
    const result = await runOne("INSERT INTO people VALUES (1, 'again');\n");
    expect(result.failure?.message).toBe(
      'unique_violation (SQLSTATE 23505) on constraint "people_pkey" of table "people"',
    );
  });
});

describe('an overall deadline', () => {
  test('ends a dry-run whose statements run long, whatever the statement timeout', async () => {
    const result = await runOne('SELECT 1;\nSELECT pg_sleep(20);\n', {
      deadlineMs: 1_500,
      statementTimeoutMs: 60_000,
    });
    expect(result.failure).toMatchObject({
      line: 2,
      code: '57014',
      message: 'the dry-run’s deadline of 1.5 s ran out during this statement (SQLSTATE 57014)',
    });
  });

  test('leaves a server that stops answering, and says so', async () => {
    const stalling = await startNamedHost(server, 'stall-here');
    try {
      const attempt = runOne("SELECT 'stall-here';\n", {
        databaseUrl: stalling.rewrite(url, { sslmode: 'disable' }),
        deadlineMs: 1_500,
      });
      const guard = new Promise((_, reject) => {
        setTimeout(() => reject(new Error('the dry-run was still waiting after 20 s')), 20_000).unref();
      });
      const error = await Promise.race([attempt, guard]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^PostgreSQL at ${stalling.host}:${stalling.port} did not answer within the dry-run’s deadline of 1\\.5 s`,
        ),
      );
    } finally {
      await stalling.close();
    }
  });
});

describe('a host that is not a loopback name, without TLS', () => {
  let named: NamedHost;
  beforeAll(async () => {
    named = await startNamedHost(server);
  });
  afterAll(() => named.close());

  test('is refused before any statement, naming how to opt out', async () => {
    const attempt = runOne('SELECT 1;\n', { databaseUrl: named.rewrite(url) });
    await expect(attempt).rejects.toThrow(DatabaseUnavailableError);
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^PostgreSQL at ${named.host}:${named.port} does not offer TLS, which a host other than localhost needs`,
      ),
    );
    expect(named.carried('SELECT 1')).toBe(false);
  });

  test('runs when the URL opts out with sslmode=disable', async () => {
    const result = await runOne('SELECT 1;\n', { databaseUrl: named.rewrite(url, { sslmode: 'disable' }) });
    expect(result.executed).toBe(1);
  });

  test('an sslmode that falls back to plain text is refused', async () => {
    for (const sslmode of ['prefer', 'allow', 'no-verify']) {
      await expect(runOne('SELECT 1;\n', { databaseUrl: named.rewrite(url, { sslmode }) })).rejects.toThrow(
        MigrationInputError,
      );
    }
  });

  test('a URL whose parameters send the connection to another host is refused', async () => {
    const redirected = `${url}?host=${named.host}&port=${named.port}`;
    await expect(runOne('SELECT 1;\n', { databaseUrl: redirected })).rejects.toThrow(
      /The database URL sets "host" as a parameter/,
    );
  });
});

describe('with TLS on the server', () => {
  let named: NamedHost;
  let ca: string;
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await makeTempDir('dry-run-tls');
    named = await startNamedHost(server);
    ca = (await enableTls(server, dir.path, [named.host])).certPath;
  }, 60_000);
  afterAll(async () => {
    await named?.close();
    await dir?.remove();
  });

  test('a host that is not a loopback name gets TLS with its certificate checked (verify-full)', async () => {
    const result = await runOne('SELECT 4242 AS over_tls;\n', {
      databaseUrl: named.rewrite(url, { sslrootcert: ca }),
    });
    expect(result.executed).toBe(1);
    expect(named.carried('over_tls')).toBe(false);
  });

  test('a certificate from an unknown CA is refused', async () => {
    await expect(runOne('SELECT 1;\n', { databaseUrl: named.rewrite(url) })).rejects.toThrow(
      new RegExp(`^TLS to PostgreSQL at ${named.host}:${named.port} failed: `),
    );
  });

  test('a certificate for another name is refused', async () => {
    const other = `${url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;
    await expect(runOne('SELECT 1;\n', { databaseUrl: other })).rejects.toThrow(
      /^TLS to PostgreSQL at 127\.0\.0\.1:\d+ failed: .*does not match/,
    );
  });

  test('sslmode=require encrypts without checking the certificate', async () => {
    const result = await runOne('SELECT 4343 AS required;\n', {
      databaseUrl: named.rewrite(url, { sslmode: 'require' }),
    });
    expect(result.executed).toBe(1);
    expect(named.carried('required')).toBe(false);
  });
});
