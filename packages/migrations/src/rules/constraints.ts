import type { Constraint } from '@pgsql/types';
import { addedColumn, isAddedConstraint, relationName } from '../nodes.js';
import type { Rule } from '../rules.js';
import type { RuleContext } from '../walker.js';

/** ALTER TABLE … ADD CONSTRAINT on a table this migration did not create. */
const onExistingTable = (ctx: RuleContext) => isAddedConstraint(ctx.parent) && !ctx.fresh;

const nameOf = (constraint: Constraint) => (constraint.conname ? ` ${constraint.conname}` : '');

/**
 * Constraints added to existing tables, by ADD CONSTRAINT or with ADD COLUMN. In this order, a column's
 * UNIQUE, PRIMARY KEY and CHECK are reported in that order.
 */
export const CONSTRAINT_RULES: readonly Rule[] = [
  {
    id: 'add-foreign-key-without-not-valid',
    title: 'ADD FOREIGN KEY validates every row while both tables are locked against writes',
    severity: 'warning',
    fix: 'Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).',
    visitors: {
      Constraint(constraint, ctx) {
        if (constraint.contype !== 'CONSTR_FOREIGN' || constraint.skip_validation || !onExistingTable(ctx))
          return;
        ctx.report(
          `Adds foreign key${nameOf(constraint)} on ${ctx.table} referencing ${relationName(constraint.pktable)} without NOT VALID.`,
        );
      },
    },
  },
  {
    id: 'add-unique-constraint',
    title: 'ADD UNIQUE builds an index under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX.',
    visitors: {
      ColumnDef(def, ctx) {
        const column = addedColumn(def, ctx);
        if (column?.constraints.includes('CONSTR_UNIQUE'))
          ctx.report(`Adds UNIQUE column ${ctx.table}.${column.column}.`);
      },
      Constraint(constraint, ctx) {
        if (constraint.contype !== 'CONSTR_UNIQUE' || constraint.indexname || !onExistingTable(ctx)) return;
        ctx.report(`Adds UNIQUE constraint${nameOf(constraint)} on ${ctx.table}.`);
      },
    },
  },
  {
    id: 'add-primary-key',
    title: 'ADD PRIMARY KEY builds an index (and checks NOT NULL) under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … PRIMARY KEY USING INDEX.',
    visitors: {
      ColumnDef(def, ctx) {
        const column = addedColumn(def, ctx);
        if (column?.constraints.includes('CONSTR_PRIMARY'))
          ctx.report(`Adds PRIMARY KEY column ${ctx.table}.${column.column}.`);
      },
      Constraint(constraint, ctx) {
        if (constraint.contype !== 'CONSTR_PRIMARY' || constraint.indexname || !onExistingTable(ctx)) return;
        ctx.report(`Adds PRIMARY KEY${nameOf(constraint)} on ${ctx.table}.`);
      },
    },
  },
  {
    id: 'add-check-constraint-without-not-valid',
    title: 'ADD CHECK scans the whole table under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).',
    visitors: {
      ColumnDef(def, ctx) {
        const column = addedColumn(def, ctx);
        if (column?.constraints.includes('CONSTR_CHECK'))
          ctx.report(
            `Adds column ${ctx.table}.${column.column} with a CHECK constraint, checked against every row.`,
          );
      },
      Constraint(constraint, ctx) {
        if (constraint.contype !== 'CONSTR_CHECK' || constraint.skip_validation || !onExistingTable(ctx))
          return;
        ctx.report(`Adds CHECK constraint${nameOf(constraint)} on ${ctx.table} without NOT VALID.`);
      },
    },
  },
];
