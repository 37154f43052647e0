import { droppedNames, unwrap } from '../nodes.js';
import type { Rule } from '../rules.js';
import type { RuleContext } from '../walker.js';

/** Reports a CONCURRENTLY statement when the tool that applies the migration runs it in a transaction. */
function concurrently(what: string, ctx: RuleContext): void {
  const { state } = ctx;
  if (!state.inTransaction()) return;
  const why = state.explicitTransaction
    ? 'it follows BEGIN in the same migration'
    : state.migration.format === 'dbmate'
      ? 'dbmate wraps each migration in a transaction'
      : `${state.migration.format} runs this migration of several statements as one transaction block`;
  ctx.report(`${what} cannot run inside a transaction block, and ${why}.`);
}

/** Whether the migrations created the index on a table this migration created. */
export function onNewTable(index: string, ctx: RuleContext): boolean {
  const table = ctx.state.schema.indexTable(index);
  return table !== undefined && ctx.state.created(table);
}

/** Building and dropping indexes. */
export const INDEX_RULES: readonly Rule[] = [
  {
    id: 'create-index-non-concurrently',
    title: 'CREATE INDEX without CONCURRENTLY blocks all writes to the table while it builds',
    severity: 'warning',
    fix: 'Use CREATE INDEX CONCURRENTLY in a migration of its own (it cannot run in a transaction).',
    visitors: {
      IndexStmt(index, ctx) {
        if (index.concurrent || ctx.fresh) return;
        const name = index.idxname ? ` ${index.idxname}` : '';
        ctx.report(`Creates index${name} on ${ctx.table}.`);
      },
    },
  },
  {
    id: 'drop-index-non-concurrently',
    title: 'DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table',
    severity: 'warning',
    fix: 'Use DROP INDEX CONCURRENTLY in a migration of its own (it cannot run in a transaction).',
    visitors: {
      DropStmt(drop, ctx) {
        if (drop.removeType !== 'OBJECT_INDEX' || drop.concurrent) return;
        // An index on a table this migration created locks nobody out.
        const onExisting = droppedNames(drop).filter((name) => !onNewTable(name, ctx));
        if (onExisting.length > 0) ctx.report(`Drops index ${onExisting.join(', ')}.`);
      },
    },
  },
  {
    id: 'concurrently-in-transaction',
    title: 'A CONCURRENTLY operation inside a transaction block fails',
    severity: 'error',
    fix: 'Put the CONCURRENTLY statement alone in its own migration, outside any transaction (dbmate: "-- migrate:up transaction:false").',
    visitors: {
      IndexStmt(index, ctx) {
        if (index.concurrent) concurrently('CREATE INDEX CONCURRENTLY', ctx);
      },
      DropStmt(drop, ctx) {
        if (drop.removeType === 'OBJECT_INDEX' && drop.concurrent)
          concurrently('DROP INDEX CONCURRENTLY', ctx);
      },
      ReindexStmt(reindex, ctx) {
        const params = (reindex.params ?? []).map((p) => unwrap(p, 'DefElem')?.defname);
        if (params.includes('concurrently')) concurrently('REINDEX CONCURRENTLY', ctx);
      },
    },
  },
];
