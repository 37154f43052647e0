import type { Migration } from './discovery.js';
import { columnOf, type TypeInfo, unwrap } from './nodes.js';
import type { NodeContext, Visitors } from './walker.js';

/** Column types seen so far, across migrations in order: what change-column-type compares against. */
export type Catalog = Map<string, Map<string, TypeInfo>>;

/** What one migration has done so far, statement by statement. */
export class MigrationState {
  readonly createdTables = new Set<string>();
  lockTimeout = false;
  explicitTransaction = false;

  constructor(
    readonly migration: Migration,
    readonly statementCount: number,
    readonly postgresVersion: number,
    readonly catalog: Catalog,
  ) {}

  /** Whether the tool that applies this migration runs it inside a transaction block. */
  inTransaction(): boolean {
    if (this.explicitTransaction) return true;
    const { format, transaction } = this.migration;
    if (format === 'dbmate') return transaction;
    // Flyway refuses to mix, and golang-migrate and Prisma send the file as one multi-statement query,
    // which PostgreSQL runs as one implicit transaction.
    if (format === 'flyway' || format === 'golang-migrate' || format === 'prisma')
      return this.statementCount > 1;
    return false;
  }

  /** Whether this migration created the table (named with or without its schema) before now. */
  created(table: string): boolean {
    return this.createdTables.has(table) || this.createdTables.has(table.split('.').pop() as string);
  }

  remember(table: string, column: string, type: TypeInfo | undefined): void {
    if (!type) return;
    let columns = this.catalog.get(table);
    if (!columns) {
      columns = new Map();
      this.catalog.set(table, columns);
    }
    columns.set(column, type);
  }
}

/**
 * What a statement does to the state, recorded after the rules have looked at the node: a rule sees the
 * migration as it was before the node (the type a column had before ALTER COLUMN … TYPE).
 */
export const TRACKERS: Visitors<NodeContext> = {
  CreateStmt(_node, ctx) {
    ctx.state.createdTables.add(ctx.table);
  },
  ColumnDef(def, ctx) {
    const column = columnOf(def, ctx.parent);
    if (column) ctx.state.remember(ctx.table, column.column, column.type);
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
