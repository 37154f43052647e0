import type { Node } from '@pgsql/types';
import { addedColumn, type Column, columnOf, type TypeInfo, typeText, unwrap } from '../nodes.js';
import type { Rule } from '../rules.js';

const SERIAL = new Set(['serial', 'serial4', 'smallserial', 'serial2', 'bigserial', 'serial8']);
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'random_normal',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'setval',
  'txid_current',
]);

const isSerial = (column: Column) => column.type !== undefined && SERIAL.has(column.type.name);

/** The first volatile function called anywhere in an expression, as `name()`. */
function volatileCall(expr: unknown): string | undefined {
  if (Array.isArray(expr)) {
    for (const item of expr) {
      const found = volatileCall(item);
      if (found) return found;
    }
    return undefined;
  }
  if (expr === null || typeof expr !== 'object') return undefined;
  const call = unwrap(expr as Node, 'FuncCall');
  if (call) {
    const name = unwrap(call.funcname?.at(-1), 'String')?.sval ?? '';
    if (VOLATILE_FUNCTIONS.has(name)) return `${name}()`;
  }
  for (const value of Object.values(expr)) {
    const found = volatileCall(value);
    if (found) return found;
  }
  return undefined;
}

/**
 * Binary-coercible changes PostgreSQL makes without a rewrite: widening or dropping a length limit
 * (varchar, numeric precision at equal scale, varbit), varchar ↔ text, cidr → inet, or no change at all.
 */
function binaryCompatible(from: TypeInfo, to: TypeInfo): boolean {
  if (from.array !== to.array) return false;
  const [fromMod = Number.POSITIVE_INFINITY, fromScale = 0] = from.mods;
  const [toMod = Number.POSITIVE_INFINITY, toScale = 0] = to.mods;
  if (from.name === to.name) {
    if (to.mods.length === 0) return true;
    if (from.name === 'varchar' || from.name === 'varbit') return toMod >= fromMod;
    if (from.name === 'numeric') return from.mods.length > 0 && toScale === fromScale && toMod >= fromMod;
    return to.mods.join(',') === from.mods.join(',');
  }
  if (from.name === 'varchar' && to.name === 'text') return true;
  if (from.name === 'text' && to.name === 'varchar') return to.mods.length === 0;
  return from.name === 'cidr' && to.name === 'inet';
}

function changeType(
  where: string,
  from: TypeInfo | undefined,
  to: TypeInfo,
  using: boolean,
): string | undefined {
  const target = typeText(to);
  if (using) return `Changes ${where} to ${target} with a USING expression: every row is rewritten.`;
  if (from) {
    if (binaryCompatible(from, to)) return undefined;
    return `Changes ${where} from ${typeText(from)} to ${target}, which is not binary-compatible: the table is rewritten.`;
  }
  return `Changes ${where} to ${target}; its current type is not in these migrations, so this cannot be proven to be a binary-compatible change.`;
}

/** Adding, changing, renaming and dropping columns. */
export const COLUMN_RULES: readonly Rule[] = [
  {
    id: 'drop-column',
    title: 'DROP COLUMN deletes data and breaks code that still reads the column',
    severity: 'error',
    fix: 'Deploy code that no longer uses the column first, then drop it in a later migration.',
    destructive: true,
    visitors: {
      AlterTableCmd(cmd, ctx) {
        // A column of a table this migration created holds no data yet, and no code reads it.
        if (cmd.subtype === 'AT_DropColumn' && !ctx.fresh)
          ctx.report(`Drops column ${ctx.table}.${cmd.name ?? ''}.`);
      },
    },
  },
  {
    id: 'rename-column',
    title: 'RENAME COLUMN breaks every running instance that uses the old name',
    severity: 'warning',
    fix: 'Add the new column, write to both, backfill, switch reads, then drop the old column in later releases.',
    visitors: {
      RenameStmt(rename, ctx) {
        if (rename.renameType === 'OBJECT_COLUMN' && !ctx.fresh)
          ctx.report(`Renames ${ctx.table}.${rename.subname} to ${rename.newname}.`);
      },
    },
  },
  {
    id: 'add-not-null-column-without-default',
    title: 'ADD COLUMN … NOT NULL without a DEFAULT fails on a table that has rows',
    severity: 'error',
    fix: 'Add the column with a constant DEFAULT (instant from PostgreSQL 11), or add it nullable, backfill, then SET NOT NULL.',
    visitors: {
      ColumnDef(def, ctx) {
        const column = addedColumn(def, ctx);
        if (
          !column ||
          !(column.constraints.includes('CONSTR_NOTNULL') || column.constraints.includes('CONSTR_PRIMARY'))
        )
          return;
        const filled =
          column.defaultExpr !== undefined ||
          isSerial(column) ||
          column.constraints.includes('CONSTR_IDENTITY') ||
          column.constraints.includes('CONSTR_GENERATED');
        if (!filled)
          ctx.report(
            `Adds NOT NULL column ${ctx.table}.${column.column} without a DEFAULT: existing rows have no value, so it fails unless the table is empty.`,
          );
      },
    },
  },
  {
    id: 'add-column-volatile-default',
    title: 'ADD COLUMN with a volatile DEFAULT rewrites the whole table under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Add the column without a default (or with a constant one), set the default afterwards, and backfill existing rows in batches.',
    visitors: {
      ColumnDef(def, ctx) {
        const column = addedColumn(def, ctx);
        if (!column) return;
        const where = `${ctx.table}.${column.column}`;
        const volatile = volatileCall(column.defaultExpr);
        const version = ctx.state.postgresVersion;
        if (volatile) {
          ctx.report(
            `Adds ${where} with DEFAULT ${volatile}, which is volatile: every existing row gets its own value, so the table is rewritten.`,
          );
        } else if (isSerial(column)) {
          ctx.report(
            `Adds ${where} as ${column.type?.name}, whose DEFAULT nextval() is volatile: the table is rewritten.`,
          );
        } else if (column.constraints.includes('CONSTR_GENERATED')) {
          ctx.report(
            `Adds stored generated column ${where}: every row is computed and the table is rewritten.`,
          );
        } else if (column.defaultExpr !== undefined && version < 11) {
          ctx.report(
            `Adds ${where} with a DEFAULT: before PostgreSQL 11 (postgres-version ${version}) any DEFAULT on ADD COLUMN rewrites the table.`,
          );
        }
      },
    },
  },
  {
    id: 'change-column-type',
    title: 'ALTER COLUMN … TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock',
    severity: 'error',
    fix: 'Add a new column of the new type, backfill in batches, switch the code over, then drop the old column; only binary-compatible changes (widening varchar(n), varchar → text) are instant.',
    visitors: {
      ColumnDef(def, ctx) {
        const column = columnOf(def, ctx.parent);
        const to = column?.type;
        if (column?.use !== 'type' || !to || ctx.fresh) return;
        const from = ctx.state.schema.column(ctx.table, column.column)?.type;
        const using = column.defaultExpr !== undefined;
        const message = changeType(`${ctx.table}.${column.column}`, from, to, using);
        if (message) ctx.report(message);
      },
    },
  },
  {
    id: 'set-not-null',
    title: 'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock',
    severity: 'warning',
    fix: 'Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration, then SET NOT NULL (PostgreSQL 12+ skips the scan), then drop the check.',
    visitors: {
      AlterTableCmd(cmd, ctx) {
        if (cmd.subtype !== 'AT_SetNotNull' || ctx.fresh) return;
        const { schema, postgresVersion: version } = ctx.state;
        const column = cmd.name ?? '';
        // Already NOT NULL: nothing to check. From PostgreSQL 12 a validated CHECK (col IS NOT NULL)
        // proves it, and the scan is skipped.
        if (schema.column(ctx.table, column)?.notNull) return;
        if (version >= 12 && schema.provenNotNull(ctx.table, column)) return;
        const pg12 =
          version >= 12 ? '' : ` (PostgreSQL ${version} cannot skip the scan even with a validated CHECK)`;
        ctx.report(`Sets ${ctx.table}.${cmd.name ?? ''} NOT NULL${pg12}.`);
      },
    },
  },
];
