import { describe, expect, test } from '@jest/globals';
import { parseConfig } from '../src/config.js';
import { RULE_IDS } from '../src/rules.js';
import { brief, lintFiles, rulesOf } from './helpers.js';

// Each migration file below starts with SET lock_timeout unless the test is about it, so the findings
// asserted are the ones the test is about.
const LOCKED = "SET lock_timeout = '2s';\n";

const lintOne = (sql: string, options: Parameters<typeof lintFiles>[1] = {}) =>
  lintFiles({ 'V2__change.sql': sql }, options);

describe('the real parser, not a grep', () => {
  test('DROP TABLE inside comments, string literals and dollar-quoted bodies is not flagged', async () => {
    const findings = await lintOne(
      `${LOCKED}-- DROP TABLE users;
/* DROP TABLE users; */
SELECT 'DROP TABLE users; TRUNCATE users' AS text, E'ALTER TABLE users DROP COLUMN id' AS escaped;
CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
  EXECUTE 'DROP TABLE users';
  TRUNCATE audit_log;
END
$body$;
DO $$ BEGIN DROP TABLE other; END $$;
`,
    );
    expect(findings).toEqual([]);
  });

  test('Drop Table in mixed case, third statement on line 40, with a quoted identifier: exact line and column', async () => {
    const padding = Array.from({ length: 38 }, (_, i) => `-- note ${i}`).join('\n');
    const findings = await lintOne(`${LOCKED}${padding}\nSELECT 1; select 2; Drop Table "Users Archive";\n`);
    expect(brief(findings)).toEqual(['drop-table@40:21']);
    expect(findings[0]?.message).toContain('Users Archive');
    expect(findings[0]?.statement).toBe('Drop Table "Users Archive"');
  });

  test('columns count characters, not UTF-8 bytes, after non-ASCII text on the same line', async () => {
    const findings = await lintOne(`${LOCKED}SELECT 'héllo wörld ✓'; TRUNCATE "naïve";\n`);
    expect(brief(findings)).toEqual(['truncate@2:25']);
  });

  test('a syntax error is a finding with its line and column, never a crash', async () => {
    const findings = await lintOne(
      'CREATE TABLE a (id bigint);\n\nALTER TABLE a ADD COLUMN b text;\nSELEC 1;\n',
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'syntax-error', severity: 'error', line: 4, column: 1 });
    expect(findings[0]?.message).toContain('syntax error at or near "SELEC"');
  });

  test('an unterminated dollar-quoted body is reported where it starts', async () => {
    const findings = await lintOne('SELECT 1;\nDO $$ BEGIN\n  PERFORM 1;\n');
    expect(brief(findings)).toEqual(['syntax-error@2:4']);
  });

  test('an empty file and a comment-only file have no findings', async () => {
    expect(await lintFiles({ 'V1__empty.sql': '', 'V2__comment.sql': '-- nothing yet\n' })).toEqual([]);
  });
});

describe('rules on realistic statements', () => {
  const cases: [string, string, string[]][] = [
    ['drop-table', 'DROP TABLE IF EXISTS public.sessions;', ['drop-table@2:1']],
    ['drop-column', 'ALTER TABLE users DROP COLUMN legacy_flag;', ['drop-column@2:1']],
    ['truncate', 'TRUNCATE TABLE events, sessions;', ['truncate@2:1']],
    [
      'add-not-null-column-without-default',
      'ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;',
      ['add-not-null-column-without-default@2:1'],
    ],
    ['rename-column', 'ALTER TABLE users RENAME COLUMN email TO email_address;', ['rename-column@2:1']],
    ['rename-table', 'ALTER TABLE users RENAME TO accounts;', ['rename-table@2:1']],
    [
      'create-index-non-concurrently',
      'CREATE INDEX users_email_idx ON users (email);',
      ['create-index-non-concurrently@2:1'],
    ],
    ['drop-index-non-concurrently', 'DROP INDEX users_email_idx;', ['drop-index-non-concurrently@2:1']],
    ['change-column-type', 'ALTER TABLE users ALTER COLUMN id TYPE bigint;', ['change-column-type@2:1']],
    ['set-not-null', 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;', ['set-not-null@2:1']],
    [
      'add-foreign-key-without-not-valid',
      'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
      ['add-foreign-key-without-not-valid@2:1'],
    ],
    [
      'add-check-constraint-without-not-valid',
      'ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0);',
      ['add-check-constraint-without-not-valid@2:1'],
    ],
    [
      'add-unique-constraint',
      'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);',
      ['add-unique-constraint@2:1'],
    ],
    ['add-primary-key', 'ALTER TABLE users ADD PRIMARY KEY (id);', ['add-primary-key@2:1']],
    [
      'add-column-volatile-default',
      'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
      ['add-column-volatile-default@2:1'],
    ],
    ['vacuum-full', 'VACUUM (FULL, ANALYZE) users;', ['vacuum-full@2:1']],
    ['cluster', 'CLUSTER users USING users_pkey;', ['cluster@2:1']],
    ['drop-database', 'DROP DATABASE legacy;', ['drop-database@2:1']],
    ['drop-schema', 'DROP SCHEMA reporting CASCADE;', ['drop-schema@2:1']],
  ];

  test.each(cases)('%s', async (_rule, sql, expected) => {
    expect(brief(await lintOne(`${LOCKED}${sql}\n`))).toEqual(expected);
  });

  test('every rule has at least one case here or below', () => {
    const covered = new Set([
      ...cases.map(([rule]) => rule),
      'syntax-error',
      'concurrently-in-transaction',
      'missing-lock-timeout',
      'prefer-bigint',
      'prefer-timestamptz',
      'prefer-text',
      'missing-down',
      'invalid-suppression',
    ]);
    expect(RULE_IDS.filter((id) => !covered.has(id))).toEqual([]);
  });

  test('messages say why it is dangerous and what the safe pattern is', async () => {
    const [finding] = await lintOne(
      `${LOCKED}ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users;\n`,
    );
    expect(finding?.message).toMatch(/validates every row|without NOT VALID/);
    expect(finding?.message).toContain('NOT VALID, then VALIDATE CONSTRAINT');
  });

  test('the safe patterns pass: NOT VALID, USING INDEX, CONCURRENTLY alone, constant DEFAULT', async () => {
    const findings = await lintFiles({
      'V1__fk.sql': `${LOCKED}ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT fk;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN seen_at timestamptz DEFAULT now();
`,
      'V2__index.sql': 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n',
    });
    expect(findings).toEqual([]);
  });

  test('a table created earlier in the same migration may be indexed, constrained and altered freely', async () => {
    const findings = await lintOne(`CREATE TABLE invoices (id bigint, amount numeric, customer bigint);
CREATE INDEX invoices_customer_idx ON invoices (customer);
ALTER TABLE invoices ADD PRIMARY KEY (id);
ALTER TABLE invoices ADD CONSTRAINT positive CHECK (amount > 0);
ALTER TABLE invoices ALTER COLUMN amount SET NOT NULL;
ALTER TABLE invoices ADD COLUMN note text NOT NULL;
`);
    expect(findings).toEqual([]);
  });

  test('binary-compatible type changes pass; narrowing, casts and USING are errors', async () => {
    const findings = await lintFiles({
      'V1__create.sql':
        'CREATE TABLE users (id bigint, name varchar(50), bio varchar(200), code varchar(10), n numeric(10,2));\n',
      'V2__alter.sql': `${LOCKED}ALTER TABLE users ALTER COLUMN name TYPE varchar(100);
ALTER TABLE users ALTER COLUMN bio TYPE text;
ALTER TABLE users ALTER COLUMN n TYPE numeric(12,2);
ALTER TABLE users ALTER COLUMN code TYPE varchar(5);
ALTER TABLE users ALTER COLUMN id TYPE int USING id::int;
ALTER TABLE users ALTER COLUMN n TYPE numeric(12,4);
`,
    });
    const types = findings.filter((f) => f.rule === 'change-column-type');
    expect(brief(types)).toEqual([
      'change-column-type@5:1',
      'change-column-type@6:1',
      'change-column-type@7:1',
    ]);
    expect(types[0]?.message).toContain('from varchar(10) to varchar(5)');
    expect(types[1]?.message).toContain('USING');
  });

  test('concurrently-in-transaction: after BEGIN, in dbmate (unless transaction:false), in multi-statement golang-migrate', async () => {
    const findings = await lintFiles({
      'plain/a.sql': 'BEGIN;\nCREATE INDEX CONCURRENTLY a_idx ON a (x);\nCOMMIT;\n',
      'plain/b.sql': 'CREATE INDEX CONCURRENTLY b_idx ON b (x);\n',
      'dbmate/20240101000000_a.sql':
        '-- migrate:up\nCREATE INDEX CONCURRENTLY c_idx ON c (x);\n-- migrate:down\nDROP INDEX CONCURRENTLY c_idx;\n',
      'dbmate/20240102000000_b.sql':
        '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY d_idx ON d (x);\n\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY d_idx;\n',
      'golang/1_a.up.sql': `${LOCKED}CREATE INDEX CONCURRENTLY e_idx ON e (x);\n`,
      'golang/1_a.down.sql': 'DROP INDEX CONCURRENTLY e_idx;\n',
    });
    const hits = findings.filter((f) => f.rule === 'concurrently-in-transaction');
    expect(hits.map((f) => `${f.file}:${f.line}`).sort()).toEqual([
      'dbmate/20240101000000_a.sql:2',
      'dbmate/20240101000000_a.sql:4',
      'golang/1_a.up.sql:2',
      'plain/a.sql:2',
    ]);
    expect(hits.find((f) => f.file.startsWith('golang'))?.message).toContain('one transaction block');
  });

  test('missing-lock-timeout: only for ACCESS EXCLUSIVE on existing tables, and not after SET lock_timeout', async () => {
    const findings = await lintFiles({
      'V1__no_timeout.sql':
        'CREATE TABLE t (id bigint);\nALTER TABLE t ADD COLUMN a text;\nALTER TABLE users ADD COLUMN b text;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\n',
      'V2__timeout.sql': "SET lock_timeout TO '1s';\nALTER TABLE users ADD COLUMN c text;\n",
      'V3__reset.sql':
        "SET lock_timeout = '1s';\nRESET lock_timeout;\nALTER TABLE users ADD COLUMN d text;\n",
      'V4__zero.sql': 'SET lock_timeout = 0;\nALTER TABLE users ADD COLUMN e text;\n',
    });
    const hits = findings.filter((f) => f.rule === 'missing-lock-timeout');
    expect(hits.map((f) => `${f.file}:${f.line}`)).toEqual([
      'V1__no_timeout.sql:3',
      'V3__reset.sql:3',
      'V4__zero.sql:2',
    ]);
    expect(hits[0]?.severity).toBe('info');
  });

  test('prefer-bigint, prefer-timestamptz, prefer-text are info', async () => {
    const findings = await lintOne(
      `${LOCKED}CREATE TABLE events (id serial, at timestamp, kind varchar(20), ok bigint, note text, t timestamptz);\n`,
    );
    expect(findings.map((f) => `${f.rule}:${f.severity}`)).toEqual([
      'prefer-bigint:info',
      'prefer-timestamptz:info',
      'prefer-text:info',
    ]);
  });
});

describe('postgres-version', () => {
  const sql = `${LOCKED}ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;\n`;

  test('a constant DEFAULT on ADD COLUMN is safe from PostgreSQL 11', async () => {
    expect(await lintOne(sql, { postgresVersion: 11 })).toEqual([]);
  });

  test('before 11 the same statement rewrites the table', async () => {
    const findings = await lintOne(sql, { postgresVersion: 10 });
    expect(brief(findings)).toEqual(['add-column-volatile-default@2:1']);
    expect(findings[0]?.message).toContain('before PostgreSQL 11');
  });

  test('SET NOT NULL explains that before 12 a validated CHECK does not help', async () => {
    const alter = `${LOCKED}ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n`;
    expect((await lintOne(alter, { postgresVersion: 11 }))[0]?.message).toContain(
      'PostgreSQL 11 cannot skip',
    );
    expect((await lintOne(alter, { postgresVersion: 15 }))[0]?.message).not.toContain('cannot skip');
  });
});

describe('down migrations', () => {
  test('destructive rules report at info in down/undo migrations of every format, at error in up', async () => {
    const drop = 'DROP TABLE widgets;\n';
    const findings = await lintFiles({
      'flyway/U3__widgets.sql': drop,
      'flyway/V3__widgets.sql': drop,
      'golang/3_widgets.down.sql': drop,
      'golang/3_widgets.up.sql': 'CREATE TABLE widgets (id bigint);\n',
      'dbmate/20240101000000_widgets.sql': `-- migrate:up\nCREATE TABLE widgets (id bigint);\n\n-- migrate:down\n${drop}`,
    });
    const drops = findings.filter((f) => f.rule === 'drop-table');
    expect(drops.map((f) => `${f.file}:${f.line}:${f.severity}`).sort()).toEqual([
      'dbmate/20240101000000_widgets.sql:5:info',
      'flyway/U3__widgets.sql:1:info',
      'flyway/V3__widgets.sql:1:error',
      'golang/3_widgets.down.sql:1:info',
    ]);
  });

  test('a non-destructive rule keeps its severity in a down migration', async () => {
    const findings = await lintFiles({ '7_x.down.sql': `${LOCKED}CREATE INDEX x_idx ON x (a);\n` });
    expect(findings.map((f) => `${f.rule}:${f.severity}`)).toEqual(['create-index-non-concurrently:warning']);
  });

  test('require-down fails up migrations without a counterpart', async () => {
    const files = {
      'db/1_a.up.sql': 'SELECT 1;\n',
      'db/1_a.down.sql': 'SELECT 1;\n',
      'db/2_b.up.sql': 'SELECT 2;\n',
      'flyway/V1__a.sql': 'SELECT 1;\n',
      'flyway/R__views.sql': 'SELECT 1;\n',
      'dbmate/20240101000000_c.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\n',
    };
    expect(await lintFiles(files)).toEqual([]);
    const findings = await lintFiles(files, { requireDown: true });
    expect(findings.map((f) => `${f.rule}:${f.file}:${f.line}`).sort()).toEqual([
      'missing-down:db/2_b.up.sql:1',
      'missing-down:dbmate/20240101000000_c.sql:1',
      'missing-down:flyway/V1__a.sql:1',
    ]);
  });
});

describe('suppression comments', () => {
  test('an ignore with a reason on the line before silences exactly those rules of that statement', async () => {
    const findings =
      await lintOne(`${LOCKED}-- migration-check:ignore drop-column,missing-lock-timeout column unused since v41
ALTER TABLE users DROP COLUMN legacy;
ALTER TABLE users DROP COLUMN other;
`);
    expect(brief(findings)).toEqual(['drop-column@4:1']);
  });

  test('an ignore without a reason still ignores, and warns that the reason is missing', async () => {
    const findings = await lintOne(`${LOCKED}SELECT 1; -- migration-check:ignore truncate
TRUNCATE sessions;
`);
    expect(findings.map((f) => `${f.rule}:${f.severity}`)).toEqual(['invalid-suppression:warning']);
    expect(findings[0]?.message).toContain('gives no reason');
  });

  test('an unknown rule id in an ignore is reported, and the real rule still fires', async () => {
    const findings = await lintOne(`${LOCKED}-- migration-check:ignore drop-tables typo in the id
DROP TABLE t;
`);
    expect(rulesOf(findings)).toEqual(['drop-table', 'invalid-suppression']);
  });

  test('an ignore inside a string literal is not a comment', async () => {
    const findings = await lintOne(
      `${LOCKED}SELECT '-- migration-check:ignore drop-table no'; DROP TABLE t;\n`,
    );
    expect(rulesOf(findings)).toEqual(['drop-table']);
  });
});

describe('config', () => {
  const config = parseConfig(
    {
      rules: { 'missing-lock-timeout': 'warning', 'prefer-bigint': 'off' },
      overrides: [
        { files: 'legacy/**', rules: { 'drop-table': 'warning' } },
        { files: ['legacy/V9__*.sql'], rules: { 'drop-table': 'off' } },
      ],
    },
    'migration-check.yml',
  );

  test('raises and lowers severities globally and per glob; later overrides win; off ignores', async () => {
    const drop = 'DROP TABLE t;\n';
    const findings = await lintFiles(
      {
        'new/V1__a.sql': drop,
        'legacy/V2__b.sql': drop,
        'legacy/V9__c.sql': drop,
        'new/V3__ids.sql': 'CREATE TABLE x (id int);\n',
      },
      { config },
    );
    expect(findings.map((f) => `${f.file}:${f.rule}:${f.severity}`).sort()).toEqual([
      'legacy/V2__b.sql:drop-table:warning',
      'legacy/V2__b.sql:missing-lock-timeout:warning',
      'legacy/V9__c.sql:missing-lock-timeout:warning',
      'new/V1__a.sql:drop-table:error',
      'new/V1__a.sql:missing-lock-timeout:warning',
    ]);
  });

  test('unknown rules, bad severities and unknown keys are refused with the file name', () => {
    expect(() => parseConfig({ rules: { 'drop-tables': 'off' } }, 'c.yml')).toThrow(
      /c\.yml is invalid: rules names unknown rule "drop-tables"/,
    );
    expect(() => parseConfig({ rules: { 'drop-table': 'fatal' } }, 'c.yml')).toThrow(
      /expected error, warning, info or off/,
    );
    expect(() => parseConfig({ rule: {} }, 'c.yml')).toThrow(/unknown key "rule"/);
    expect(() => parseConfig({ overrides: [{ rules: {} }] }, 'c.yml')).toThrow(/overrides\[0\]\.files/);
  });
});
