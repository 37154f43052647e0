import { droppedNames } from '../nodes.js';
import type { Rule } from '../rules.js';

/** Dropping whole databases and schemas. */
export const DATABASE_RULES: readonly Rule[] = [
  {
    id: 'drop-database',
    title: 'DROP DATABASE deletes a whole database',
    severity: 'error',
    fix: 'Never drop databases from application migrations; do it by hand after a backup.',
    destructive: true,
    visitors: {
      DropdbStmt(drop, ctx) {
        ctx.report(`Drops database ${drop.dbname}.`);
      },
    },
  },
  {
    id: 'drop-schema',
    title: 'DROP SCHEMA deletes the schema (with CASCADE, everything in it)',
    severity: 'error',
    fix: 'Drop the objects you mean to drop explicitly, after the code no longer uses them.',
    destructive: true,
    visitors: {
      DropStmt(drop, ctx) {
        if (drop.removeType !== 'OBJECT_SCHEMA') return;
        const cascade = drop.behavior === 'DROP_CASCADE' ? ' with CASCADE' : '';
        ctx.report(`Drops schema ${droppedNames(drop).join(', ')}${cascade}.`);
      },
    },
  },
];
