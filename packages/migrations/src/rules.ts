import { REGISTRY } from './rules/index.js';
import type { Visitors } from './walker.js';

export type Severity = 'error' | 'warning' | 'info';

/**
 * Every rule id, in the order SARIF lists the rules (a result's ruleIndex points into it, and the config
 * error lists them so): a new rule goes last. Each is defined once in `rules/<family>.ts`.
 */
export const RULE_IDS = [
  'syntax-error',
  'drop-table',
  'drop-column',
  'truncate',
  'add-not-null-column-without-default',
  'rename-column',
  'rename-table',
  'create-index-non-concurrently',
  'drop-index-non-concurrently',
  'concurrently-in-transaction',
  'change-column-type',
  'set-not-null',
  'add-foreign-key-without-not-valid',
  'add-check-constraint-without-not-valid',
  'add-unique-constraint',
  'add-primary-key',
  'add-column-volatile-default',
  'vacuum-full',
  'cluster',
  'drop-database',
  'drop-schema',
  'missing-lock-timeout',
  'prefer-bigint',
  'prefer-timestamptz',
  'prefer-text',
  'missing-down',
  'invalid-suppression',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export interface RuleInfo {
  /**
   * The rule's name in SARIF, where it must differ from the id; only where the id in PascalCase would
   * be the id again (a one-word id), since the name is otherwise derived from it.
   */
  name?: string;
  /** One line: what the rule catches. */
  title: string;
  severity: Severity;
  /** The safe way to do it (appended to every message of the rule). */
  fix: string;
  /** Dropping data: in a down/undo migration, where dropping is the point, it reports at info. */
  destructive?: true;
}

/** A rule: its id and metadata, and what it does at the node kinds it looks at. */
export interface Rule extends RuleInfo {
  id: RuleId;
  /** None for the rules the lint reports itself (syntax errors, missing downs, suppression comments). */
  visitors?: Visitors;
}

/** Every rule by id. */
export const RULES = Object.fromEntries(REGISTRY.map((rule) => [rule.id, rule])) as Readonly<
  Record<RuleId, Rule>
>;

/** The SARIF name of a rule: PascalCase, and never the id itself, whatever the case. */
export function ruleName(id: RuleId): string {
  return (
    RULES[id].name ??
    id
      .split('-')
      .map((w) => (w[0] ?? '').toUpperCase() + w.slice(1))
      .join('')
  );
}

export function isRuleId(value: string): value is RuleId {
  return Object.hasOwn(RULES, value);
}

/** In a down/undo migration dropping is the point: these rules report there at info. */
export const DESTRUCTIVE_RULES: ReadonlySet<RuleId> = new Set(
  REGISTRY.filter((rule) => rule.destructive).map((rule) => rule.id),
);
