import type { Migration } from './discovery.js';
import type { Node, Statement } from './parser.js';
import type { RuleId } from './rules.js';

/** A rule that matched one statement; the message says what, RULES[rule].fix says how to do it safely. */
export interface Hit {
  rule: RuleId;
  message: string;
}

interface TypeInfo {
  name: string;
  mods: number[];
  array: boolean;
}

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
}

type Fields = Record<string, unknown>;

const fields = (value: unknown, type: string): Fields | undefined =>
  (value as Node | undefined)?.[type] as Fields | undefined;

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function relationName(rangeVar: unknown): string {
  const rv = (fields(rangeVar, 'RangeVar') ?? rangeVar) as Fields | undefined;
  if (!rv) return '?';
  const name = String(rv.relname);
  return rv.schemaname ? `${String(rv.schemaname)}.${name}` : name;
}

function isNew(state: MigrationState, table: string): boolean {
  return state.createdTables.has(table) || state.createdTables.has(table.split('.').pop() as string);
}

function typeInfo(typeName: unknown): TypeInfo | undefined {
  const tn = (fields(typeName, 'TypeName') ?? typeName) as Fields | undefined;
  if (!tn) return undefined;
  const names = list(tn.names).map((n) => String(fields(n, 'String')?.sval ?? ''));
  const mods = list(tn.typmods).map((m) =>
    Number((fields(m, 'A_Const')?.ival as Fields | undefined)?.ival ?? 0),
  );
  return { name: names[names.length - 1] ?? '?', mods, array: list(tn.arrayBounds).length > 0 };
}

const typeText = (t: TypeInfo) =>
  `${t.name}${t.mods.length ? `(${t.mods.join(',')})` : ''}${t.array ? '[]' : ''}`;

const SERIAL = new Set(['serial', 'serial4', 'smallserial', 'serial2', 'bigserial', 'serial8']);
const SMALL_INTEGERS = new Set(['int4', 'int2', 'serial', 'serial4', 'smallserial', 'serial2']);
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

function volatileCall(expr: unknown): string | undefined {
  if (Array.isArray(expr)) {
    for (const item of expr) {
      const found = volatileCall(item);
      if (found) return found;
    }
    return undefined;
  }
  if (expr === null || typeof expr !== 'object') return undefined;
  const call = fields(expr, 'FuncCall');
  if (call) {
    const name = String(fields(list(call.funcname).at(-1), 'String')?.sval ?? '');
    if (VOLATILE_FUNCTIONS.has(name)) return `${name}()`;
  }
  for (const value of Object.values(expr)) {
    const found = volatileCall(value);
    if (found) return found;
  }
  return undefined;
}

function preferTypes(type: TypeInfo | undefined, where: string): Hit[] {
  if (!type) return [];
  const hits: Hit[] = [];
  if (SMALL_INTEGERS.has(type.name)) {
    hits.push({ rule: 'prefer-bigint', message: `${where} is ${typeText(type)}.` });
  }
  if (type.name === 'timestamp') {
    hits.push({ rule: 'prefer-timestamptz', message: `${where} is timestamp without time zone.` });
  }
  if ((type.name === 'varchar' || type.name === 'bpchar') && type.mods.length > 0) {
    hits.push({ rule: 'prefer-text', message: `${where} is ${typeText(type)}.` });
  }
  return hits;
}

function constraints(columnDef: Fields): Fields[] {
  return list(columnDef.constraints)
    .map((c) => fields(c, 'Constraint'))
    .filter((c): c is Fields => c !== undefined);
}

function remember(state: MigrationState, table: string, column: string, type: TypeInfo | undefined): void {
  if (!type) return;
  let columns = state.catalog.get(table);
  if (!columns) {
    columns = new Map();
    state.catalog.set(table, columns);
  }
  columns.set(column, type);
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

// ALTER TABLE subcommands that take a lock weaker than ACCESS EXCLUSIVE.
const WEAKER_LOCK_SUBTYPES = new Set([
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

function takesAccessExclusive(cmd: Fields): boolean {
  const subtype = String(cmd.subtype);
  if (WEAKER_LOCK_SUBTYPES.has(subtype)) return false;
  if (subtype === 'AT_AddConstraint') return fields(cmd.def, 'Constraint')?.contype !== 'CONSTR_FOREIGN';
  return true;
}

function alterTable(stmt: Fields, state: MigrationState): { hits: Hit[]; accessExclusive?: string } {
  if (stmt.objtype !== 'OBJECT_TABLE') return { hits: [] };
  const table = relationName(stmt.relation);
  const fresh = isNew(state, table);
  const hits: Hit[] = [];
  let accessExclusive = false;
  for (const item of list(stmt.cmds)) {
    const cmd = fields(item, 'AlterTableCmd');
    if (!cmd) continue;
    accessExclusive ||= takesAccessExclusive(cmd);
    const column = String(cmd.name ?? '');
    switch (cmd.subtype) {
      case 'AT_AddColumn': {
        const def = fields(cmd.def, 'ColumnDef') ?? {};
        hits.push(...addColumn(def, table, fresh, state));
        break;
      }
      case 'AT_DropColumn':
        hits.push({ rule: 'drop-column', message: `Drops column ${table}.${column}.` });
        break;
      case 'AT_AlterColumnType': {
        const def = fields(cmd.def, 'ColumnDef') ?? {};
        const to = typeInfo(def.typeName);
        hits.push(...preferTypes(to, `Column ${table}.${column}`));
        const from = state.catalog.get(table)?.get(column);
        if (to && !fresh) hits.push(...changeType(table, column, from, to, def.raw_default !== undefined));
        remember(state, table, column, to);
        break;
      }
      case 'AT_SetNotNull':
        if (!fresh) {
          const pg12 =
            state.postgresVersion >= 12
              ? ''
              : ` (PostgreSQL ${state.postgresVersion} cannot skip the scan even with a validated CHECK)`;
          hits.push({ rule: 'set-not-null', message: `Sets ${table}.${column} NOT NULL${pg12}.` });
        }
        break;
      case 'AT_AddConstraint': {
        const constraint = fields(cmd.def, 'Constraint') ?? {};
        if (!fresh) hits.push(...addConstraint(constraint, table));
        break;
      }
    }
  }
  return { hits, accessExclusive: accessExclusive && !fresh ? table : undefined };
}

function addColumn(def: Fields, table: string, fresh: boolean, state: MigrationState): Hit[] {
  const column = String(def.colname ?? '?');
  const type = typeInfo(def.typeName);
  remember(state, table, column, type);
  const hits = preferTypes(type, `Column ${table}.${column}`);
  if (fresh) return hits;
  const kinds = constraints(def);
  const has = (contype: string) => kinds.some((c) => c.contype === contype);
  const defaultExpr = kinds.find((c) => c.contype === 'CONSTR_DEFAULT')?.raw_expr;
  const serial = type !== undefined && SERIAL.has(type.name);
  const filled = defaultExpr !== undefined || serial || has('CONSTR_IDENTITY') || has('CONSTR_GENERATED');
  if ((has('CONSTR_NOTNULL') || has('CONSTR_PRIMARY')) && !filled) {
    hits.push({
      rule: 'add-not-null-column-without-default',
      message: `Adds NOT NULL column ${table}.${column} without a DEFAULT: existing rows have no value, so it fails unless the table is empty.`,
    });
  }
  const volatile = volatileCall(defaultExpr);
  if (volatile) {
    hits.push({
      rule: 'add-column-volatile-default',
      message: `Adds ${table}.${column} with DEFAULT ${volatile}, which is volatile: every existing row gets its own value, so the table is rewritten.`,
    });
  } else if (serial) {
    hits.push({
      rule: 'add-column-volatile-default',
      message: `Adds ${table}.${column} as ${type?.name}, whose DEFAULT nextval() is volatile: the table is rewritten.`,
    });
  } else if (has('CONSTR_GENERATED')) {
    hits.push({
      rule: 'add-column-volatile-default',
      message: `Adds stored generated column ${table}.${column}: every row is computed and the table is rewritten.`,
    });
  } else if (defaultExpr !== undefined && state.postgresVersion < 11) {
    hits.push({
      rule: 'add-column-volatile-default',
      message: `Adds ${table}.${column} with a DEFAULT: before PostgreSQL 11 (postgres-version ${state.postgresVersion}) any DEFAULT on ADD COLUMN rewrites the table.`,
    });
  }
  if (has('CONSTR_UNIQUE')) {
    hits.push({ rule: 'add-unique-constraint', message: `Adds UNIQUE column ${table}.${column}.` });
  }
  if (has('CONSTR_PRIMARY')) {
    hits.push({ rule: 'add-primary-key', message: `Adds PRIMARY KEY column ${table}.${column}.` });
  }
  if (has('CONSTR_CHECK')) {
    hits.push({
      rule: 'add-check-constraint-without-not-valid',
      message: `Adds column ${table}.${column} with a CHECK constraint, checked against every row.`,
    });
  }
  return hits;
}

function changeType(
  table: string,
  column: string,
  from: TypeInfo | undefined,
  to: TypeInfo,
  using: boolean,
): Hit[] {
  const target = typeText(to);
  if (using) {
    return [
      {
        rule: 'change-column-type',
        message: `Changes ${table}.${column} to ${target} with a USING expression: every row is rewritten.`,
      },
    ];
  }
  if (from) {
    if (binaryCompatible(from, to)) return [];
    return [
      {
        rule: 'change-column-type',
        message: `Changes ${table}.${column} from ${typeText(from)} to ${target}, which is not binary-compatible: the table is rewritten.`,
      },
    ];
  }
  return [
    {
      rule: 'change-column-type',
      message: `Changes ${table}.${column} to ${target}; its current type is not in these migrations, so this cannot be proven to be a binary-compatible change.`,
    },
  ];
}

function addConstraint(constraint: Fields, table: string): Hit[] {
  const name = constraint.conname ? ` ${String(constraint.conname)}` : '';
  switch (constraint.contype) {
    case 'CONSTR_FOREIGN':
      if (constraint.skip_validation) return [];
      return [
        {
          rule: 'add-foreign-key-without-not-valid',
          message: `Adds foreign key${name} on ${table} referencing ${relationName(constraint.pktable)} without NOT VALID.`,
        },
      ];
    case 'CONSTR_CHECK':
      if (constraint.skip_validation) return [];
      return [
        {
          rule: 'add-check-constraint-without-not-valid',
          message: `Adds CHECK constraint${name} on ${table} without NOT VALID.`,
        },
      ];
    case 'CONSTR_UNIQUE':
      if (constraint.indexname) return [];
      return [{ rule: 'add-unique-constraint', message: `Adds UNIQUE constraint${name} on ${table}.` }];
    case 'CONSTR_PRIMARY':
      if (constraint.indexname) return [];
      return [{ rule: 'add-primary-key', message: `Adds PRIMARY KEY${name} on ${table}.` }];
    default:
      return [];
  }
}

function concurrently(what: string, state: MigrationState): Hit[] {
  if (!state.inTransaction()) return [];
  const why = state.explicitTransaction
    ? 'it follows BEGIN in the same migration'
    : state.migration.format === 'dbmate'
      ? 'dbmate wraps each migration in a transaction'
      : `${state.migration.format} runs this ${state.statementCount}-statement migration as one transaction block`;
  return [
    {
      rule: 'concurrently-in-transaction',
      message: `${what} cannot run inside a transaction block, and ${why}.`,
    },
  ];
}

function objectNames(stmt: Fields): string[] {
  return list(stmt.objects).map((object) => {
    const items = fields(object, 'List')?.items ?? [object];
    return list(items)
      .map((item) => String(fields(item, 'String')?.sval ?? '?'))
      .join('.');
  });
}

function setting(stmt: Fields, state: MigrationState): void {
  if (stmt.name !== 'lock_timeout') return;
  if (stmt.kind !== 'VAR_SET_VALUE') {
    state.lockTimeout = false;
    return;
  }
  const value = fields(list(stmt.args)[0], 'A_Const');
  const raw = (value?.sval as Fields | undefined)?.sval ?? (value?.ival as Fields | undefined)?.ival ?? 0;
  // 0 (or '0', '0s') turns the timeout off.
  state.lockTimeout = !/^0+(?:\D*)$/.test(String(raw));
}

/** The rules that look at one statement. `state` carries what earlier statements of the migration did. */
export function checkStatement(statement: Statement, state: MigrationState): Hit[] {
  const stmt = statement.node;
  let hits: Hit[] = [];
  let accessExclusive: string | undefined;
  switch (statement.kind) {
    case 'CreateStmt': {
      const table = relationName(stmt.relation);
      state.createdTables.add(table);
      for (const element of list(stmt.tableElts)) {
        const column = fields(element, 'ColumnDef');
        if (!column) continue;
        const type = typeInfo(column.typeName);
        remember(state, table, String(column.colname), type);
        hits.push(...preferTypes(type, `Column ${table}.${String(column.colname)}`));
      }
      break;
    }
    case 'AlterTableStmt':
      ({ hits, accessExclusive } = alterTable(stmt, state));
      break;
    case 'RenameStmt': {
      const table = relationName(stmt.relation);
      if (stmt.renameType === 'OBJECT_COLUMN' && !isNew(state, table)) {
        hits.push({
          rule: 'rename-column',
          message: `Renames ${table}.${String(stmt.subname)} to ${String(stmt.newname)}.`,
        });
        accessExclusive = table;
      } else if (stmt.renameType === 'OBJECT_TABLE' && !isNew(state, table)) {
        hits.push({ rule: 'rename-table', message: `Renames table ${table} to ${String(stmt.newname)}.` });
        accessExclusive = table;
      }
      break;
    }
    case 'DropStmt': {
      const names = objectNames(stmt);
      if (stmt.removeType === 'OBJECT_TABLE') {
        const existing = names.filter((name) => !isNew(state, name));
        for (const name of existing) hits.push({ rule: 'drop-table', message: `Drops table ${name}.` });
        accessExclusive = existing[0];
      } else if (stmt.removeType === 'OBJECT_INDEX') {
        if (stmt.concurrent) hits.push(...concurrently('DROP INDEX CONCURRENTLY', state));
        else {
          hits.push({ rule: 'drop-index-non-concurrently', message: `Drops index ${names.join(', ')}.` });
          accessExclusive = `the table of index ${names[0]}`;
        }
      } else if (stmt.removeType === 'OBJECT_SCHEMA') {
        const cascade = stmt.behavior === 'DROP_CASCADE' ? ' with CASCADE' : '';
        hits.push({ rule: 'drop-schema', message: `Drops schema ${names.join(', ')}${cascade}.` });
      }
      break;
    }
    case 'TruncateStmt': {
      const names = list(stmt.relations).map(relationName);
      hits.push({ rule: 'truncate', message: `Truncates ${names.join(', ')}.` });
      accessExclusive = names.find((name) => !isNew(state, name));
      break;
    }
    case 'IndexStmt': {
      const table = relationName(stmt.relation);
      if (stmt.concurrent) hits.push(...concurrently('CREATE INDEX CONCURRENTLY', state));
      else if (!isNew(state, table)) {
        const name = stmt.idxname ? ` ${String(stmt.idxname)}` : '';
        hits.push({ rule: 'create-index-non-concurrently', message: `Creates index${name} on ${table}.` });
      }
      break;
    }
    case 'ReindexStmt': {
      const params = list(stmt.params).map((p) => fields(p, 'DefElem')?.defname);
      if (params.includes('concurrently')) hits.push(...concurrently('REINDEX CONCURRENTLY', state));
      break;
    }
    case 'VacuumStmt': {
      const options = list(stmt.options).map((o) => fields(o, 'DefElem')?.defname);
      if (stmt.is_vacuumcmd && options.includes('full')) {
        const names = list(stmt.rels).map((r) => relationName(fields(r, 'VacuumRelation')?.relation));
        hits.push({
          rule: 'vacuum-full',
          message: `VACUUM FULL ${names.join(', ') || '(every table in the database)'}.`,
        });
        accessExclusive = names[0];
      }
      break;
    }
    case 'ClusterStmt': {
      const table = stmt.relation ? relationName(stmt.relation) : undefined;
      hits.push({ rule: 'cluster', message: `CLUSTER ${table ?? '(every previously clustered table)'}.` });
      accessExclusive = table;
      break;
    }
    case 'DropdbStmt':
      hits.push({ rule: 'drop-database', message: `Drops database ${String(stmt.dbname)}.` });
      break;
    case 'VariableSetStmt':
      setting(stmt, state);
      break;
    case 'TransactionStmt': {
      const kind = String(stmt.kind);
      if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') state.explicitTransaction = true;
      else if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK')
        state.explicitTransaction = false;
      break;
    }
  }
  if (accessExclusive !== undefined && !state.lockTimeout) {
    hits.push({
      rule: 'missing-lock-timeout',
      message: `Takes an ACCESS EXCLUSIVE lock on ${accessExclusive} with no lock_timeout set earlier in this migration: while it waits for the lock, every query on the table queues behind it.`,
    });
  }
  return hits;
}
