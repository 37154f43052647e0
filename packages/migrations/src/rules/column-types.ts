import { columnOf, type TypeInfo, typeText } from '../nodes.js';
import type { Rule } from '../rules.js';

const SMALL_INTEGERS = new Set(['int4', 'int2', 'serial', 'serial4', 'smallserial', 'serial2']);

/** A rule on the type of every column a migration creates, adds or changes: `Column t.c is <what>.` */
function typeRule(rule: Omit<Rule, 'visitors'>, what: (type: TypeInfo) => string | undefined): Rule {
  return {
    ...rule,
    visitors: {
      ColumnDef(def, ctx) {
        const column = columnOf(def, ctx.parent);
        const found = column?.type && what(column.type);
        if (found) ctx.report(`Column ${ctx.table}.${column.column} is ${found}.`);
      },
    },
  };
}

/** Column types that age badly. */
export const COLUMN_TYPE_RULES: readonly Rule[] = [
  typeRule(
    {
      id: 'prefer-bigint',
      severity: 'info',
      title: 'integer/smallint columns run out of values on growing tables',
      fix: 'Use bigint (or bigint GENERATED … AS IDENTITY instead of serial).',
    },
    (type) => (SMALL_INTEGERS.has(type.name) ? typeText(type) : undefined),
  ),
  typeRule(
    {
      id: 'prefer-timestamptz',
      severity: 'info',
      title: 'timestamp without time zone loses the offset and misbehaves across time zones',
      fix: 'Use timestamptz.',
    },
    (type) => (type.name === 'timestamp' ? 'timestamp without time zone' : undefined),
  ),
  typeRule(
    {
      id: 'prefer-text',
      severity: 'info',
      title: 'varchar(n)/char(n) limits are changed later by a table-locking ALTER',
      fix: 'Use text, with a CHECK (char_length(col) <= n) constraint when a limit matters.',
    },
    (type) =>
      (type.name === 'varchar' || type.name === 'bpchar') && type.mods.length > 0
        ? typeText(type)
        : undefined,
  ),
];
