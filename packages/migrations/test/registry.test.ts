import { beforeAll, describe, expect, test } from '@jest/globals';
import type { Migration } from '../src/discovery.js';
import { loadParser, parseSql } from '../src/parser.js';
import { REGISTRY } from '../src/rules/index.js';
import { DESTRUCTIVE_RULES, RULE_IDS, RULES, type Rule, ruleName } from '../src/rules.js';
import { Schema } from '../src/schema.js';
import { MigrationState, TRACKERS } from '../src/state.js';
import { type NodeContext, type Visitors, Walker } from '../src/walker.js';
import { lintFiles } from './helpers.js';

beforeAll(loadParser);

describe('the registry', () => {
  test('defines every rule id exactly once, and nothing else', () => {
    const ids = REGISTRY.map((rule) => rule.id);
    expect([...ids].sort()).toEqual([...RULE_IDS].sort());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of RULE_IDS) expect(RULES[id].id).toBe(id);
  });

  test('only the rules the lint reports itself have no visitors', () => {
    expect(REGISTRY.filter((rule) => rule.visitors === undefined).map((rule) => rule.id)).toEqual([
      'syntax-error',
      'missing-down',
      'invalid-suppression',
    ]);
  });

  test('SARIF names: PascalCase ids, and the one-word ids get names of their own', () => {
    expect(ruleName('truncate')).toBe('TruncateTable');
    expect(ruleName('cluster')).toBe('ClusterTable');
    expect(ruleName('add-primary-key')).toBe('AddPrimaryKey');
    for (const id of RULE_IDS) expect(ruleName(id).toLowerCase()).not.toBe(id.toLowerCase());
  });

  test('the destructive rules are the ones that drop data', () => {
    expect([...DESTRUCTIVE_RULES].sort()).toEqual([
      'drop-column',
      'drop-database',
      'drop-schema',
      'drop-table',
      'truncate',
    ]);
  });
});

const migration: Migration = {
  path: 'V1__x.sql',
  format: 'plain',
  direction: 'up',
  version: '1',
  sql: '',
  fileText: '',
  offset: 0,
  transaction: false,
  repeatable: false,
};

/** Walks `sql` with rules that log each visit as `rule:kind[:parent kind]`, and a tracker that does too. */
function visits(sql: string, rules: Record<string, (keyof Visitors)[]>, tracked: (keyof Visitors)[] = []) {
  const log: string[] = [];
  const visitor = (label: string, kinds: (keyof Visitors)[]) =>
    Object.fromEntries(
      kinds.map((kind) => [
        kind,
        (_node: unknown, ctx: NodeContext) =>
          log.push(`${label}:${kind}${ctx.parent ? `<${ctx.parent.kind}` : ''}@${ctx.table}`),
      ]),
    );
  const registry = Object.entries(rules).map(
    ([id, kinds]) => ({ ...RULES[id as Rule['id']], visitors: visitor(id, kinds) }) as Rule,
  );
  const walker = new Walker(registry, visitor('tracker', tracked) as Visitors<NodeContext>);
  const { statements } = parseSql(sql);
  const state = new MigrationState(migration, statements.length > 1, 15, new Schema());
  for (const statement of statements) walker.check(statement, state);
  return log;
}

describe('the walker', () => {
  test('children before their parent; at a node, rules in registry order, then trackers', () => {
    const log = visits(
      'ALTER TABLE s.t ADD COLUMN a int, ALTER COLUMN b TYPE text, ADD CONSTRAINT c CHECK (a > 0);',
      {
        'drop-table': ['AlterTableStmt', 'ColumnDef'],
        'drop-column': ['ColumnDef', 'AlterTableCmd', 'Constraint'],
      },
      ['ColumnDef', 'AlterTableStmt'],
    );
    expect(log).toEqual([
      'drop-table:ColumnDef<AlterTableCmd@s.t',
      'drop-column:ColumnDef<AlterTableCmd@s.t',
      'tracker:ColumnDef<AlterTableCmd@s.t',
      'drop-column:AlterTableCmd<AlterTableStmt@s.t',
      'drop-table:ColumnDef<AlterTableCmd@s.t',
      'drop-column:ColumnDef<AlterTableCmd@s.t',
      'tracker:ColumnDef<AlterTableCmd@s.t',
      'drop-column:AlterTableCmd<AlterTableStmt@s.t',
      'drop-column:Constraint<AlterTableCmd@s.t',
      'drop-column:AlterTableCmd<AlterTableStmt@s.t',
      'drop-table:AlterTableStmt@s.t',
      'tracker:AlterTableStmt@s.t',
    ]);
  });

  test('CREATE TABLE: its columns and table constraints, not the constraints inside a column', () => {
    const log = visits('CREATE TABLE t (a int PRIMARY KEY, b text, CHECK (a > 0));', {
      'drop-table': ['ColumnDef', 'Constraint', 'CreateStmt'],
    });
    expect(log).toEqual([
      'drop-table:ColumnDef<CreateStmt@t',
      'drop-table:ColumnDef<CreateStmt@t',
      'drop-table:Constraint<CreateStmt@t',
      'drop-table:CreateStmt@t',
    ]);
  });

  test('only statements and the children rules look at: not ALTER INDEX/VIEW/TYPE commands, not nested statements', () => {
    const log = visits(
      `ALTER INDEX i SET (fillfactor = 50);
ALTER VIEW v ALTER COLUMN a SET DEFAULT 1;
ALTER TYPE ty ADD ATTRIBUTE a int;
CREATE SCHEMA sc CREATE TABLE inner1 (a int) CREATE INDEX ii ON inner1 (a);
SELECT 1;`,
      { 'drop-table': ['AlterTableStmt', 'AlterTableCmd', 'ColumnDef', 'CreateStmt', 'IndexStmt'] },
    );
    expect(log).toEqual([
      'drop-table:AlterTableStmt@i',
      'drop-table:AlterTableStmt@v',
      'drop-table:AlterTableStmt@ty',
    ]);
  });

  test('a kind nothing is registered for is not visited', () => {
    expect(visits('CREATE INDEX i ON t (a); DROP TABLE t;', { 'drop-table': ['DropStmt'] })).toEqual([
      'drop-table:DropStmt@?',
    ]);
  });

  test('rules see the migration as it was before the node: the trackers record it afterwards', async () => {
    const seen: string[] = [];
    const probe: Rule = {
      ...RULES['change-column-type'],
      visitors: {
        ColumnDef(def, ctx) {
          const known = ctx.state.schema.column(ctx.table, def.colname ?? 'a')?.type?.name;
          seen.push(`${ctx.fresh ? 'fresh' : 'existing'} ${ctx.table} a:${known ?? 'unknown'}`);
        },
      },
    };
    const walker = new Walker([probe], TRACKERS);
    const { statements } = parseSql(
      'ALTER TABLE t ALTER COLUMN a TYPE int; ALTER TABLE t ALTER COLUMN a TYPE text; CREATE TABLE u (a int); ALTER TABLE u ADD COLUMN a int8;',
    );
    const state = new MigrationState(migration, statements.length > 1, 15, new Schema());
    for (const statement of statements) walker.check(statement, state);
    expect(seen).toEqual([
      'existing t a:unknown',
      'existing t a:int4',
      'existing u a:unknown',
      'fresh u a:int4',
    ]);
    expect(state.schema.column('u', 'a')?.type?.name).toBe('int8');
  });
});

describe('the order of a statement’s findings', () => {
  const LOCKED = "SET lock_timeout = '2s';\n";
  const rules = async (sql: string) => (await lintFiles({ 'V2__x.sql': sql })).map((f) => f.rule);

  test('CREATE TABLE: column by column, each column’s type rules in order', async () => {
    expect(await rules(`${LOCKED}CREATE TABLE t (a timestamp, b int, c varchar(5), d smallint);\n`)).toEqual([
      'prefer-timestamptz',
      'prefer-bigint',
      'prefer-text',
      'prefer-bigint',
    ]);
  });

  test('ADD COLUMN: its type, what adding it does, then its constraints; the lock last', async () => {
    expect(
      await rules(
        'ALTER TABLE users ADD COLUMN e timestamp DEFAULT now() NOT NULL CHECK (e > now()) UNIQUE PRIMARY KEY, ADD COLUMN f int NOT NULL, DROP COLUMN g;\n',
      ),
    ).toEqual([
      'prefer-timestamptz',
      'add-unique-constraint',
      'add-primary-key',
      'add-check-constraint-without-not-valid',
      'prefer-bigint',
      'add-not-null-column-without-default',
      'drop-column',
      'missing-lock-timeout',
    ]);
  });

  test('ALTER COLUMN … TYPE: the type rule before the change', async () => {
    expect(await rules(`${LOCKED}ALTER TABLE users ALTER COLUMN id TYPE int;\n`)).toEqual([
      'prefer-bigint',
      'change-column-type',
    ]);
  });
});
