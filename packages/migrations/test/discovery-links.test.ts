// Defects the discovery fuzz found: a symbolic link in a migrations directory led the walk to `/` (or
// in circles) and a linked file outside the workspace was read into the report; an unknown format gave
// a message with "undefined" in it.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { discoverMigrations, type Format } from '../src/discovery.js';
import { MigrationInputError } from '../src/errors.js';
import { workspace } from './helpers.js';

let outside: { path: string; remove(): Promise<void> };
beforeAll(async () => {
  outside = await makeTempDir('outside-workspace');
  await mkdir(join(outside.path, 'more'));
  await writeFile(join(outside.path, 'more', 'V5__outside.sql'), "SELECT 'outside-secret-content';\n");
});
afterAll(() => outside.remove());

const paths = async (root: string, entries: string[]) =>
  (await discoverMigrations({ paths: entries, root })).map((m) => m.path);

describe('symbolic links in the migrations', () => {
  test('a link to / or to its own parent is not followed: discovery ends with the migrations themselves', async () => {
    const dir = await workspace({ 'db/V1__a.sql': 'SELECT 1;\n' });
    try {
      await symlink('/', join(dir.path, 'db/all'));
      await symlink('..', join(dir.path, 'db/up'));
      for (const entry of ['db', 'db/**/*.sql', '**/*.sql']) {
        expect(await paths(dir.path, [entry])).toEqual(['db/V1__a.sql']);
      }
    } finally {
      await dir.remove();
    }
  }, 20_000);

  test('a migration file that is a link is refused, naming it, and nothing it points at is read', async () => {
    const dir = await workspace({ 'db/V1__a.sql': 'SELECT 1;\n' });
    try {
      await symlink(join(outside.path, 'more', 'V5__outside.sql'), join(dir.path, 'db/V2__b.sql'));
      await expect(paths(dir.path, ['db/V2__b.sql'])).rejects.toThrow(/leads out of the workspace/);
      for (const entry of ['db', 'db/*.sql']) {
        const attempt = paths(dir.path, [entry]);
        await expect(attempt).rejects.toThrow(MigrationInputError);
        await expect(attempt).rejects.toThrow(
          /^db\/V2__b\.sql is a symbolic link; migration-check reads migrations as files in the workspace and does not follow links/,
        );
      }
    } finally {
      await dir.remove();
    }
  });

  test('a path that leads out of the workspace through a link is refused', async () => {
    const dir = await workspace({ 'README.md': 'x' });
    try {
      await symlink(join(outside.path, 'more'), join(dir.path, 'migrations'));
      await expect(paths(dir.path, ['migrations'])).rejects.toThrow(
        /^The migrations path "migrations" leads out of the workspace through a symbolic link/,
      );
    } finally {
      await dir.remove();
    }
  });
});

test('an unknown format is refused, naming the ones there are', async () => {
  const dir = await workspace({ 'db/V1__a.sql': 'SELECT 1;\n' });
  try {
    await expect(
      discoverMigrations({ paths: ['db'], root: dir.path, format: 'liquibase' as Format }),
    ).rejects.toThrow(
      'The migration format "liquibase" is not one migration-check knows; use auto, plain, flyway, golang-migrate, dbmate, prisma.',
    );
  } finally {
    await dir.remove();
  }
});
