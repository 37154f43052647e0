import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, type LocalPostgres, startPostgres } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { discoverMigrations } from '../src/discovery.js';
import { dryRun } from '../src/dry-run.js';
import { lintMigrations } from '../src/lint.js';
import { loadParser } from '../src/parser.js';
import { workspace } from './helpers.js';

const run = promisify(execFile);
const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';

let server: LocalPostgres;
let url: string;

const SCHEMA = `
CREATE TABLE users (id bigint PRIMARY KEY, email varchar(50), name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, amount int);
INSERT INTO users SELECT g, 'u' || g || '@example.com', 'n' FROM generate_series(1, 100) g;
INSERT INTO orders SELECT g, g, g FROM generate_series(1, 100) g;
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
    expect(result.executed).toBe(6);
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
        file: 'db/V3__index.sql',
        line: 1,
        reason: expect.stringContaining('CONCURRENTLY'),
      }),
    ]);
    expect(result.database).toMatch(/^127\.0\.0\.1:\d+\/dryrun$/);

    expect(await schemaDump()).toBe(before);
    expect(await rowCount('users')).toBe(100);
  });

  test('a failing statement is reported with file, line and PostgreSQL message; nothing before it stays', async () => {
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
    expect(result.failure?.message).toContain('column "nickname" of relation "users" already exists');
    expect(result.executed).toBe(3);
    expect(await schemaDump()).toBe(before);
  });

  test('lock_timeout is set: a statement that waits for a lock another session holds fails fast', async () => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE orders IN ACCESS SHARE MODE');
      const result = await dryRun(
        await parsed({ 'db/V1__lock.sql': 'ALTER TABLE orders ADD COLUMN x text;\n' }),
        {
          databaseUrl: url,
          lockTimeoutMs: 200,
        },
      );
      expect(result.failure?.code).toBe('55P03');
      expect(result.failure?.message).toContain('lock timeout');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
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
