// Migration discovery gets 1,000 mutated trees from a seeded generator: real layouts of the five
// formats with odd names, damaged contents (invalid UTF-8, NUL bytes, huge files, thousands of dbmate
// markers), deep directories and symlinks that loop or lead out of the workspace, and odd `path`
// inputs. Each must end in migrations or a clear error (a MigrationInputError), never in another
// exception, a hang over 5 s or an exhausted heap. FUZZ_SEED=<n> replays or explores another seed.
import { expect, test } from '@jest/globals';
import { damageBytes, fuzz, hugeString, oddString, Random } from '../../../test/harness/fuzz.js';
import type { DiscoveryInput, TreeEntry } from './fuzz-targets.js';

const SEED = Number(process.env.FUZZ_SEED ?? 14_001);
const CASES = 1_000;

const LAYOUTS: Record<string, Record<string, string>> = {
  flyway: {
    'db/V1__create.sql': 'CREATE TABLE a (id int);\n',
    'db/V1.1__add.sql': 'ALTER TABLE a ADD COLUMN b text;\n',
    'db/U1.1__add.sql': 'ALTER TABLE a DROP COLUMN b;\n',
    'db/R__views.sql': 'CREATE OR REPLACE VIEW v AS SELECT 1;\n',
  },
  golang: {
    'migrations/1_init.up.sql': 'CREATE TABLE a (id int);\n',
    'migrations/1_init.down.sql': 'DROP TABLE a;\n',
    'migrations/2_more.up.sql': "SET lock_timeout = '1s';\nALTER TABLE a ADD COLUMN c int;\n",
  },
  dbmate: {
    'db/migrations/20240101000000_init.sql':
      '-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down transaction:false\nDROP TABLE a;\n',
  },
  prisma: {
    'prisma/migrations/20240101000000_init/migration.sql': 'CREATE TABLE "A" ("id" int);\n',
    'prisma/migrations/migration_lock.toml': 'provider = "postgresql"\n',
  },
  plain: { 'sql/a.sql': 'SELECT 1;\n', 'sql/nested/b.sql': 'SELECT 2;\n' },
};

const ODD_NAMES = [
  `V${'9'.repeat(40)}__big.sql`,
  `V${'1.'.repeat(300)}1__many.sql`,
  'V1__.sql',
  'V__x.sql',
  'V1_2__x.sql',
  '0_x.up.sql',
  `${'9'.repeat(30)}_x.down.sql`,
  'U__x.sql',
  'R__.sql',
  'migration.sql',
  '.hidden.sql',
  '-rf.sql',
  'a b.sql',
  'line\nbreak.sql',
  'é🙂.sql',
  `${'a'.repeat(250)}.sql`,
  'x.SQL',
  'x.sql.bak',
  '[x].sql',
  '*.sql',
];

const PATHS = [
  'db',
  'migrations',
  'db/migrations',
  'prisma/migrations',
  'sql',
  '.',
  '',
  'db/**/*.sql',
  '**/*.sql',
  '{db,sql}/**/*.sql',
  'missing',
  'db/V1__create.sql',
  '[',
  '**/**/**/**/*.sql',
  '*'.repeat(200),
  'a'.repeat(5_000),
  'db/../db',
  './db/',
];

function contents(random: Random, original: string): Buffer {
  const bytes = Buffer.from(original);
  switch (random.int(8)) {
    case 0:
      return damageBytes(bytes, random);
    case 1:
      return Buffer.concat([bytes, Buffer.from([0])]);
    case 2:
      return Buffer.from(hugeString(random));
    case 3:
      return Buffer.from('-- migrate:up\nSELECT 1;\n-- migrate:down\n'.repeat(random.pick([100, 10_000])));
    case 4:
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    case 5:
      return Buffer.from(original.replace(/\n/g, '\r\n'));
    default:
      return bytes;
  }
}

function tree(random: Random): DiscoveryInput {
  const layout = LAYOUTS[random.pick(Object.keys(LAYOUTS))] as Record<string, string>;
  const entries: TreeEntry[] = Object.entries(layout).map(([path, text]) => ({
    path,
    kind: 'file',
    bytes: random.chance(0.4) ? contents(random, text) : Buffer.from(text),
  }));
  const dirs = [...new Set(entries.map((e) => e.path.split('/').slice(0, -1).join('/')))];
  const changes = random.int(4);
  for (let i = 0; i < changes; i++) {
    const dir = random.pick(dirs);
    switch (random.int(7)) {
      case 0:
        entries.push({
          path: `${dir}/${random.pick(ODD_NAMES)}`,
          kind: 'file',
          bytes: Buffer.from('SELECT 1;\n'),
        });
        break;
      case 1: {
        const depth = random.pick([10, 40]);
        entries.push({
          path: `${dir}/${Array.from({ length: depth }, (_, n) => `d${n}`).join('/')}/V7__deep.sql`,
          kind: 'file',
          bytes: Buffer.from('SELECT 1;\n'),
        });
        break;
      }
      case 2:
        for (let n = 0; n < random.pick([20, 100]); n++)
          entries.push({
            path: `${dir}/V${n + 10}__many.sql`,
            kind: 'file',
            bytes: Buffer.from(`SELECT ${n};\n`),
          });
        break;
      case 3:
        // Symlinks a pull request can commit: a loop, the file system's root, a file outside, nowhere.
        entries.push({
          path: `${dir}/${random.pick(['loop', 'V8__link.sql', 'up', 'all'])}`,
          kind: 'symlink',
          target: random.pick(['.', '..', '/', '/etc/hostname', '/etc', 'missing.sql', '../..']),
        });
        break;
      case 4:
        entries.push({ path: `${dir}/V9__dir.sql`, kind: 'dir' });
        break;
      case 5:
        entries.push({
          path: `${dir}/${oddString(random).slice(0, 100)}.sql`,
          kind: 'file',
          bytes: Buffer.from('SELECT 1;'),
        });
        break;
      default: {
        const victim = random.pick(entries);
        victim.bytes = contents(random, Buffer.from(victim.bytes ?? '').toString('utf8'));
      }
    }
  }
  const paths = Array.from({ length: 1 + random.int(2) }, () => random.pick(PATHS));
  const format = random.chance(0.8)
    ? random.pick(['auto', 'plain', 'flyway', 'golang-migrate', 'dbmate', 'prisma'])
    : random.pick(['liquibase', '', 'AUTO']);
  return { entries, paths, format };
}

test(`1,000 mutated migration trees (seed ${SEED}): each ends in migrations or a clear error`, async () => {
  const random = new Random(SEED);
  const failures = await fuzz({
    module: new URL('./fuzz-targets.ts', import.meta.url).href,
    name: 'discovery',
    inputs: Array.from({ length: CASES }, () => tree(random)),
    describe: (input) =>
      JSON.stringify({
        paths: input.paths,
        format: input.format,
        entries: input.entries.map(
          (e) =>
            `${e.kind} ${e.path.slice(0, 80)}${e.target ? ` -> ${e.target}` : ''} ${e.bytes?.length ?? ''}`,
        ),
      }),
    acceptError: (error) =>
      error.code === 'MIGRATION_INPUT' &&
      error.fault === 'user' &&
      !/\bNaN\b|\bundefined\b|\[object /.test(error.message),
  });
  expect(failures).toEqual([]);
}, 180_000);
