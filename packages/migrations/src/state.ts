import type { Constraint, Node } from '@pgsql/types';
import type { Migration } from './discovery.js';
import { columnOf, droppedNames, relationName, typeInfo, unwrap } from './nodes.js';
import type { Schema } from './schema.js';
import type { NodeContext, Visitors } from './walker.js';

/** What one migration has done so far, statement by statement, and the schema all migrations define. */
export class MigrationState {
  lockTimeout = false;
  explicitTransaction = false;

  constructor(
    readonly migration: Migration,
    /** Whether the migration has more than one statement. */
    readonly multiStatement: boolean,
    readonly postgresVersion: number,
    readonly schema: Schema,
  ) {}

  /** Whether the tool that applies this migration runs it inside a transaction block. */
  inTransaction(): boolean {
    if (this.explicitTransaction) return true;
    const { format, transaction } = this.migration;
    if (format === 'dbmate') return transaction;
    // Flyway refuses to mix, and golang-migrate and Prisma send the file as one multi-statement query,
    // which PostgreSQL runs as one implicit transaction.
    if (format === 'flyway' || format === 'golang-migrate' || format === 'prisma') return this.multiStatement;
    return false;
  }

  /**
   * Whether this migration created the table (named with or without `public.`) before now: only then is
   * it new and empty. A table an earlier file created may hold data by now.
   */
  created(table: string): boolean {
    return this.schema.origin(table, this.migration) === 'new';
  }
}

/** The column a `CHECK (col IS NOT NULL)` covers. */
function notNullColumn(check: Constraint): string | undefined {
  const test = unwrap(check.raw_expr, 'NullTest');
  if (test?.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const fields = unwrap(test.arg, 'ColumnRef')?.fields ?? [];
  return fields.length === 1 ? unwrap(fields[0], 'String')?.sval : undefined;
}

/** Records a CHECK constraint; a nameless one gets PostgreSQL's name for it (`<table>_<column>_check`). */
function recordCheck(schema: Schema, table: string, check: Constraint, validated: boolean, column?: string) {
  const covered = notNullColumn(check);
  const name = check.conname ?? `${table.split('.').pop()}_${covered ?? column ?? ''}_check`;
  schema.setCheck(table, name, { notNullColumn: covered, validated });
}

/** A column definition's type, NOT NULL and CHECK constraints, into the schema. */
function recordColumn(schema: Schema, table: string, def: Node | undefined): void {
  const column = unwrap(def, 'ColumnDef');
  if (!column?.colname) return;
  const constraints = (column.constraints ?? []).map((c) => unwrap(c, 'Constraint'));
  const notNull = constraints.some((c) => c?.contype === 'CONSTR_NOTNULL' || c?.contype === 'CONSTR_PRIMARY');
  schema.setColumn(table, column.colname, { type: typeInfo(column.typeName), notNull });
  for (const check of constraints) {
    if (check?.contype === 'CONSTR_CHECK') recordCheck(schema, table, check, true, column.colname);
  }
}

/**
 * What a statement does to the state and the schema, recorded after the rules have looked at the node:
 * a rule sees the schema as it was before the node (the type a column had before ALTER COLUMN … TYPE).
 */
export const TRACKERS: Visitors<NodeContext> = {
  CreateStmt(create, ctx) {
    const { schema } = ctx.state;
    schema.createTable(ctx.table, ctx.state.migration);
    for (const element of create.tableElts ?? []) {
      recordColumn(schema, ctx.table, element);
      const constraint = unwrap(element, 'Constraint');
      // A new table is empty: its checks hold from the start, NOT VALID or not.
      if (constraint?.contype === 'CONSTR_CHECK') recordCheck(schema, ctx.table, constraint, true);
    }
  },
  CreateTableAsStmt(create, ctx) {
    const table = relationName(create.into?.rel);
    if (create.objtype === 'OBJECT_TABLE' && table !== '?')
      ctx.state.schema.createTable(table, ctx.state.migration);
  },
  AlterTableCmd(cmd, ctx) {
    if (ctx.parent?.kind !== 'AlterTableStmt') return;
    const { schema } = ctx.state;
    const { table } = ctx;
    const column = cmd.name ?? '';
    switch (cmd.subtype) {
      case 'AT_AddColumn':
        recordColumn(schema, table, cmd.def);
        break;
      case 'AT_DropColumn':
        schema.setColumn(table, column, undefined);
        break;
      case 'AT_SetNotNull':
      case 'AT_DropNotNull': {
        const known = schema.column(table, column);
        schema.setColumn(table, column, { ...known, notNull: cmd.subtype === 'AT_SetNotNull' });
        break;
      }
      case 'AT_AddConstraint': {
        const check = unwrap(cmd.def, 'Constraint');
        if (check?.contype === 'CONSTR_CHECK')
          recordCheck(schema, table, check, check.skip_validation !== true);
        break;
      }
      case 'AT_ValidateConstraint': {
        const check = schema.table(table)?.checks.get(column);
        if (check) schema.setCheck(table, column, { ...check, validated: true });
        break;
      }
      case 'AT_DropConstraint':
        schema.setCheck(table, column, undefined);
        break;
    }
  },
  ColumnDef(def, ctx) {
    // ALTER COLUMN … TYPE: the column keeps its NOT NULL and takes the new type.
    const column = columnOf(def, ctx.parent);
    if (column?.use !== 'type') return;
    const known = ctx.state.schema.column(ctx.table, column.column);
    ctx.state.schema.setColumn(ctx.table, column.column, {
      notNull: known?.notNull ?? false,
      type: column.type,
    });
  },
  IndexStmt(index, ctx) {
    if (index.idxname) ctx.state.schema.setIndex(index.idxname, ctx.table);
  },
  RenameStmt(rename, ctx) {
    const { schema } = ctx.state;
    const to = rename.newname ?? '';
    if (rename.renameType === 'OBJECT_TABLE') schema.renameTable(ctx.table, to);
    else if (rename.renameType === 'OBJECT_COLUMN') schema.renameColumn(ctx.table, rename.subname ?? '', to);
    else if (rename.renameType === 'OBJECT_TABCONSTRAINT') {
      const check = schema.table(ctx.table)?.checks.get(rename.subname ?? '');
      if (check) {
        schema.setCheck(ctx.table, rename.subname ?? '', undefined);
        schema.setCheck(ctx.table, to, check);
      }
    } else if (rename.renameType === 'OBJECT_INDEX') {
      const table = schema.indexTable(ctx.table);
      schema.setIndex(ctx.table, undefined);
      // ALTER INDEX s.i RENAME TO j keeps the schema s.
      const prefix = ctx.table.includes('.') ? `${ctx.table.split('.')[0]}.` : '';
      schema.setIndex(`${prefix}${to}`, table);
    }
  },
  DropStmt(drop, ctx) {
    const { schema } = ctx.state;
    if (drop.removeType === 'OBJECT_TABLE') for (const name of droppedNames(drop)) schema.dropTable(name);
    else if (drop.removeType === 'OBJECT_INDEX')
      for (const name of droppedNames(drop)) schema.setIndex(name, undefined);
  },
  VariableSetStmt(set, ctx) {
    if (set.name !== 'lock_timeout') return;
    if (set.kind !== 'VAR_SET_VALUE') {
      ctx.state.lockTimeout = false;
      return;
    }
    const value = unwrap(set.args?.[0], 'A_Const');
    const raw = value?.sval?.sval ?? value?.ival?.ival ?? 0;
    // 0 (or '0', '0s') turns the timeout off.
    ctx.state.lockTimeout = !/^0+(?:\D*)$/.test(`${raw}`);
  },
  TransactionStmt(transaction, ctx) {
    const kind = transaction.kind;
    if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') ctx.state.explicitTransaction = true;
    else if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK')
      ctx.state.explicitTransaction = false;
  },
};
