import type { AlterTableCmd, AlterTableType } from '@pgsql/types';
import { droppedNames, relationName, truncatedTables, unwrap, vacuumFullTables } from '../nodes.js';
import type { Rule } from '../rules.js';
import type { RuleContext } from '../walker.js';
import { onNewTable } from './indexes.js';

// ALTER TABLE subcommands that take a lock weaker than ACCESS EXCLUSIVE.
const WEAKER_LOCK_SUBTYPES = new Set<AlterTableType>([
  'AT_ValidateConstraint',
  'AT_SetStatistics',
  'AT_ClusterOn',
  'AT_DropCluster',
  'AT_SetRelOptions',
  'AT_ResetRelOptions',
  'AT_AttachPartition',
  'AT_DetachPartitionFinalize',
  'AT_EnableTrig',
  'AT_DisableTrig',
  'AT_EnableTrigAll',
  'AT_DisableTrigAll',
  'AT_EnableTrigUser',
  'AT_DisableTrigUser',
  'AT_ReplicaIdentity',
]);

function takesAccessExclusive(cmd: AlterTableCmd): boolean {
  const subtype = cmd.subtype;
  if (subtype !== undefined && WEAKER_LOCK_SUBTYPES.has(subtype)) return false;
  if (subtype === 'AT_AddConstraint') return unwrap(cmd.def, 'Constraint')?.contype !== 'CONSTR_FOREIGN';
  return true;
}

/** Reports a statement that takes ACCESS EXCLUSIVE on `target` (an existing table) without a lock_timeout. */
function exclusive(target: string | undefined, ctx: RuleContext): void {
  if (target === undefined || ctx.state.lockTimeout) return;
  ctx.report(
    `Takes an ACCESS EXCLUSIVE lock on ${target} with no lock_timeout set earlier in this migration: while it waits for the lock, every query on the table queues behind it.`,
  );
}

/**
 * Statements that take ACCESS EXCLUSIVE on a table this migration did not create. Registered last, so
 * its finding follows the statement's others.
 */
export const LOCK_RULES: readonly Rule[] = [
  {
    id: 'missing-lock-timeout',
    title: 'A statement takes ACCESS EXCLUSIVE on an existing table and no lock_timeout is set',
    severity: 'info',
    fix: "Start the migration with SET lock_timeout = '2s' so a waiting lock cannot queue every other query behind it; retry on timeout.",
    visitors: {
      AlterTableStmt(alter, ctx) {
        if (alter.objtype !== 'OBJECT_TABLE' || ctx.fresh) return;
        const commands = (alter.cmds ?? []).map((item) => unwrap(item, 'AlterTableCmd'));
        if (commands.some((cmd) => cmd !== undefined && takesAccessExclusive(cmd))) exclusive(ctx.table, ctx);
      },
      RenameStmt(rename, ctx) {
        const renamesTable = rename.renameType === 'OBJECT_COLUMN' || rename.renameType === 'OBJECT_TABLE';
        if (renamesTable && !ctx.fresh) exclusive(ctx.table, ctx);
      },
      DropStmt(drop, ctx) {
        if (drop.removeType === 'OBJECT_TABLE') {
          exclusive(
            droppedNames(drop).find((name) => !ctx.state.created(name)),
            ctx,
          );
        } else if (drop.removeType === 'OBJECT_INDEX' && !drop.concurrent) {
          const index = droppedNames(drop).find((name) => !onNewTable(name, ctx));
          const table = index === undefined ? undefined : ctx.state.schema.indexTable(index);
          if (index !== undefined) exclusive(table ?? `the table of index ${index}`, ctx);
        }
      },
      TruncateStmt(truncate, ctx) {
        exclusive(
          truncatedTables(truncate).find((name) => !ctx.state.created(name)),
          ctx,
        );
      },
      VacuumStmt(vacuum, ctx) {
        exclusive(
          vacuumFullTables(vacuum)?.find((name) => !ctx.state.created(name)),
          ctx,
        );
      },
      ClusterStmt(cluster, ctx) {
        const table = cluster.relation && relationName(cluster.relation);
        if (table && !ctx.state.created(table)) exclusive(table, ctx);
      },
    },
  },
];
