// The dry-run against a database that the migration tool has already brought up to date, as staging is:
// the earlier migrations are applied for real and recorded in the tool's own history table, the way the
// tool records them; only the pending ones may be replayed, and nothing may stay changed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type LocalPostgres, startPostgres } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { checkMigrations } from '../src/check.js';
import type { Format } from '../src/discovery.js';
import { MigrationInputError } from '../src/errors.js';
import { MigrationHistoryError } from '../src/history.js';
import { workspace } from './helpers.js';

const run = promisify(execFile);
const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';

let server: LocalPostgres;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** The three migrations of every case: the first two are applied on staging, the third is pending. */
const USERS = 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n';
const ORDERS =
  "SET lock_timeout = '2s';\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);\nINSERT INTO users VALUES (1, 'a@example.com');\n";
const PENDING = "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN name text;\n";

interface Tool {
  format: Format;
  files: Record<string, string>;
  /** The tool's history table, created and filled as the tool leaves it after the first two. */
  history: string;
  table: string;
}

const dbmate = (up: string) => `-- migrate:up\n${up}\n-- migrate:down\nSELECT 1;\n`;

const TOOLS: Record<string, Tool> = {
  flyway: {
    format: 'flyway',
    files: { 'db/V1__users.sql': USERS, 'db/V1_1__orders.sql': ORDERS, 'db/V2__name.sql': PENDING },
    // Flyway 10's table, as `flyway migrate` creates it.
    history: `CREATE TABLE flyway_schema_history (
        installed_rank integer NOT NULL PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
        type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum integer,
        installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
        execution_time integer NOT NULL, success boolean NOT NULL);
      INSERT INTO flyway_schema_history VALUES
        (1, '1', 'users', 'SQL', 'V1__users.sql', 1, 'ci', now(), 5, true),
        (2, '1.1', 'orders', 'SQL', 'V1_1__orders.sql', 2, 'ci', now(), 5, true);`,
    table: 'flyway_schema_history',
  },
  'golang-migrate': {
    format: 'golang-migrate',
    files: {
      'db/000001_users.up.sql': USERS,
      'db/000001_users.down.sql': 'DROP TABLE users;\n',
      'db/000002_orders.up.sql': ORDERS,
      'db/000003_name.up.sql': PENDING,
    },
    history: `CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
      INSERT INTO schema_migrations VALUES (2, false);`,
    table: 'schema_migrations',
  },
  dbmate: {
    format: 'dbmate',
    files: {
      'db/20240101000000_users.sql': dbmate(USERS),
      'db/20240102000000_orders.sql': dbmate(ORDERS),
      'db/20240103000000_name.sql': dbmate(PENDING),
    },
    history: `CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
      INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240102000000');`,
    table: 'schema_migrations',
  },
  prisma: {
    format: 'prisma',
    files: {
      'db/20240101000000_users/migration.sql': USERS,
      'db/20240102000000_orders/migration.sql': ORDERS,
      'db/20240103000000_name/migration.sql': PENDING,
    },
    // Prisma 5's table, as `prisma migrate deploy` creates it.
    history: `CREATE TABLE _prisma_migrations (
        id varchar(36) PRIMARY KEY NOT NULL, checksum varchar(64) NOT NULL, finished_at timestamptz,
        migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz,
        started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0);
      INSERT INTO _prisma_migrations VALUES
        ('a', 'x', now(), '20240101000000_users', NULL, NULL, now(), 1),
        ('b', 'y', now(), '20240102000000_orders', NULL, NULL, now(), 1);`,
    table: '_prisma_migrations',
  },
};

/** A database with USERS and ORDERS applied for real and `history` run: staging before a deployment. */
async function staging(name: string, history: string): Promise<string> {
  const url = await server.createDatabase(name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(USERS.replace(/;\n$/, ''));
    await client.query(ORDERS);
    await client.query(history);
  } finally {
    await client.end();
  }
  return url;
}

/** Schema and data, all of it: what must be the same after a dry-run. */
async function dump(url: string): Promise<string> {
  // pg_dump 15.14+ writes a random \restrict key into every dump unless it is given one.
  const { stdout } = await run(PG_DUMP, ['--restrict-key=migrationcheck', `--dbname=${url}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function check(files: Record<string, string>, url: string, format: Format, historyTable?: string) {
  const dir = await workspace(files);
  try {
    return await checkMigrations({ root: dir.path, paths: ['db'], format, databaseUrl: url, historyTable });
  } finally {
    await dir.remove();
  }
}

describe('the dry-run replays only the migrations the tool has not applied', () => {
  test.each(Object.entries(TOOLS))('%s', async (name, tool) => {
    const url = await staging(`staging_${name.replace('-', '_')}`, tool.history);
    const before = await dump(url);
    for (const format of [tool.format, 'auto'] as const) {
      const { report } = await check(tool.files, url, format);
      // Replaying the first migration again would fail on the existing table.
      expect(report.dryRun?.failure).toBeUndefined();
      expect(report.dryRun).toMatchObject({
        history: { table: tool.table, tool: name, applied: 2 },
        migrations: 1,
        executed: 1,
        notRun: [expect.objectContaining({ reason: expect.stringContaining('lock_timeout') })],
      });
      expect(report.dryRun?.locks).toEqual([
        expect.objectContaining({ relation: 'users', mode: 'AccessExclusiveLock' }),
      ]);
    }
    expect(await dump(url)).toBe(before);
  });

  test('a database without a history table gets every migration, from the first', async () => {
    const url = await server.createDatabase('staging_empty');
    const before = await dump(url);
    const { report } = await check(TOOLS.flyway?.files ?? {}, url, 'auto');
    expect(report.dryRun).toMatchObject({
      history: { table: null, tool: null, applied: 0 },
      migrations: 3,
      executed: 4,
    });
    expect(report.dryRun?.failure).toBeUndefined();
    expect(await dump(url)).toBe(before);
  });

  test('a migration that does not parse stops the dry-run only when it is pending', async () => {
    const tool = TOOLS.flyway as Tool;
    const url = await staging('staging_broken', tool.history);
    const before = await dump(url);
    const applied = await check({ ...tool.files, 'db/V1_1__orders.sql': 'SELEC 1;\n' }, url, 'flyway');
    expect(applied.report.dryRun).toMatchObject({ migrations: 1, executed: 1 });
    expect(applied.report.dryRun?.failure).toBeUndefined();
    const pending = await check({ ...tool.files, 'db/V2__name.sql': 'SELEC 1;\n' }, url, 'flyway');
    expect(pending.report.dryRun?.failure).toMatchObject({
      file: 'db/V2__name.sql',
      message: expect.stringContaining('not run: the migration does not parse'),
    });
    expect(pending.report.dryRun?.executed).toBe(0);
    expect(await dump(url)).toBe(before);
  });

  test('a golang-migrate database left dirty is refused with how to repair it, and nothing runs', async () => {
    const tool = TOOLS['golang-migrate'] as Tool;
    const url = await staging('staging_dirty', tool.history.replace('(2, false)', '(2, true)'));
    const before = await dump(url);
    const refused = check(tool.files, url, 'golang-migrate');
    await expect(refused).rejects.toThrow(MigrationHistoryError);
    await expect(refused).rejects.toThrow(/version 2 is dirty.*migrate force 2/);
    expect(await dump(url)).toBe(before);
  });
});

describe('a history table of its own name (history-table)', () => {
  // Each tool configured with a table name of its own, one of them in a schema of its own.
  const RENAMED: [string, string, string][] = [
    ['flyway', 'app.deploy_history', 'CREATE SCHEMA app;'],
    ['golang-migrate', 'migrate_state', ''],
    ['dbmate', 'applied_migrations', ''],
    ['prisma', 'prisma_log', ''],
  ];

  test.each(RENAMED)(
    '%s in %s: read there, by format and told by its columns',
    async (name, table, prelude) => {
      const tool = TOOLS[name] as Tool;
      const history = `${prelude}${tool.history.replaceAll(tool.table, table)}`;
      const url = await staging(`staging_renamed_${name.replace('-', '_')}`, history);
      const before = await dump(url);
      for (const format of [tool.format, 'auto'] as const) {
        const { report } = await check(tool.files, url, format, table);
        expect(report.dryRun?.failure).toBeUndefined();
        expect(report.dryRun).toMatchObject({
          history: { table, tool: name, applied: 2 },
          migrations: 1,
          executed: 1,
        });
      }
      // Without the name, the tool's default table is not there: every migration would be replayed.
      const { report } = await check(tool.files, url, tool.format);
      expect(report.dryRun).toMatchObject({ history: { table: null, applied: 0 }, migrations: 3 });
      expect(await dump(url)).toBe(before);
    },
  );

  test('a table that does not exist is refused, naming it, and nothing runs', async () => {
    const tool = TOOLS.flyway as Tool;
    const url = await staging('staging_missing_history', tool.history);
    const before = await dump(url);
    const refused = check(tool.files, url, 'auto', 'flyway_history');
    await expect(refused).rejects.toThrow(MigrationHistoryError);
    await expect(refused).rejects.toThrow(/flyway_history \(history-table\) does not exist in this database/);
    expect(await dump(url)).toBe(before);
  });

  test('a table that no tool keeps is refused with what was expected', async () => {
    const url = await staging('staging_not_history', 'CREATE TABLE notes (body text);');
    const refused = check(TOOLS.flyway?.files ?? {}, url, 'auto', 'notes');
    await expect(refused).rejects.toThrow(/notes \(history-table\) has none of the columns/);
  });

  test('a name that is not a plain table name is refused before anything connects', async () => {
    // No server listens at this address: a connection attempt would fail differently.
    const nowhere = 'postgres://nobody@127.0.0.1:9/none';
    for (const table of ['history; DROP TABLE users', '"quoted"', 'a.b.c', '']) {
      const refused = check(TOOLS.flyway?.files ?? {}, nowhere, 'flyway', table);
      await expect(refused).rejects.toThrow(MigrationInputError);
      await expect(refused).rejects.toThrow(/is not a table name: give the migration tool's history table/);
    }
  });
});
