import type { Rule } from '../rules.js';
import { COLUMN_TYPE_RULES } from './column-types.js';
import { COLUMN_RULES } from './columns.js';
import { CONSTRAINT_RULES } from './constraints.js';
import { DATABASE_RULES } from './databases.js';
import { FILE_RULES } from './files.js';
import { INDEX_RULES } from './indexes.js';
import { LOCK_RULES } from './locks.js';
import { TABLE_RULES } from './tables.js';

/**
 * Every rule, in the order the walker runs them on a node, which is the order of a statement's findings:
 * an added column's type before what adding it does, then its constraints; the lock last.
 */
export const REGISTRY: readonly Rule[] = [
  ...FILE_RULES,
  ...COLUMN_TYPE_RULES,
  ...COLUMN_RULES,
  ...CONSTRAINT_RULES,
  ...TABLE_RULES,
  ...INDEX_RULES,
  ...DATABASE_RULES,
  ...LOCK_RULES,
];
