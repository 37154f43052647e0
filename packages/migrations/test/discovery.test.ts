import { describe, expect, test } from '@jest/globals';
import { discoverMigrations } from '../src/discovery.js';
import { MigrationInputError } from '../src/errors.js';
import { workspace } from './helpers.js';

const order = async (
  files: Record<string, string | Buffer>,
  options: { paths?: string[]; format?: 'auto' | 'flyway' } = {},
) => {
  const dir = await workspace(files);
  try {
    const found = await discoverMigrations({
      paths: options.paths ?? ['db'],
      root: dir.path,
      format: options.format,
    });
    return found.map((m) => `${m.path}:${m.format}:${m.direction}`);
  } finally {
    await dir.remove();
  }
};

describe('discovery', () => {
  test('detects each format and orders versions numerically (1.10 after 1.9), repeatables last', async () => {
    expect(
      await order({
        'db/V1.10__later.sql': 'SELECT 1;',
        'db/V1.9__earlier.sql': 'SELECT 1;',
        'db/U1.9__earlier.sql': 'SELECT 1;',
        'db/R__views.sql': 'SELECT 1;',
        'db/V2__last.sql': 'SELECT 1;',
      }),
    ).toEqual([
      'db/V1.9__earlier.sql:flyway:up',
      'db/U1.9__earlier.sql:flyway:down',
      'db/V1.10__later.sql:flyway:up',
      'db/V2__last.sql:flyway:up',
      'db/R__views.sql:flyway:up',
    ]);
    expect(
      await order({
        'db/10_ten.up.sql': 'SELECT 1;',
        'db/10_ten.down.sql': 'SELECT 1;',
        'db/9_nine.up.sql': 'SELECT 1;',
      }),
    ).toEqual([
      'db/9_nine.up.sql:golang-migrate:up',
      'db/10_ten.up.sql:golang-migrate:up',
      'db/10_ten.down.sql:golang-migrate:down',
    ]);
    expect(
      await order({
        'db/20240201000000_b/migration.sql': 'SELECT 1;',
        'db/20240101000000_a/migration.sql': 'SELECT 1;',
        'db/migration_lock.toml': 'provider = "postgresql"',
      }),
    ).toEqual(['db/20240101000000_a/migration.sql:prisma:up', 'db/20240201000000_b/migration.sql:prisma:up']);
    expect(
      await order({ 'db/002_b.sql': 'SELECT 1;', 'db/010_c.sql': 'SELECT 1;', 'db/001_a.sql': 'SELECT 1;' }),
    ).toEqual(['db/001_a.sql:plain:up', 'db/002_b.sql:plain:up', 'db/010_c.sql:plain:up']);
  });

  test('a dbmate file becomes an up and a down migration at the right offsets', async () => {
    const dir = await workspace({
      'db/20240101000000_users.sql':
        '-- migrate:up\nCREATE TABLE users (id bigint);\n\n-- migrate:down\nDROP TABLE users;\n',
    });
    try {
      const [up, down] = await discoverMigrations({ paths: ['db'], root: dir.path });
      expect(up).toMatchObject({ format: 'dbmate', direction: 'up', version: '20240101000000' });
      expect(up?.sql.trim()).toBe('CREATE TABLE users (id bigint);');
      expect(down?.direction).toBe('down');
      expect(down?.fileText.slice(down.offset).trim()).toBe('DROP TABLE users;');
    } finally {
      await dir.remove();
    }
  });

  test('globs and several paths are combined without duplicates', async () => {
    expect(
      await order(
        { 'a/V1__x.sql': 'SELECT 1;', 'b/V2__y.sql': 'SELECT 1;', 'b/notes.txt': 'not sql' },
        { paths: ['a/*.sql', 'b', 'a'] },
      ),
    ).toEqual(['a/V1__x.sql:flyway:up', 'b/V2__y.sql:flyway:up']);
  });

  test('a path that matches nothing is a clear error', async () => {
    await expect(order({ 'db/V1__x.sql': 'SELECT 1;' }, { paths: ['migrations'] })).rejects.toThrow(
      /The migrations path "migrations" matches no \.sql file/,
    );
    await expect(order({ 'db/V1__x.sql': 'SELECT 1;' }, { paths: ['db/**/*.psql'] })).rejects.toBeInstanceOf(
      MigrationInputError,
    );
  });

  test('binary and non-UTF-8 files are refused with the file name', async () => {
    await expect(
      order({ 'db/V1__blob.sql': Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]) }),
    ).rejects.toThrow(/db\/V1__blob\.sql is a binary file/);
    await expect(order({ 'db/V1__latin1.sql': Buffer.from("SELECT 'caf\xe9';", 'latin1') })).rejects.toThrow(
      /db\/V1__latin1\.sql is not valid UTF-8/,
    );
  });

  test('an explicit format refuses files that do not follow its naming', async () => {
    await expect(order({ 'db/001_init.sql': 'SELECT 1;' }, { format: 'flyway' })).rejects.toThrow(
      /db\/001_init\.sql is not a flyway migration \(expected V<version>__<name>\.sql/,
    );
  });
});
