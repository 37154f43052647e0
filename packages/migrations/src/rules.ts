export type Severity = 'error' | 'warning' | 'info';

export interface RuleInfo {
  /**
   * The rule's name in SARIF, where it must differ from the id; only where the id in PascalCase would
   * be the id again (a one-word id), since the name is otherwise derived from it.
   */
  name?: string;
  /** One line: what the rule catches. */
  title: string;
  severity: Severity;
  /** The safe way to do it (appended to every message of the rule). */
  fix: string;
}

/** Every rule: id → default severity, what it catches and the safe pattern. */
export const RULES = {
  'syntax-error': {
    title: 'The file does not parse as PostgreSQL SQL',
    severity: 'error',
    fix: 'Fix the SQL at the reported position; PostgreSQL would reject the migration here.',
  },
  'drop-table': {
    title: 'DROP TABLE deletes the table and its data',
    severity: 'error',
    fix: 'Stop using the table in a released version first, keep a backup, and drop it in a later migration.',
  },
  'drop-column': {
    title: 'DROP COLUMN deletes data and breaks code that still reads the column',
    severity: 'error',
    fix: 'Deploy code that no longer uses the column first, then drop it in a later migration.',
  },
  truncate: {
    name: 'TruncateTable',
    title: 'TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Delete rows in batches (DELETE … WHERE … LIMIT via a key range), or drop the data deliberately with a reviewed one-off script.',
  },
  'add-not-null-column-without-default': {
    title: 'ADD COLUMN … NOT NULL without a DEFAULT fails on a table that has rows',
    severity: 'error',
    fix: 'Add the column with a constant DEFAULT (instant from PostgreSQL 11), or add it nullable, backfill, then SET NOT NULL.',
  },
  'rename-column': {
    title: 'RENAME COLUMN breaks every running instance that uses the old name',
    severity: 'warning',
    fix: 'Add the new column, write to both, backfill, switch reads, then drop the old column in later releases.',
  },
  'rename-table': {
    title: 'RENAME TABLE breaks every running instance that uses the old name',
    severity: 'warning',
    fix: 'Create the new name as an updatable view (or the reverse) during the transition, then rename in a later release.',
  },
  'create-index-non-concurrently': {
    title: 'CREATE INDEX without CONCURRENTLY blocks all writes to the table while it builds',
    severity: 'warning',
    fix: 'Use CREATE INDEX CONCURRENTLY in a migration of its own (it cannot run in a transaction).',
  },
  'drop-index-non-concurrently': {
    title: 'DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table',
    severity: 'warning',
    fix: 'Use DROP INDEX CONCURRENTLY in a migration of its own (it cannot run in a transaction).',
  },
  'concurrently-in-transaction': {
    title: 'A CONCURRENTLY operation inside a transaction block fails',
    severity: 'error',
    fix: 'Put the CONCURRENTLY statement alone in its own migration, outside any transaction (dbmate: "-- migrate:up transaction:false").',
  },
  'change-column-type': {
    title: 'ALTER COLUMN … TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Add a new column of the new type, backfill in batches, switch the code over, then drop the old column; only binary-compatible changes (widening varchar(n), varchar → text) are instant.',
  },
  'set-not-null': {
    title: 'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration, then SET NOT NULL (PostgreSQL 12+ skips the scan), then drop the check.',
  },
  'add-foreign-key-without-not-valid': {
    title: 'ADD FOREIGN KEY validates every row while both tables are locked against writes',
    severity: 'warning',
    fix: 'Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).',
  },
  'add-check-constraint-without-not-valid': {
    title: 'ADD CHECK scans the whole table under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).',
  },
  'add-unique-constraint': {
    title: 'ADD UNIQUE builds an index under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX.',
  },
  'add-primary-key': {
    title: 'ADD PRIMARY KEY builds an index (and checks NOT NULL) under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … PRIMARY KEY USING INDEX.',
  },
  'add-column-volatile-default': {
    title: 'ADD COLUMN with a volatile DEFAULT rewrites the whole table under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Add the column without a default (or with a constant one), set the default afterwards, and backfill existing rows in batches.',
  },
  'vacuum-full': {
    title: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Use plain VACUUM, or an online repack tool (pg_repack) outside migrations.',
  },
  cluster: {
    name: 'ClusterTable',
    title: 'CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Use an online repack tool (pg_repack --order-by) outside migrations.',
  },
  'drop-database': {
    title: 'DROP DATABASE deletes a whole database',
    severity: 'error',
    fix: 'Never drop databases from application migrations; do it by hand after a backup.',
  },
  'drop-schema': {
    title: 'DROP SCHEMA deletes the schema (with CASCADE, everything in it)',
    severity: 'error',
    fix: 'Drop the objects you mean to drop explicitly, after the code no longer uses them.',
  },
  'missing-lock-timeout': {
    title: 'A statement takes ACCESS EXCLUSIVE on an existing table and no lock_timeout is set',
    severity: 'info',
    fix: "Start the migration with SET lock_timeout = '2s' so a waiting lock cannot queue every other query behind it; retry on timeout.",
  },
  'prefer-bigint': {
    title: 'integer/smallint columns run out of values on growing tables',
    severity: 'info',
    fix: 'Use bigint (or bigint GENERATED … AS IDENTITY instead of serial).',
  },
  'prefer-timestamptz': {
    title: 'timestamp without time zone loses the offset and misbehaves across time zones',
    severity: 'info',
    fix: 'Use timestamptz.',
  },
  'prefer-text': {
    title: 'varchar(n)/char(n) limits are changed later by a table-locking ALTER',
    severity: 'info',
    fix: 'Use text, with a CHECK (char_length(col) <= n) constraint when a limit matters.',
  },
  'missing-down': {
    title: 'require-down: the up migration has no down/undo counterpart',
    severity: 'error',
    fix: 'Add the down migration (golang-migrate: <version>_<name>.down.sql, Flyway: U<version>__<name>.sql, dbmate: a "-- migrate:down" section).',
  },
  'invalid-suppression': {
    title: 'A migration-check:ignore comment without a reason or with an unknown rule',
    severity: 'warning',
    fix: 'Write "-- migration-check:ignore <rule-id>[,<rule-id>] <why this is safe here>".',
  },
} as const satisfies Record<string, RuleInfo>;

export type RuleId = keyof typeof RULES;

export const RULE_IDS = Object.keys(RULES) as RuleId[];

/** The SARIF name of a rule: PascalCase, and never the id itself, whatever the case. */
export function ruleName(id: RuleId): string {
  const info: RuleInfo = RULES[id];
  return (
    info.name ??
    id
      .split('-')
      .map((w) => (w[0] ?? '').toUpperCase() + w.slice(1))
      .join('')
  );
}

export function isRuleId(value: string): value is RuleId {
  return Object.hasOwn(RULES, value);
}

/** In a down/undo migration dropping is the point: these rules report there at info. */
export const DESTRUCTIVE_RULES: ReadonlySet<RuleId> = new Set<RuleId>([
  'drop-table',
  'drop-column',
  'truncate',
  'drop-schema',
  'drop-database',
]);
