import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { type LocalPostgres, startPostgres } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('startPostgres', () => {
  let db: LocalPostgres;

  beforeAll(async () => {
    db = await startPostgres();
  });

  afterAll(async () => {
    await db?.stop();
  });

  test('runs SQL as a superuser over TCP on 127.0.0.1', async () => {
    expect(db.url).toBe(
      `postgres://${db.user}:${encodeURIComponent(db.password)}@127.0.0.1:${db.port}/${db.database}`,
    );
    const row = await withClient(db.url, async (client) => {
      const result = await client.query<{ version: string; superuser: boolean; fsync: string; addr: string }>(
        `SELECT current_setting('server_version_num') AS version,
                (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
                current_setting('fsync') AS fsync,
                inet_server_addr()::text AS addr`,
      );
      return result.rows[0];
    });
    expect(Number(row?.version)).toBeGreaterThanOrEqual(150000);
    expect(row?.superuser).toBe(true);
    expect(row?.fsync).toBe('off');
    expect(row?.addr).toBe('127.0.0.1/32');
  });

  test('creates a database that can be used through the returned URL', async () => {
    const url = await db.createDatabase('app_migrations');
    expect(url).toBe(db.url.replace(/\/postgres$/, '/app_migrations'));
    const names = await withClient(url, async (client) => {
      await client.query('CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)');
      await client.query("INSERT INTO users VALUES (1, 'a@example.com')");
      const result = await client.query<{ db: string; email: string }>(
        'SELECT current_database() AS db, email FROM users',
      );
      return result.rows;
    });
    expect(names).toEqual([{ db: 'app_migrations', email: 'a@example.com' }]);
  });

  test('refuses a database name that is not a plain identifier', async () => {
    await expect(db.createDatabase('x"; DROP DATABASE postgres; --')).rejects.toThrow(
      /not a plain identifier/,
    );
  });

  test('refuses a wrong password', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: db.port,
      user: db.user,
      database: db.database,
      password: `${db.password}x`,
    });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
    await client.end().catch(() => undefined);
  });

  test('rolls back DDL inside a transaction', async () => {
    const exists = await withClient(db.url, async (client) => {
      await client.query('BEGIN');
      await client.query('CREATE TABLE dry_run_probe (id int)');
      await client.query('ALTER TABLE dry_run_probe ADD COLUMN name text NOT NULL DEFAULT $$x$$');
      await client.query('ROLLBACK');
      const result = await client.query<{ table: string | null }>(
        "SELECT to_regclass('public.dry_run_probe')::text AS table",
      );
      return result.rows[0]?.table;
    });
    expect(exists).toBeNull();
  });
});

test('runs two clusters side by side without sharing anything', async () => {
  const [a, b] = await Promise.all([startPostgres(), startPostgres()]);
  try {
    expect(a.port).not.toBe(b.port);
    expect(a.dataDir).not.toBe(b.dataDir);
    expect(a.password).not.toBe(b.password);
    await withClient(a.url, (client) => client.query('CREATE TABLE only_in_a (id int)'));
    const inB = await withClient(b.url, async (client) => {
      const result = await client.query("SELECT to_regclass('public.only_in_a') AS t");
      return result.rows[0]?.t;
    });
    expect(inB).toBeNull();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('stop() ends open sessions, frees the port and removes the cluster directory', async () => {
  const db = await startPostgres();
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  expect(existsSync(db.dataDir)).toBe(true);
  expect(db.log()).toMatch(/ready to accept connections/);

  await db.stop();

  expect(existsSync(db.dataDir)).toBe(false);
  expect(await canListen(db.port)).toBe(true);
  await client.end().catch(() => undefined);
});
