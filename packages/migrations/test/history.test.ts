import { type LocalPostgres, startPostgres } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { discoverMigrations } from '../src/discovery.js';
import { type HistoryQuery, MigrationHistoryError, pendingMigrations, readHistory } from '../src/history.js';
import { workspace } from './helpers.js';

let postgres: LocalPostgres;

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

/** A fresh database with `setup` run in it, and a query function on it as the dry-run would pass. */
async function database(
  name: string,
  setup: string,
): Promise<{ query: HistoryQuery; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: await postgres.createDatabase(name) });
  await client.connect();
  if (setup !== '') await client.query(setup);
  return { query: (sql, params) => client.query(sql, params), close: () => client.end() };
}

/** Versions of the pending up migrations among `files`, for the database made by `setup`. */
async function pending(name: string, files: Record<string, string>, setup: string) {
  const dir = await workspace(files);
  const db = await database(name, setup);
  try {
    const migrations = await discoverMigrations({ paths: ['.'], root: dir.path });
    const history = await readHistory(db.query, 'auto');
    return { tool: history.tool, versions: pendingMigrations(migrations, history).map((m) => m.version) };
  } finally {
    await db.close();
    await dir.remove();
  }
}

const sql = 'SELECT 1;\n';

describe('pending migrations from the tool history table', () => {
  test('Flyway: only versions without a successful row in flyway_schema_history, 1_2 and 1.2 being one', async () => {
    const result = await pending(
      'flyway_db',
      {
        'V1__init.sql': sql,
        'V1_2__add.sql': sql,
        'V1_10__more.sql': sql,
        'V2__next.sql': sql,
        'U2__next.sql': sql,
      },
      `CREATE TABLE flyway_schema_history (installed_rank int, version varchar(50), description varchar(200),
         script varchar(1000), success boolean);
       INSERT INTO flyway_schema_history VALUES (1, '1', 'init', 'V1__init.sql', true),
         (2, '1.2', 'add', 'V1_2__add.sql', true), (3, '1.10', 'more', 'V1_10__more.sql', false);`,
    );
    expect(result).toEqual({ tool: 'flyway', versions: ['1_10', '2'] });
  });

  test("golang-migrate: everything above schema_migrations' version; a dirty version is refused", async () => {
    const files = {
      '1_init.up.sql': sql,
      '1_init.down.sql': sql,
      '2_add.up.sql': sql,
      '10_more.up.sql': sql,
    };
    const setup =
      'CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);';
    expect(
      await pending('golang_db', files, `${setup} INSERT INTO schema_migrations VALUES (2, false);`),
    ).toEqual({
      tool: 'golang-migrate',
      versions: ['10'],
    });
    await expect(
      pending('golang_dirty', files, `${setup} INSERT INTO schema_migrations VALUES (2, true);`),
    ).rejects.toThrow(MigrationHistoryError);
  });

  test('dbmate: versions without a row in schema_migrations', async () => {
    const file = (body: string) => `-- migrate:up\n${body}\n-- migrate:down\nSELECT 2;\n`;
    const result = await pending(
      'dbmate_db',
      { '20240101000000_init.sql': file(sql), '20240201000000_add.sql': file(sql) },
      `CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
       INSERT INTO schema_migrations VALUES ('20240101000000');`,
    );
    expect(result).toEqual({ tool: 'dbmate', versions: ['20240201000000'] });
  });

  test('Prisma: migrations not finished or rolled back in _prisma_migrations', async () => {
    const result = await pending(
      'prisma_db',
      {
        '20240101000000_init/migration.sql': sql,
        '20240201000000_add/migration.sql': sql,
        '20240301000000_more/migration.sql': sql,
      },
      `CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, migration_name varchar(255) NOT NULL,
         finished_at timestamptz, rolled_back_at timestamptz);
       INSERT INTO _prisma_migrations VALUES ('a', '20240101000000_init', now(), NULL),
         ('b', '20240201000000_add', now(), now()), ('c', '20240301000000_more', NULL, NULL);`,
    );
    expect(result).toEqual({ tool: 'prisma', versions: ['20240201000000', '20240301000000'] });
  });

  test('a database without a history table has applied nothing', async () => {
    expect(await pending('fresh_db', { 'V1__init.sql': sql, 'V2__next.sql': sql }, '')).toEqual({
      tool: undefined,
      versions: ['1', '2'],
    });
  });
});
