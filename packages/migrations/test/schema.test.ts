// The schema the migrations define, file by file, and what the rules decide from it: real SQL on
// PostgreSQL's own parser.
import { describe, expect, test } from '@jest/globals';
import { brief, lintFiles } from './helpers.js';

const LOCKED = "SET lock_timeout = '2s';\n";

describe('column types known from earlier files', () => {
  test('binary-compatible changes pass after renames of the column and the table; a narrowing names both types', async () => {
    const findings = await lintFiles({
      'V1__accounts.sql':
        'CREATE TABLE accounts (id bigint PRIMARY KEY, email varchar(100), note varchar(20), net cidr);\n',
      // An undo migration's changes are linted, not kept: the next version still sees the table.
      'U1__accounts.sql': 'DROP TABLE accounts;\n',
      'V2__rename.sql': `${LOCKED}ALTER TABLE accounts RENAME COLUMN note TO memo;\nALTER TABLE accounts RENAME TO customers;\n`,
      'V3__types.sql': `${LOCKED}ALTER TABLE customers ALTER COLUMN email TYPE varchar(200);
ALTER TABLE public.customers ALTER COLUMN memo TYPE text;
ALTER TABLE customers ALTER COLUMN net TYPE inet;
ALTER TABLE customers ALTER COLUMN email TYPE varchar(50);
ALTER TABLE legacy ALTER COLUMN code TYPE text;
`,
    });
    const types = findings.filter((f) => f.rule === 'change-column-type');
    expect(types.map((f) => `${f.file}:${f.line}`)).toEqual(['V3__types.sql:5', 'V3__types.sql:6']);
    expect(types[0]?.message).toContain('from varchar(200) to varchar(50)');
    expect(types[1]?.message).toContain('its current type is not in these migrations');
  });

  test('a migration that does not parse changes nothing in the schema, though its first piece did parse', async () => {
    // Pieces of 40 characters: the ALTER parses and is linted before the error in the next piece.
    const findings = await lintFiles(
      {
        'V1__t.sql': 'CREATE TABLE t (a varchar(10));\n',
        'V2__broken.sql': `${LOCKED}ALTER TABLE t ALTER COLUMN a TYPE int;\nSELEC 1;\n`,
        'V3__widen.sql': `${LOCKED}ALTER TABLE t ALTER COLUMN a TYPE varchar(20);\n`,
      },
      { chunkChars: 40 },
    );
    const problems = findings.filter((f) => f.severity !== 'info');
    expect(problems.map((f) => `${f.rule}@${f.file}:${f.line}`)).toEqual(['syntax-error@V2__broken.sql:3']);
  });
});

describe('SET NOT NULL and a validated CHECK (col IS NOT NULL)', () => {
  const files = {
    'V1__accounts.sql':
      'CREATE TABLE accounts (id bigint, email text, phone text, fax text, name text NOT NULL);\n',
    'V2__checks.sql': `${LOCKED}ALTER TABLE accounts ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE accounts ADD CONSTRAINT phone_nn CHECK (phone IS NOT NULL) NOT VALID;
ALTER TABLE accounts ADD CONSTRAINT fax_nn CHECK (fax IS NOT NULL) NOT VALID;
ALTER TABLE accounts ADD CONSTRAINT id_positive CHECK (id > 0) NOT VALID;
`,
    'V3__validate.sql': `${LOCKED}ALTER TABLE accounts VALIDATE CONSTRAINT email_nn;
ALTER TABLE accounts VALIDATE CONSTRAINT fax_nn;
ALTER TABLE accounts VALIDATE CONSTRAINT id_positive;
ALTER TABLE accounts DROP CONSTRAINT fax_nn;
`,
    'V4__not_null.sql': `${LOCKED}ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;
ALTER TABLE accounts ALTER COLUMN phone SET NOT NULL;
ALTER TABLE accounts ALTER COLUMN fax SET NOT NULL;
ALTER TABLE accounts ALTER COLUMN id SET NOT NULL;
ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;
`,
  };
  const setNotNull = async (postgresVersion: number) =>
    (await lintFiles(files, { postgresVersion }))
      .filter((f) => f.rule === 'set-not-null')
      .map((f) => `${f.file}:${f.line}`);

  test('from PostgreSQL 12 only the columns no validated check covers are flagged: not validated, dropped, another check', async () => {
    expect(await setNotNull(12)).toEqual(['V4__not_null.sql:3', 'V4__not_null.sql:4', 'V4__not_null.sql:5']);
  });

  test('before 12 the check does not spare the scan; a column already NOT NULL never needs one', async () => {
    expect(await setNotNull(11)).toEqual([
      'V4__not_null.sql:2',
      'V4__not_null.sql:3',
      'V4__not_null.sql:4',
      'V4__not_null.sql:5',
    ]);
  });

  test('a check validated in the same migration, and a check created with its table, count too', async () => {
    const findings = await lintFiles({
      'V1__t.sql':
        'CREATE TABLE t (a text, b text CHECK (b IS NOT NULL), CONSTRAINT a_nn CHECK (a IS NOT NULL));\n',
      'V2__u.sql': `${LOCKED}ALTER TABLE u ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;\nALTER TABLE u VALIDATE CONSTRAINT c_nn;\nALTER TABLE u ALTER COLUMN c SET NOT NULL;\n`,
      'V3__t.sql': `${LOCKED}ALTER TABLE t ALTER COLUMN a SET NOT NULL;\nALTER TABLE t ALTER COLUMN b SET NOT NULL;\n`,
    });
    expect(findings).toEqual([]);
  });
});

describe('new, earlier and unknown tables', () => {
  test('only a table created in the same migration file is new and empty', async () => {
    const findings = await lintFiles({
      'V1__early.sql':
        'CREATE TABLE early (id bigint, legacy text);\nCREATE INDEX early_idx ON early (id);\n',
      'V2__mixed.sql': `${LOCKED}CREATE TABLE fresh (id bigint, legacy text);
CREATE INDEX fresh_idx ON fresh (id);
ALTER TABLE fresh RENAME TO brand_new;
ALTER TABLE brand_new DROP COLUMN legacy;
TRUNCATE brand_new;
DROP INDEX fresh_idx;
ALTER TABLE brand_new ALTER COLUMN id SET NOT NULL;
ALTER TABLE early DROP COLUMN legacy;
TRUNCATE early, brand_new;
DROP INDEX early_idx;
CREATE INDEX early_id_idx ON early (id);
ALTER TABLE elsewhere DROP COLUMN legacy;
DROP INDEX elsewhere_idx;
`,
    });
    expect(brief(findings)).toEqual([
      'drop-column@9:1',
      'truncate@10:1',
      'drop-index-non-concurrently@11:1',
      'create-index-non-concurrently@12:1',
      'drop-column@13:1',
      'drop-index-non-concurrently@14:1',
    ]);
    expect(findings[1]?.message).toMatch(/^Truncates early\./);
  });

  test('without lock_timeout, dropping an index names its table where the migrations created it', async () => {
    const findings = await lintFiles({
      'V1__early.sql': 'CREATE TABLE early (id bigint);\nCREATE INDEX early_idx ON early (id);\n',
      'V2__drop.sql': 'DROP INDEX early_idx;\nDROP INDEX other_idx;\n',
    });
    const locks = findings.filter((f) => f.rule === 'missing-lock-timeout').map((f) => f.message);
    expect(locks).toEqual([
      expect.stringMatching(/^Takes an ACCESS EXCLUSIVE lock on early with no lock_timeout/),
      expect.stringMatching(/^Takes an ACCESS EXCLUSIVE lock on the table of index other_idx /),
    ]);
  });
});
