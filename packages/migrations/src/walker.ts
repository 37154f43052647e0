import type { Node, RangeVar } from '@pgsql/types';
import { type AnyNode, kindOf, type NodeKind, type NodeOf, relationName, unwrap } from './nodes.js';
import type { Statement } from './parser.js';
import type { Rule, RuleId } from './rules.js';
import type { MigrationState } from './state.js';

/** A rule that matched one statement; the message says what, RULES[rule].fix says how to do it safely. */
export interface Hit {
  rule: RuleId;
  message: string;
}

/** Where a node stands: what a tracker (and every rule) sees beside the node itself. */
export interface NodeContext {
  /** What the migration did before this node. */
  readonly state: MigrationState;
  /** The statement the node is in (the node itself, for a statement's visitor). */
  readonly statement: AnyNode;
  /** The node this one is in: the ALTER TABLE of a command, the command or CREATE TABLE of a column. */
  readonly parent: AnyNode | undefined;
  /** The table the statement names (CREATE TABLE, ALTER TABLE, CREATE INDEX, ALTER … RENAME), or `?`. */
  readonly table: string;
  /** Whether an earlier statement of this migration created that table. */
  readonly fresh: boolean;
}

/** What a rule's visitor sees. */
export interface RuleContext extends NodeContext {
  /** A finding of the rule whose visitor this is, on the statement. */
  report(message: string): void;
}

/** Functions by node kind: `{ IndexStmt(index, ctx) {…}, AlterTableCmd(cmd, ctx) {…} }`. */
export type Visitors<Context extends NodeContext = RuleContext> = {
  readonly [K in NodeKind]?: (node: NodeOf<K>, ctx: Context) => void;
};

/**
 * Where rules look below a statement, and nowhere else: ALTER TABLE's commands (not those of ALTER INDEX,
 * VIEW, TYPE or FOREIGN TABLE, which share the node), a command's column definition or constraint, and
 * CREATE TABLE's columns and table constraints. A statement nested in another (CREATE SCHEMA … CREATE
 * TABLE) is not looked at.
 */
const CHILDREN: { readonly [K in NodeKind]?: (node: NodeOf<K>) => readonly Node[] | undefined } = {
  AlterTableStmt: (alter) => (alter.objtype === 'OBJECT_TABLE' ? alter.cmds : undefined),
  AlterTableCmd: (cmd) => (cmd.def ? [cmd.def] : undefined),
  CreateStmt: (create) => create.tableElts,
};

type Visit = (node: unknown, ctx: Context) => void;

interface Entry {
  /** Undefined for a tracker. */
  rule: RuleId | undefined;
  visit: Visit;
}

/** What the walker does at a node kind: the children it descends into, then the visitors it calls. */
interface Plan {
  children: ((node: unknown) => readonly Node[] | undefined) | undefined;
  entries: Entry[];
}

function relationOf(statement: AnyNode): RangeVar | undefined {
  switch (statement.kind) {
    case 'CreateStmt':
    case 'AlterTableStmt':
    case 'IndexStmt':
    case 'RenameStmt':
      return statement.node.relation;
    default:
      return undefined;
  }
}

const NO_HITS: readonly Hit[] = Object.freeze([]);

/** One per walker, set up again for each statement (a statement is walked in one go). */
class Context implements RuleContext {
  statement!: AnyNode;
  state!: MigrationState;
  parent: AnyNode | undefined;
  rule: RuleId | undefined;
  hits: Hit[] | undefined;
  #table: string | undefined;
  #fresh: boolean | undefined;

  reset(statement: AnyNode, state: MigrationState): void {
    this.statement = statement;
    this.state = state;
    this.parent = undefined;
    this.rule = undefined;
    this.hits = undefined;
    this.#table = undefined;
    this.#fresh = undefined;
  }

  get table(): string {
    this.#table ??= relationName(relationOf(this.statement));
    return this.#table;
  }

  get fresh(): boolean {
    this.#fresh ??= this.state.created(this.table);
    return this.#fresh;
  }

  report(message: string): void {
    // Trackers get a NodeContext, which has no report: `rule` is set whenever this can be called.
    if (this.rule === undefined) return;
    this.hits ??= [];
    this.hits.push({ rule: this.rule, message });
  }
}

/**
 * Hands each statement's nodes to the visitors registered for their kind, in registry order, then to the
 * trackers. Children come before their parent, so a statement's visitors see what its commands reported
 * (missing-lock-timeout reports last). Only the statement and the CHILDREN below it are visited.
 */
export class Walker {
  /** The kinds something is registered for, and the CHILDREN kinds; any other node is passed by. */
  readonly #plans = new Map<NodeKind, Plan>();

  constructor(rules: readonly Rule[], trackers: Visitors<NodeContext>) {
    for (const [kind, children] of Object.entries(CHILDREN)) {
      this.#plans.set(kind as NodeKind, { children: children as Plan['children'], entries: [] });
    }
    for (const rule of rules) this.#add(rule.id, rule.visitors ?? {});
    this.#add(undefined, trackers);
  }

  #add(rule: RuleId | undefined, visitors: Visitors<never>): void {
    for (const [kind, visit] of Object.entries(visitors) as [NodeKind, Visit][]) {
      const plan = this.#plans.get(kind) ?? { children: undefined, entries: [] };
      plan.entries.push({ rule, visit });
      this.#plans.set(kind, plan);
    }
  }

  readonly #ctx = new Context();

  /** The findings of every rule on one statement; the trackers update `state`. */
  check(statement: Statement, state: MigrationState): readonly Hit[] {
    const ctx = this.#ctx;
    ctx.reset(statement.ast, state);
    this.#visit(statement.kind, statement.node, ctx);
    return ctx.hits ?? NO_HITS;
  }

  #visit(kind: NodeKind, node: unknown, ctx: Context): void {
    const plan = this.#plans.get(kind);
    if (!plan) return;
    const children = plan.children?.(node);
    if (children) {
      const parent = ctx.parent;
      ctx.parent = { kind, node } as AnyNode;
      for (const child of children) {
        const childKind = kindOf(child);
        if (childKind !== undefined) this.#visit(childKind, unwrap(child, childKind), ctx);
      }
      ctx.parent = parent;
    }
    for (const entry of plan.entries) {
      ctx.rule = entry.rule;
      entry.visit(node, ctx);
    }
  }
}
