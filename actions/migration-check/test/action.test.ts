import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  freePort,
  type LocalPostgres,
  makeTempDir,
  repoRoot,
  runAction,
  startPostgres,
} from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import pg from 'pg';
import { checkMigrations } from '../../../packages/migrations/src/index.js';
import {
  enableTls,
  type NamedHost,
  startNamedHost,
} from '../../../packages/migrations/test/postgres-hosts.js';

const run = promisify(execFile);

async function workspace(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await makeTempDir('migration-check-ws');
  cleanups.push(dir.remove);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir.path, path)), { recursive: true });
    await writeFile(join(dir.path, path), content);
  }
  return dir.path;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** `accounts` created by V1, recorded as Flyway 10 records it, in a history table named `table`. */
const accountsAppliedByFlyway = (table: string) => `CREATE TABLE accounts (id bigint PRIMARY KEY);
  CREATE TABLE ${table} (installed_rank integer PRIMARY KEY, version varchar(50),
    description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL,
    checksum integer, installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
    execution_time integer NOT NULL, success boolean NOT NULL);
  INSERT INTO ${table} VALUES (1, '1', 'accounts', 'SQL', 'V1__accounts.sql', 7, 'ci', now(), 3, true);`;

const MIGRATIONS = {
  'migrations/V1__users.sql': 'CREATE TABLE users (id bigint PRIMARY KEY, email text);\n',
  'migrations/V2__orders.sql':
    "SET lock_timeout = '2s';\n-- DROP TABLE users; (a comment, not a statement)\nCREATE INDEX users_email_idx ON users (email);\nALTER TABLE users DROP COLUMN email;\n",
};

/** The SARIF 2.1.0 schema's complaints about `sarif`: none for a valid log. */
function validateSarif(sarif: unknown): unknown[] {
  const schema = JSON.parse(
    readFileSync(
      join(repoRoot, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'),
      'utf8',
    ),
  );
  // Both packages are CommonJS with `exports.default`, which the NodeNext view does not unwrap.
  const ajv = new AjvDraft04.default({ unicodeRegExp: false, allErrors: true, strict: false });
  (ajvFormats as unknown as typeof ajvFormats.default)(ajv);
  const validate = ajv.compile(schema);
  return validate(sarif) ? [] : (validate.errors ?? []);
}

const errorsOf = <T extends { level: string }>(annotations: T[]) =>
  annotations.filter((a) => a.level === 'error');

describe('migration-check action', () => {
  test('writes the JSON report, a schema-valid SARIF, outputs, annotations on file and line, and a summary; fails on errors', async () => {
    const ws = await workspace(MIGRATIONS);
    const result = await runAction('migration-check', {
      workspace: ws,
      inputs: { sarif: 'out/results.sarif' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toEqual({
      errors: '1',
      warnings: '1',
      report: 'migration-check.json',
      sarif: 'out/results.sarif',
    });
    expect(result.annotations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'warning', file: 'migrations/V2__orders.sql', line: 3, col: 1 }),
        expect.objectContaining({ level: 'error', file: 'migrations/V2__orders.sql', line: 4, col: 1 }),
      ]),
    );
    expect(errorsOf(result.annotations).at(-1)?.message).toMatch(
      /found 1 error\(s\) and 1 warning\(s\) \(fail-on: error\)/,
    );

    const report = JSON.parse(await readFile(join(ws, 'migration-check.json'), 'utf8'));
    expect(report.version).toBe(1);
    expect(report.files.map((f: { file: string }) => f.file)).toEqual([
      'migrations/V1__users.sql',
      'migrations/V2__orders.sql',
    ]);
    expect(report.findings).toEqual([
      expect.objectContaining({
        file: 'migrations/V2__orders.sql',
        line: 3,
        column: 1,
        rule: 'create-index-non-concurrently',
        severity: 'warning',
        statement: 'CREATE INDEX users_email_idx ON users (email)',
      }),
      expect.objectContaining({
        file: 'migrations/V2__orders.sql',
        line: 4,
        rule: 'drop-column',
        severity: 'error',
      }),
    ]);
    expect(report.dryRun).toBeNull();
    expect(result.summary).toContain('| migrations/V2__orders.sql | 1 | 1 | 0 |');

    // The SARIF validates against the 2.1.0 schema and carries the migration-check category.
    const sarif = JSON.parse(await readFile(join(ws, 'out/results.sarif'), 'utf8'));
    expect(validateSarif(sarif)).toEqual([]);
    expect(sarif.runs[0].automationDetails.id).toBe('migration-check/');
    expect(sarif.runs[0].results[1]).toMatchObject({
      ruleId: 'drop-column',
      level: 'error',
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'migrations/V2__orders.sql' },
            region: { startLine: 4 },
          },
        },
      ],
    });
  });

  test('thousands of findings: annotations capped at what GitHub shows with a notice, compact report and SARIF with every finding, one process, parsed on two threads as on one', async () => {
    // 700 errors and 700 warnings on a table the migrations do not create, among safe statements, in a
    // file large enough (over 256 KB) that the bundle restarts itself for the parse and parses on a
    // second thread too.
    const statements = ["SET lock_timeout = '2s';"];
    for (let i = 0; i < 700; i++) {
      statements.push(
        `CREATE TABLE t${i} (id bigint PRIMARY KEY, note text);`,
        `COMMENT ON TABLE t${i} IS '${'a note that pads the file; '.repeat(12)}';`,
        `ALTER TABLE users ADD COLUMN n${i} bigint NOT NULL;`,
        `CREATE INDEX users_n${i}_idx ON users (n${i});`,
      );
    }
    const sql = `${statements.join('\n')}\n`;
    expect(sql.length).toBeGreaterThan(256 * 1024);
    const ws = await workspace({ 'migrations/V1__many.sql': sql });
    const result = await runAction('migration-check', { workspace: ws, inputs: { sarif: 'out.sarif' } });

    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({ errors: '700', warnings: '700' });
    const levels = result.annotations.map((a) => a.level);
    // Nine findings and the step's own failure: GitHub's ten errors, every one of them shown.
    expect(levels.filter((l) => l === 'error')).toHaveLength(10);
    expect(levels.filter((l) => l === 'warning')).toHaveLength(10);
    expect(result.annotations.filter((a) => a.level === 'notice').map((a) => a.message)).toEqual([
      expect.stringMatching(
        /^691 more error\(s\) and 690 more warning\(s\) are not annotated, .* every finding is in migration-check\.json/,
      ),
    ]);
    expect(errorsOf(result.annotations).at(-1)?.message).toMatch(/found 700 error\(s\) and 700 warning\(s\)/);
    // Annotated once: the restarted process is the only one that reports.
    expect(result.annotations.filter((a) => a.line === 4 && a.level === 'error')).toHaveLength(1);

    const reportText = await readFile(join(ws, 'migration-check.json'), 'utf8');
    expect(reportText.indexOf('\n')).toBe(reportText.length - 1);
    const report = JSON.parse(reportText);
    expect(report.findings).toHaveLength(1400);
    expect(report.counts).toEqual({ error: 700, warning: 700, info: 0 });
    expect(report.findings[0]).toMatchObject({ line: 4, rule: 'add-not-null-column-without-default' });
    // The same findings as the check on one thread, in this process.
    const alone = await checkMigrations({ root: ws, paths: ['migrations'] });
    expect(report.findings).toEqual(JSON.parse(JSON.stringify(alone.report.findings)));

    const sarifText = await readFile(join(ws, 'out.sarif'), 'utf8');
    expect(sarifText.indexOf('\n')).toBe(sarifText.length - 1);
    const sarif = JSON.parse(sarifText);
    expect(validateSarif(sarif)).toEqual([]);
    expect(sarif.runs[0].results).toHaveLength(1400);
    expect(sarif.runs[0].results[1399]).toMatchObject({
      ruleId: 'create-index-non-concurrently',
      level: 'warning',
      locations: [{ physicalLocation: { region: { startLine: 2801 } } }],
    });
  });

  test('fail-on: never passes with errors; fail-on: warning fails on a warning alone', async () => {
    const ws = await workspace(MIGRATIONS);
    expect(
      (await runAction('migration-check', { workspace: ws, inputs: { 'fail-on': 'never' } })).exitCode,
    ).toBe(0);
    const warningsOnly = await workspace({
      'migrations/V1__idx.sql': "SET lock_timeout = '1s';\nCREATE INDEX i ON t (a);\n",
    });
    expect((await runAction('migration-check', { workspace: warningsOnly })).exitCode).toBe(0);
    const failed = await runAction('migration-check', {
      workspace: warningsOnly,
      inputs: { 'fail-on': 'warning' },
    });
    expect(failed.exitCode).toBe(1);
  });

  test('config and require-down inputs reach the rules', async () => {
    const ws = await workspace({
      ...MIGRATIONS,
      '.github/migration-check.yml': 'rules:\n  drop-column: warning\n',
    });
    const result = await runAction('migration-check', {
      workspace: ws,
      inputs: { config: '.github/migration-check.yml', 'require-down': 'true' },
    });
    // drop-column lowered to warning; two Flyway versions without U…__ undo migrations are errors.
    expect(result.outputs).toMatchObject({ errors: '2', warnings: '2' });
  });

  describe('bad input', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['a path that matches nothing', { path: 'db/migrations' }, /"db\/migrations" matches no \.sql file/],
      ['an unknown format', { format: 'liquibase' }, /Input "format" must be one of/],
      [
        'a postgres-version out of range',
        { 'postgres-version': '9' },
        /"postgres-version" must be a PostgreSQL major version from 10 to 18/,
      ],
      ['a bad fail-on', { 'fail-on': 'errors' }, /Input "fail-on" must be one of/],
      ['a non-boolean require-down', { 'require-down': 'yes' }, /"require-down" must be a boolean/],
      ['a missing config file', { config: 'nope.yml' }, /config file nope\.yml cannot be read/],
      [
        'changed-only outside a pull request',
        { 'changed-only': 'true' },
        /no pull request base to compare with/,
      ],
      ['an unreadable database URL', { 'database-url': 'not a url' }, /The database URL cannot be read/],
      [
        'a database-tls that falls back to plain text',
        { 'database-url': 'postgres://u:p@db.example:5432/app', 'database-tls': 'prefer' },
        /Input "database-tls" must be one of "verify-full", "verify-ca", "require", "disable"; got "prefer"/,
      ],
    ];
    test.each(cases)('%s: exit 1 with an error that says what to fix', async (_name, inputs, message) => {
      const ws = await workspace(MIGRATIONS);
      const result = await runAction('migration-check', { workspace: ws, inputs });
      expect(result.exitCode).toBe(1);
      expect(
        errorsOf(result.annotations)
          .map((a) => a.message)
          .join('\n'),
      ).toMatch(message);
      expect(result.outputs).toEqual({});
    });

    test('symbolic links: one to / is not followed, a migration that is a link is refused and not read', async () => {
      const ws = await workspace({ 'migrations/V1__a.sql': 'SELECT 1;\n' });
      await symlink('/', join(ws, 'migrations/all'));
      const walked = await runAction('migration-check', { workspace: ws });
      expect(walked.exitCode).toBe(0);
      const report = JSON.parse(await readFile(join(ws, 'migration-check.json'), 'utf8'));
      expect(report.files.map((f: { file: string }) => f.file)).toEqual(['migrations/V1__a.sql']);

      const outside = await workspace({ 'V9__outside.sql': "SELECT 'outside-secret-content';\n" });
      await symlink(join(outside, 'V9__outside.sql'), join(ws, 'migrations/V2__b.sql'));
      const linked = await runAction('migration-check', { workspace: ws });
      expect(linked.exitCode).toBe(1);
      expect(errorsOf(linked.annotations).map((a) => a.message)).toEqual([
        expect.stringMatching(
          /^migrations\/V2__b\.sql is a symbolic link; migration-check reads migrations as files/,
        ),
      ]);
      expect(linked.log).not.toContain('outside-secret-content');
    });

    test('a binary file and a non-UTF-8 file are refused with their names', async () => {
      const binary = await runAction('migration-check', {
        workspace: await workspace({ 'migrations/V1__x.sql': Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00]) }),
      });
      expect(binary.exitCode).toBe(1);
      expect(binary.annotations[0]?.message).toContain('migrations/V1__x.sql is a binary file');
      const latin1 = await runAction('migration-check', {
        workspace: await workspace({
          'migrations/V1__x.sql': Buffer.from("COMMENT ON TABLE t IS 'caf\xe9';", 'latin1'),
        }),
      });
      expect(latin1.exitCode).toBe(1);
      expect(latin1.annotations[0]?.message).toContain('migrations/V1__x.sql is not valid UTF-8');
    });
  });
});

describe('changed-only on a pull request', () => {
  test('lints only the files changed since the base commit (git diff <base>...HEAD)', async () => {
    const ws = await workspace({ 'migrations/V1__old.sql': 'DROP TABLE legacy;\n' });
    const git = (...args: string[]) =>
      run(
        'git',
        ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args],
        { cwd: ws },
      );
    await git('init', '-q', '-b', 'main');
    await git('add', '.');
    await git('commit', '-q', '-m', 'base');
    const base = (await git('rev-parse', 'HEAD')).stdout.trim();
    await git('checkout', '-q', '-b', 'feature');
    await writeFile(
      join(ws, 'migrations/V2__new.sql'),
      "SET lock_timeout = '1s';\nALTER TABLE users RENAME COLUMN a TO b;\n",
    );
    await git('add', '.');
    await git('commit', '-q', '-m', 'feature');
    const event = join(ws, '..', `event-${Date.now()}.json`);
    await writeFile(event, JSON.stringify({ pull_request: { base: { sha: base } } }));
    cleanups.push(async () => {
      await run('rm', ['-f', event]);
    });

    const result = await runAction('migration-check', {
      workspace: ws,
      env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event, GITHUB_BASE_REF: 'main' },
    });
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(await readFile(join(ws, 'migration-check.json'), 'utf8'));
    expect(report.files.map((f: { file: string }) => f.file)).toEqual(['migrations/V2__new.sql']);
    expect(report.findings.map((f: { rule: string }) => f.rule)).toEqual(['rename-column']);

    // changed-only: false checks everything, including the old DROP TABLE.
    const all = await runAction('migration-check', {
      workspace: ws,
      inputs: { 'changed-only': 'false' },
      env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event },
    });
    expect(all.outputs.errors).toBe('1');

    // Without the base commit in the clone, the error says how to fetch it.
    const shallow = await runAction('migration-check', {
      workspace: ws,
      env: {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: join(ws, 'missing.json'),
        GITHUB_BASE_REF: 'develop',
      },
    });
    expect(shallow.exitCode).toBe(1);
    expect(errorsOf(shallow.annotations)[0]?.message).toMatch(
      /git diff against origin\/develop failed.*fetch-depth: 0/,
    );
  });
});

describe('dry-run through the action', () => {
  let server: LocalPostgres;
  let url: string;

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase('app');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE users (id bigint PRIMARY KEY, email text)');
    await client.query('CREATE SEQUENCE invoice_no');
    await client.query('CREATE TABLE events (id serial PRIMARY KEY, name text)');
    await client.query('CREATE TABLE people (id bigint PRIMARY KEY, secret text)');
    await client.query("INSERT INTO people VALUES (1, 'row-value-not-for-logs')");
    await client.query('CREATE ROLE mc_low NOLOGIN');
    await client.end();
  }, 60_000);

  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  afterAll(async () => {
    await server?.stop();
  });

  test('reports locks and rewrites in the summary; the URL and password are masked', async () => {
    const { result, report } = await passing({
      'migrations/V3__email.sql':
        "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN id TYPE numeric;\n",
    });
    expect(result.masks).toEqual(expect.arrayContaining([url, server.password]));
    expect(result.log).not.toContain(server.password);
    expect(result.summary).toContain('#### Dry-run on 127.0.0.1:');
    expect(result.summary).toMatch(/\| migrations\/V3__email\.sql:2 \| users \| AccessExclusiveLock \|/);
    expect(result.summary).toMatch(/\| migrations\/V3__email\.sql:2 \| users \| \d+ → \d+ \|/);
    // The migration's own SET lock_timeout is not run: the dry-run keeps its own.
    expect(report.dryRun.executed).toBe(1);
    expect(report.dryRun.failure).toBeUndefined();
  });

  /** Dry-runs one migration file that fails on the database: exit 1 and the error on its line. */
  const failing = async (file: string, sql: string, line: number, message: string) => {
    const ws = await workspace({ [file]: sql });
    const result = await runAction('migration-check', { workspace: ws, inputs: { 'database-url': url } });
    expect(result.exitCode).toBe(1);
    expect(result.annotations).toEqual(
      expect.arrayContaining([expect.objectContaining({ level: 'error', file, line, message })]),
    );
    return { ws, result };
  };

  /** Dry-runs `files` (on the local database unless `inputs` say otherwise); the step passes. */
  const passing = async (files: Record<string, string>, inputs: Record<string, string> = {}) => {
    const ws = await workspace(files);
    const result = await runAction('migration-check', {
      workspace: ws,
      inputs: { 'database-url': url, 'fail-on': 'never', ...inputs },
    });
    expect(result.exitCode).toBe(0);
    return { result, report: JSON.parse(await readFile(join(ws, 'migration-check.json'), 'utf8')) };
  };

  test('against a database Flyway has migrated: only the pending migration is replayed; a dirty golang-migrate history is refused', async () => {
    const staging = await server.createDatabase('staging');
    const client = new pg.Client({ connectionString: staging });
    await client.connect();
    const rows = async () =>
      JSON.stringify(
        (
          await client.query(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
          )
        ).rows,
      );
    try {
      await client.query(accountsAppliedByFlyway('flyway_schema_history'));
      const before = await rows();
      const { result, report } = await passing(
        {
          'migrations/V1__accounts.sql': 'CREATE TABLE accounts (id bigint PRIMARY KEY);\n',
          'migrations/V2__name.sql': "SET lock_timeout = '2s';\nALTER TABLE accounts ADD COLUMN name text;\n",
        },
        { 'database-url': staging },
      );
      expect(report.dryRun).toMatchObject({
        history: { table: 'flyway_schema_history', tool: 'flyway', applied: 1 },
        migrations: 1,
        executed: 1,
      });
      expect(result.summary).toContain(
        '1 pending migration(s) replayed; 1 already applied according to `flyway_schema_history` (flyway) were not.',
      );
      expect(await rows()).toBe(before);

      await client.query(`DROP TABLE flyway_schema_history;
        CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
        INSERT INTO schema_migrations VALUES (1, true);`);
      const dirtyBefore = await rows();
      const dirty = await runAction('migration-check', {
        workspace: await workspace({
          'migrations/1_accounts.up.sql': 'CREATE TABLE accounts (id bigint PRIMARY KEY);\n',
          'migrations/2_name.up.sql': 'ALTER TABLE accounts ADD COLUMN name text;\n',
        }),
        inputs: { 'database-url': staging, format: 'golang-migrate' },
      });
      expect(dirty.exitCode).toBe(1);
      expect(errorsOf(dirty.annotations).map((a) => a.message)).toEqual([
        expect.stringMatching(/^schema_migrations says version 1 is dirty: .* run `migrate force 1`/),
      ]);
      expect(await rows()).toBe(dirtyBefore);
    } finally {
      await client.end();
    }
  });

  test('history-table: a Flyway table of its own name is read; a name that is not a table name is refused before anything runs', async () => {
    const staging = await server.createDatabase('staging_renamed');
    const client = new pg.Client({ connectionString: staging });
    await client.connect();
    try {
      await client.query(accountsAppliedByFlyway('deploy_history'));
      const files = {
        'migrations/V1__accounts.sql': 'CREATE TABLE accounts (id bigint PRIMARY KEY);\n',
        'migrations/V2__name.sql': "SET lock_timeout = '2s';\nALTER TABLE accounts ADD COLUMN name text;\n",
      };
      const { report } = await passing(files, { 'database-url': staging, 'history-table': 'deploy_history' });
      expect(report.dryRun).toMatchObject({
        history: { table: 'deploy_history', tool: 'flyway', applied: 1 },
        migrations: 1,
        executed: 1,
      });

      const ws = await workspace(files);
      const refused = await runAction('migration-check', {
        workspace: ws,
        inputs: { 'database-url': staging, 'history-table': 'deploy_history; DROP TABLE accounts' },
      });
      expect(refused.exitCode).toBe(1);
      expect(errorsOf(refused.annotations).map((a) => a.message)).toEqual([
        expect.stringMatching(/^history-table "deploy_history; DROP TABLE accounts" is not a table name/),
      ]);
      // Refused while reading the inputs: no report was written.
      await expect(readFile(join(ws, 'migration-check.json'))).rejects.toThrow(/ENOENT/);
      expect((await client.query("SELECT to_regclass('accounts') IS NOT NULL AS present")).rows).toEqual([
        { present: true },
      ]);
    } finally {
      await client.end();
    }
  });

  test('a migration that fails on the database: exit 1, the statement and line, database unchanged', async () => {
    await failing(
      'migrations/V4__bad.sql',
      "SET lock_timeout = '2s';\nCREATE TABLE t (id bigint);\nALTER TABLE users ADD COLUMN email text;\n",
      3,
      'Dry-run failed: duplicate_column (SQLSTATE 42701) on "users"',
    );
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query("SELECT to_regclass('public.t') AS t");
    await client.end();
    expect(rows[0].t).toBeNull();
  });

  test('SET ROLE or a timeout in a migration is not run, and the report says so', async () => {
    const { result, report } = await passing({
      'migrations/V5__role.sql':
        "SET lock_timeout = '2s';\nSET ROLE mc_low;\nCREATE TABLE made_by_the_owner (id int);\n",
    });
    expect(report.dryRun.failure).toBeUndefined();
    expect(report.dryRun.executed).toBe(1);
    expect(report.dryRun.notRun).toEqual([
      expect.objectContaining({ line: 1, reason: expect.stringContaining('lock_timeout') }),
      expect.objectContaining({ line: 2, reason: expect.stringContaining('role') }),
    ]);
    expect(result.summary).toContain('| migrations/V5__role.sql:2 | SET ROLE mc_low |');
  });

  test('nextval, an INSERT drawing from a sequence and COPY PROGRAM are not run; no sequence moves', async () => {
    const files = {
      'migrations/V6__data.sql': [
        "SET lock_timeout = '2s';",
        "SELECT nextval('invoice_no');",
        "INSERT INTO events (name) VALUES ('seeded');",
        "COPY users TO PROGRAM 'true';",
        '',
      ].join('\n'),
    };
    const sequences = () =>
      query(
        'SELECT (SELECT last_value FROM invoice_no) AS invoices, (SELECT last_value FROM events_id_seq) AS events, (SELECT is_called FROM invoice_no) AS called',
      );
    const before = await sequences();
    const { report } = await passing(files);
    expect(report.dryRun.notRun.map((skip: { line: number }) => skip.line)).toEqual([1, 2, 3, 4]);
    expect(report.dryRun.executed).toBe(0);
    expect(await sequences()).toEqual(before);
  });

  test('a failure reports the SQLSTATE and its line, never a row value from the server’s message', async () => {
    const { ws, result } = await failing(
      'migrations/V7__type.sql',
      "SET lock_timeout = '2s';\nALTER TABLE people ALTER COLUMN secret TYPE integer USING secret::integer;\n",
      2,
      'Dry-run failed: invalid_text_representation (SQLSTATE 22P02) on "people"',
    );
    const report = await readFile(join(ws, 'migration-check.json'), 'utf8');
    for (const text of [result.log, result.summary, report]) {
      expect(text).not.toContain('row-value-not-for-logs');
    }
  });

  describe('a host that is not a loopback name', () => {
    let named: NamedHost;
    const migrations = { 'migrations/V8__plain.sql': "SET lock_timeout = '2s';\nSELECT 'over-the-wire';\n" };
    beforeAll(async () => {
      named = await startNamedHost(server);
    });
    afterAll(() => named?.close());

    test('needs TLS: without it nothing runs, and the error says how to opt out', async () => {
      const ws = await workspace(migrations);
      for (const databaseUrl of [named.rewrite(url), named.rewrite(url, { sslmode: 'disable' })]) {
        const result = await runAction('migration-check', {
          workspace: ws,
          inputs: { 'database-url': databaseUrl },
        });
        expect(result.exitCode).toBe(1);
        expect(errorsOf(result.annotations).map((a) => a.message)).toEqual([
          expect.stringMatching(
            new RegExp(
              `^PostgreSQL at ${named.host}:${named.port} does not offer TLS, which a host other than localhost needs .*"database-tls: disable"`,
            ),
          ),
        ]);
        expect(result.outputs).toEqual({});
      }
      expect(named.carried('over-the-wire')).toBe(false);
    });

    test('database-tls: disable is the explicit opt-out', async () => {
      const { report } = await passing(migrations, {
        'database-url': named.rewrite(url),
        'database-tls': 'disable',
      });
      expect(report.dryRun.executed).toBe(1);
    });

    describe('with TLS on the server', () => {
      let ca: string;
      beforeAll(async () => {
        const dir = await makeTempDir('migration-check-tls');
        cleanups.push(dir.remove);
        ca = (await enableTls(server, dir.path, [named.host])).certPath;
      }, 60_000);

      test('verify-full by default: runs over TLS when the certificate checks out against the CA in the URL', async () => {
        const { report } = await passing(
          { 'migrations/V9__tls.sql': "SET lock_timeout = '2s';\nSELECT 'only-inside-tls';\n" },
          { 'database-url': named.rewrite(url, { sslrootcert: ca }) },
        );
        expect(report.dryRun.executed).toBe(1);
        expect(named.carried('only-inside-tls')).toBe(false);
      });

      test('a certificate the runner cannot check is refused, unless database-tls: require', async () => {
        const ws = await workspace(migrations);
        const refused = await runAction('migration-check', {
          workspace: ws,
          inputs: { 'database-url': named.rewrite(url) },
        });
        expect(refused.exitCode).toBe(1);
        expect(errorsOf(refused.annotations).map((a) => a.message)).toEqual([
          expect.stringMatching(/^TLS to PostgreSQL at .* failed: .*sslrootcert=.*"database-tls: require"/),
        ]);
        const required = await runAction('migration-check', {
          workspace: ws,
          inputs: { 'database-url': named.rewrite(url), 'database-tls': 'require' },
        });
        expect(required.exitCode).toBe(0);
      });
    });
  });

  test('a database that is down: the error names host and port, never the password', async () => {
    const port = await freePort();
    const password = 'n0t-in-the-log-please';
    const ws = await workspace(MIGRATIONS);
    const result = await runAction('migration-check', {
      workspace: ws,
      inputs: { 'database-url': `postgres://app:${password}@127.0.0.1:${port}/app` },
    });
    expect(result.exitCode).toBe(1);
    expect(errorsOf(result.annotations).at(-1)?.message).toContain(
      `Cannot connect to PostgreSQL at 127.0.0.1:${port}`,
    );
    expect(result.log).not.toContain(password);
  });
});
