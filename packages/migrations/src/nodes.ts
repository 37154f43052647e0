import type {
  ColumnDef,
  Constraint,
  ConstrType,
  DropStmt,
  Node,
  RangeVar,
  TruncateStmt,
  TypeName,
  VacuumStmt,
} from '@pgsql/types';
import type { NodeContext } from './walker.js';

/** Every node type of PostgreSQL's parse tree as @pgsql/types names it, e.g. `AlterTableCmd`. */
export type NodeKind = Node extends infer N ? (N extends unknown ? keyof N : never) : never;

/** The fields of a node of one kind: `NodeOf<'IndexStmt'>` is `IndexStmt`. */
export type NodeOf<K extends NodeKind> = Extract<Node, Record<K, unknown>>[K];

/** A node with its kind beside it, narrowed by `kind`: `{ kind: 'IndexStmt', node: IndexStmt }`. */
export type AnyNode = { [K in NodeKind]: { kind: K; node: NodeOf<K> } }[NodeKind];

/** The one key of a node as libpg-query's JSON has it (`{ "<kind>": { …fields } }`). */
export function kindOf(node: Node): NodeKind | undefined {
  for (const key in node) return key as NodeKind;
  return undefined;
}

/** The node's kind and fields side by side; undefined for an empty node. */
export function withKind(node: Node): AnyNode | undefined {
  const kind = kindOf(node);
  // libpg-query's JSON holds the fields of its one key's kind, which TypeScript cannot follow.
  return kind === undefined
    ? undefined
    : ({ kind, node: (node as Record<string, unknown>)[kind] } as AnyNode);
}

/** The fields of `node` when it is a `kind` node, else undefined: `unwrap(item, 'AlterTableCmd')`. */
export function unwrap<K extends NodeKind>(node: Node | undefined, kind: K): NodeOf<K> | undefined {
  return (node as Partial<Record<K, NodeOf<K>>> | undefined)?.[kind];
}

/** `schema.name`, or `name`; `?` when there is no relation. */
export function relationName(relation: RangeVar | undefined): string {
  if (!relation) return '?';
  const name = relation.relname ?? '';
  return relation.schemaname ? `${relation.schemaname}.${name}` : name;
}

export interface TypeInfo {
  name: string;
  mods: number[];
  array: boolean;
}

/** A column type as the rules compare it: the last name part (`pg_catalog.int4` is `int4`), its modifiers, `[]`. */
export function typeInfo(typeName: TypeName | undefined): TypeInfo | undefined {
  if (!typeName) return undefined;
  const names = (typeName.names ?? []).map((n) => unwrap(n, 'String')?.sval ?? '');
  const mods = (typeName.typmods ?? []).map((m) => unwrap(m, 'A_Const')?.ival?.ival ?? 0);
  return { name: names[names.length - 1] ?? '?', mods, array: (typeName.arrayBounds ?? []).length > 0 };
}

export const typeText = (type: TypeInfo) =>
  `${type.name}${type.mods.length ? `(${type.mods.join(',')})` : ''}${type.array ? '[]' : ''}`;

/** The dotted names a DROP names (`DROP TABLE a, s.b` → `a`, `s.b`). */
export function droppedNames(drop: DropStmt): string[] {
  return (drop.objects ?? []).map((object) => {
    const items = unwrap(object, 'List')?.items ?? [object];
    return items.map((item) => unwrap(item, 'String')?.sval ?? '?').join('.');
  });
}

export function truncatedTables(truncate: TruncateStmt): string[] {
  return (truncate.relations ?? []).map((relation) => relationName(unwrap(relation, 'RangeVar')));
}

/** The tables of a VACUUM FULL (none listed: every table); undefined for any other VACUUM or ANALYZE. */
export function vacuumFullTables(vacuum: VacuumStmt): string[] | undefined {
  const options = (vacuum.options ?? []).map((option) => unwrap(option, 'DefElem')?.defname);
  if (!vacuum.is_vacuumcmd || !options.includes('full')) return undefined;
  return (vacuum.rels ?? []).map((rel) => relationName(unwrap(rel, 'VacuumRelation')?.relation));
}

export interface Column {
  /** CREATE TABLE's column, ALTER TABLE … ADD COLUMN, or ALTER COLUMN … TYPE. */
  use: 'create' | 'add' | 'type';
  column: string;
  type: TypeInfo | undefined;
  /** The types of the column's constraints (NOT NULL, DEFAULT, UNIQUE, IDENTITY…). */
  constraints: readonly (ConstrType | undefined)[];
  /** The DEFAULT expression; for ALTER COLUMN … TYPE, the USING expression. */
  defaultExpr: Node | undefined;
}

// Every rule on a column definition asks for it in turn, so the last one read is kept. A definition
// always has the same parent, which is why the definition alone is the key.
let lastDef: ColumnDef | undefined;
let lastColumn: Column | undefined;

/**
 * A column definition, read by the node it stands in; undefined where no rule looks at columns.
 * ALTER COLUMN … TYPE's definition names no column (the command does).
 */
export function columnOf(def: ColumnDef, parent: AnyNode | undefined): Column | undefined {
  if (def !== lastDef) {
    lastDef = def;
    lastColumn = readColumn(def, parent);
  }
  return lastColumn;
}

function readColumn(def: ColumnDef, parent: AnyNode | undefined): Column | undefined {
  let use: Column['use'];
  let column = def.colname ?? '?';
  if (parent?.kind === 'CreateStmt') use = 'create';
  else if (parent?.kind === 'AlterTableCmd' && parent.node.subtype === 'AT_AddColumn') use = 'add';
  else if (parent?.kind === 'AlterTableCmd' && parent.node.subtype === 'AT_AlterColumnType') {
    use = 'type';
    column = parent.node.name ?? '';
  } else return undefined;
  const constraints: (ConstrType | undefined)[] = [];
  let defaultConstraint: Constraint | undefined;
  for (const node of def.constraints ?? []) {
    const constraint = unwrap(node, 'Constraint');
    if (!constraint) continue;
    constraints.push(constraint.contype);
    if (constraint.contype === 'CONSTR_DEFAULT') defaultConstraint ??= constraint;
  }
  const defaultExpr = use === 'type' ? def.raw_default : defaultConstraint?.raw_expr;
  return { use, column, type: typeInfo(def.typeName), constraints, defaultExpr };
}

/** ADD COLUMN's column, on a table this migration did not create: what the ADD COLUMN rules look at. */
export function addedColumn(def: ColumnDef, ctx: NodeContext): Column | undefined {
  const column = columnOf(def, ctx.parent);
  return column?.use === 'add' && !ctx.fresh ? column : undefined;
}

/** Whether a constraint is ALTER TABLE … ADD CONSTRAINT's (not CREATE TABLE's, nor ADD GENERATED's). */
export const isAddedConstraint = (parent: AnyNode | undefined) =>
  parent?.kind === 'AlterTableCmd' && parent.node.subtype === 'AT_AddConstraint';
