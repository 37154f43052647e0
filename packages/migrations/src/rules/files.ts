import type { Rule } from '../rules.js';

/** Rules about a migration file rather than its statements: the lint reports them itself. */
export const FILE_RULES: readonly Rule[] = [
  {
    id: 'syntax-error',
    title: 'The file does not parse as PostgreSQL SQL',
    severity: 'error',
    fix: 'Fix the SQL at the reported position; PostgreSQL would reject the migration here.',
  },
  {
    id: 'missing-down',
    title: 'require-down: the up migration has no down/undo counterpart',
    severity: 'error',
    fix: 'Add the down migration (golang-migrate: <version>_<name>.down.sql, Flyway: U<version>__<name>.sql, dbmate: a "-- migrate:down" section).',
  },
  {
    id: 'invalid-suppression',
    title: 'A migration-check:ignore comment without a reason or with an unknown rule',
    severity: 'warning',
    fix: 'Write "-- migration-check:ignore <rule-id>[,<rule-id>] <why this is safe here>".',
  },
];
