import { droppedNames, relationName, truncatedTables, vacuumFullTables } from '../nodes.js';
import type { Rule } from '../rules.js';

/** Dropping, emptying, renaming and rewriting whole tables. */
export const TABLE_RULES: readonly Rule[] = [
  {
    id: 'drop-table',
    title: 'DROP TABLE deletes the table and its data',
    severity: 'error',
    fix: 'Stop using the table in a released version first, keep a backup, and drop it in a later migration.',
    destructive: true,
    visitors: {
      DropStmt(drop, ctx) {
        if (drop.removeType !== 'OBJECT_TABLE') return;
        for (const name of droppedNames(drop)) {
          if (!ctx.state.created(name)) ctx.report(`Drops table ${name}.`);
        }
      },
    },
  },
  {
    id: 'truncate',
    name: 'TruncateTable',
    title: 'TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Delete rows in batches (DELETE … WHERE … LIMIT via a key range), or drop the data deliberately with a reviewed one-off script.',
    destructive: true,
    visitors: {
      TruncateStmt(truncate, ctx) {
        // Emptying a table this migration created loses nothing.
        const existing = truncatedTables(truncate).filter((name) => !ctx.state.created(name));
        if (existing.length > 0) ctx.report(`Truncates ${existing.join(', ')}.`);
      },
    },
  },
  {
    id: 'rename-table',
    title: 'RENAME TABLE breaks every running instance that uses the old name',
    severity: 'warning',
    fix: 'Create the new name as an updatable view (or the reverse) during the transition, then rename in a later release.',
    visitors: {
      RenameStmt(rename, ctx) {
        if (rename.renameType === 'OBJECT_TABLE' && !ctx.fresh)
          ctx.report(`Renames table ${ctx.table} to ${rename.newname}.`);
      },
    },
  },
  {
    id: 'vacuum-full',
    title: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Use plain VACUUM, or an online repack tool (pg_repack) outside migrations.',
    visitors: {
      VacuumStmt(vacuum, ctx) {
        const tables = vacuumFullTables(vacuum);
        if (tables && tables.length > 0 && tables.every((name) => ctx.state.created(name))) return;
        if (tables) ctx.report(`VACUUM FULL ${tables.join(', ') || '(every table in the database)'}.`);
      },
    },
  },
  {
    id: 'cluster',
    name: 'ClusterTable',
    title: 'CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Use an online repack tool (pg_repack --order-by) outside migrations.',
    visitors: {
      ClusterStmt(cluster, ctx) {
        if (cluster.relation && ctx.state.created(relationName(cluster.relation))) return;
        const table = cluster.relation
          ? relationName(cluster.relation)
          : '(every previously clustered table)';
        ctx.report(`CLUSTER ${table}.`);
      },
    },
  },
];
