import type { Statement } from './parser.js';

/**
 * What a statement would do that the dry-run's rollback cannot take back, or that would loosen the
 * dry-run's own limits. `reason` alone decides; `sequences` and `inserts` are settled against the
 * database at the time the statement would run, since only a sequence that existed before the dry-run
 * began keeps an advance after the rollback.
 */
export interface Effects {
  reason?: string;
  /** nextval/setval calls whose sequence is named by a literal: `{ call: 'nextval', name }`. */
  sequences: { call: string; name: string }[];
  /** Tables rows are added to (INSERT, MERGE, COPY FROM): their defaults may draw from sequences. */
  inserts: string[];
}

/** Settings that hold the dry-run to its limits and its own role. */
const GUARDED_SETTINGS = new Set([
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'transaction_timeout',
  'role',
  'session_authorization',
]);

const settingReason = (name: string) =>
  name === 'role' || name === 'session_authorization'
    ? `changing ${name} would run the rest of the dry-run as another role`
    : `changing ${name} would lift the dry-run's own ${name}`;

/** Functions whose effects reach past the transaction, by what they reach. */
const OUTSIDE_FUNCTIONS: [RegExp, string][] = [
  [/^dblink/, 'runs SQL over a connection of its own, which commits without the dry-run'],
  [/^lo_/, 'works on large objects and files on the database server'],
  [/^pg_(terminate|cancel)_backend$/, 'acts on other sessions of the server'],
  [
    /^(pg_reload_conf|pg_rotate_logfile|pg_switch_wal|pg_promote|pg_create_restore_point|pg_logical_emit_message|pg_stat_reset.*|pg_.*replication_slot.*)$/,
    'acts on the server itself, outside any transaction',
  ],
  [/^pg_file_/, 'writes files on the database server'],
];

/** Statement kinds whose effects reach past the transaction whatever they say. */
const OUTSIDE_STATEMENTS: Record<string, string> = {
  CreateExtensionStmt:
    'CREATE EXTENSION runs the extension’s own script and loads its libraries into the server',
  AlterExtensionStmt: 'ALTER EXTENSION runs the extension’s own script and loads its libraries',
  LoadStmt: 'LOAD loads a library into the database server process',
  CreateSubscriptionStmt: 'a subscription connects to another server and acts there',
  AlterSubscriptionStmt: 'a subscription connects to another server and acts there',
  DropSubscriptionStmt: 'a subscription connects to another server and acts there',
};

/**
 * Definitions whose expressions are stored, not evaluated, when the statement runs (a column's
 * DEFAULT nextval(...) in CREATE TABLE, a view's query, a function's body).
 */
const DEFINITIONS = new Set([
  'CreateStmt',
  'ViewStmt',
  'CreateFunctionStmt',
  'CreateTrigStmt',
  'RuleStmt',
  'PrepareStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
  'CreateDomainStmt',
  'CreateSeqStmt',
  'AlterSeqStmt',
  'CommentStmt',
  'IndexStmt',
]);

// What a DO block's body (plain text to the parser) must not mention: the same functions and settings.
const DO_BODY =
  /\b(nextval|setval|set_config|dblink\w*|lo_\w+|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_file_\w+|statement_timeout|lock_timeout|idle_in_transaction_session_timeout|transaction_timeout|session\s+authorization|set\s+role|reset\s+all|program)\b/i;

type Node = Record<string, unknown>;

const stringOf = (value: unknown): string | undefined => {
  const node = value as { String?: { sval?: unknown }; sval?: unknown } | undefined;
  const text = node?.String?.sval ?? node?.sval;
  return typeof text === 'string' ? text : undefined;
};

/** A string literal argument, also through a cast such as 'name'::regclass. */
function literal(arg: unknown): string | undefined {
  const node = arg as { A_Const?: { sval?: { sval?: unknown } }; TypeCast?: { arg?: unknown } } | undefined;
  if (node?.TypeCast) return literal(node.TypeCast.arg);
  const text = node?.A_Const?.sval?.sval;
  return typeof text === 'string' ? text : undefined;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

function relationName(value: unknown): string | undefined {
  const rv = value as { relname?: unknown; schemaname?: unknown } | undefined;
  if (typeof rv?.relname !== 'string') return undefined;
  return typeof rv.schemaname === 'string'
    ? `${quote(rv.schemaname)}.${quote(rv.relname)}`
    : quote(rv.relname);
}

/** Reads what `statement` would do beyond its transaction; see {@link Effects}. */
export function outsideEffects(statement: Statement): Effects {
  const effects: Effects = { sequences: [], inserts: [] };
  const reasons: string[] = [];

  const visitStatement = (kind: string, node: Node) => {
    const fixed = OUTSIDE_STATEMENTS[kind];
    if (fixed) reasons.push(fixed);
    if (kind === 'VariableSetStmt') {
      const name = String(node.name ?? '').toLowerCase();
      if (node.kind === 'VAR_RESET_ALL') reasons.push('RESET ALL would lift the dry-run’s own timeouts');
      else if (GUARDED_SETTINGS.has(name)) reasons.push(settingReason(name));
    }
    if (kind === 'CopyStmt') {
      if (node.is_program) reasons.push('COPY … PROGRAM runs a command on the database server');
      else if (typeof node.filename === 'string')
        reasons.push('COPY reads or writes a file on the database server');
      else if (node.is_from) {
        const target = relationName(node.relation);
        if (target) effects.inserts.push(target);
      }
    }
    if (kind === 'InsertStmt' || kind === 'MergeStmt') {
      const target = relationName(node.relation);
      if (target) effects.inserts.push(target);
    }
    if (kind === 'DoStmt') {
      const body = (node.args as unknown[] | undefined)
        ?.map((arg) => (arg as { DefElem?: { defname?: unknown; arg?: unknown } }).DefElem)
        .find((def) => def?.defname === 'as');
      const named = DO_BODY.exec(stringOf(body?.arg) ?? '')?.[1];
      if (named) reasons.push(`the DO block uses ${named}, which reaches past the dry-run’s transaction`);
    }
    if (DEFINITIONS.has(kind)) return;
    visit(node);
  };

  const visitCall = (call: Node) => {
    const parts = (call.funcname as unknown[] | undefined) ?? [];
    const name = (stringOf(parts.at(-1)) ?? '').toLowerCase();
    const args = (call.args as unknown[] | undefined) ?? [];
    if (name === 'nextval' || name === 'setval') {
      const sequence = literal(args[0]);
      if (sequence === undefined)
        reasons.push(`${name}() on a sequence named at run time would move it past the rollback`);
      else effects.sequences.push({ call: name, name: sequence });
      return;
    }
    if (name === 'set_config') {
      const setting = literal(args[0])?.toLowerCase();
      if (setting === undefined || GUARDED_SETTINGS.has(setting))
        reasons.push(`set_config(): ${settingReason(setting ?? 'a setting named at run time')}`);
      return;
    }
    const outside = OUTSIDE_FUNCTIONS.find(([pattern]) => pattern.test(name));
    if (outside) reasons.push(`${name}() ${outside[1]}`);
  };

  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Node;
    // A column's SET DEFAULT stores the expression; ADD COLUMN … DEFAULT evaluates it for every row.
    if (node.subtype === 'AT_ColumnDefault') return;
    for (const [key, child] of Object.entries(node)) {
      if (key === 'FuncCall') {
        visitCall(child as Node);
        visit(child);
      } else if (/^[A-Z][A-Za-z]*Stmt$/.test(key) && child !== null && typeof child === 'object') {
        visitStatement(key, child as Node);
      } else {
        visit(child);
      }
    }
  };

  visitStatement(statement.kind, statement.node);
  if (reasons.length > 0) effects.reason = reasons[0];
  return effects;
}
