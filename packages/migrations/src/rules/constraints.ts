import type { Constraint, ConstrType } from '@pgsql/types';
import { addedColumn, isAddedConstraint, relationName } from '../nodes.js';
import type { Rule } from '../rules.js';
import type { Visitors } from '../walker.js';

const nameOf = (constraint: Constraint) => (constraint.conname ? ` ${constraint.conname}` : '');

interface Messages {
  /** What ADD COLUMN with the constraint does to `table.column`; none: the rule is about ADD CONSTRAINT. */
  column?: (where: string) => string;
  /** What ADD CONSTRAINT does. */
  constraint: (constraint: Constraint, table: string) => string;
  /** The safe form of ADD CONSTRAINT (NOT VALID, USING INDEX). */
  safe: (constraint: Constraint) => boolean;
}

/** A rule on one type of constraint added to a table this migration did not create. */
function constraintRule(rule: Omit<Rule, 'visitors'>, contype: ConstrType, messages: Messages): Rule {
  const { column: columnMessage } = messages;
  const visitors: Visitors = {
    Constraint(constraint, ctx) {
      if (constraint.contype !== contype || messages.safe(constraint)) return;
      if (isAddedConstraint(ctx.parent) && !ctx.fresh) ctx.report(messages.constraint(constraint, ctx.table));
    },
    ...(columnMessage && {
      ColumnDef(def, ctx) {
        const column = addedColumn(def, ctx);
        if (column?.constraints.includes(contype)) ctx.report(columnMessage(`${ctx.table}.${column.column}`));
      },
    }),
  };
  return { ...rule, visitors };
}

/**
 * Constraints added to existing tables, by ADD CONSTRAINT or with ADD COLUMN. In this order, a column's
 * UNIQUE, PRIMARY KEY and CHECK are reported in that order.
 */
export const CONSTRAINT_RULES: readonly Rule[] = [
  constraintRule(
    {
      id: 'add-foreign-key-without-not-valid',
      title: 'ADD FOREIGN KEY validates every row while both tables are locked against writes',
      severity: 'warning',
      fix: 'Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).',
    },
    'CONSTR_FOREIGN',
    {
      constraint: (fk, table) =>
        `Adds foreign key${nameOf(fk)} on ${table} referencing ${relationName(fk.pktable)} without NOT VALID.`,
      safe: (fk) => fk.skip_validation === true,
    },
  ),
  constraintRule(
    {
      id: 'add-unique-constraint',
      title: 'ADD UNIQUE builds an index under an ACCESS EXCLUSIVE lock',
      severity: 'warning',
      fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX.',
    },
    'CONSTR_UNIQUE',
    {
      column: (where) => `Adds UNIQUE column ${where}.`,
      constraint: (unique, table) => `Adds UNIQUE constraint${nameOf(unique)} on ${table}.`,
      safe: (unique) => Boolean(unique.indexname),
    },
  ),
  constraintRule(
    {
      id: 'add-primary-key',
      title: 'ADD PRIMARY KEY builds an index (and checks NOT NULL) under an ACCESS EXCLUSIVE lock',
      severity: 'warning',
      fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … PRIMARY KEY USING INDEX.',
    },
    'CONSTR_PRIMARY',
    {
      column: (where) => `Adds PRIMARY KEY column ${where}.`,
      constraint: (primary, table) => `Adds PRIMARY KEY${nameOf(primary)} on ${table}.`,
      safe: (primary) => Boolean(primary.indexname),
    },
  ),
  constraintRule(
    {
      id: 'add-check-constraint-without-not-valid',
      title: 'ADD CHECK scans the whole table under an ACCESS EXCLUSIVE lock',
      severity: 'warning',
      fix: 'Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).',
    },
    'CONSTR_CHECK',
    {
      column: (where) => `Adds column ${where} with a CHECK constraint, checked against every row.`,
      constraint: (check, table) => `Adds CHECK constraint${nameOf(check)} on ${table} without NOT VALID.`,
      safe: (check) => check.skip_validation === true,
    },
  ),
];
