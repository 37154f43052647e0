import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
  type Node as YamlNode,
} from 'yaml';
import { ScanInputError } from './errors.js';
import {
  type Finding,
  groupBySeverity,
  KINDS,
  type Kind,
  SEVERITIES,
  type Severity,
  severityRank,
  sortWithinSeverity,
} from './finding.js';

export interface Waiver {
  id: string;
  package?: string;
  target?: string;
  reason: string;
  /** YYYY-MM-DD; the waiver holds through the end of that day (UTC). */
  expires: string;
  /** Line in the policy file, for annotations. */
  line?: number;
}

export interface Policy {
  file?: string;
  waivers: Waiver[];
  budgets: Partial<Record<Severity, number>>;
  /** Line of each budget in the policy file, for annotations. */
  budgetLines?: Partial<Record<Severity, number>>;
  kinds: Kind[];
  /** How far ahead a waiver may expire, so that every waiver comes up for review again. */
  maxWaiverDays: number;
  /**
   * Trivy's settings files, relative to the workspace: the only ones a Trivy run of scan-gate reads
   * (anything else in the scanned tree is ignored).
   */
  trivy?: { config?: string; ignoreFile?: string; secretConfig?: string };
}

export const DEFAULT_MAX_WAIVER_DAYS = 365;

export const EMPTY_POLICY: Policy = {
  waivers: [],
  budgets: {},
  kinds: [...KINDS],
  maxWaiverDays: DEFAULT_MAX_WAIVER_DAYS,
};

const TOP_KEYS = ['waivers', 'budgets', 'kinds', 'max-waiver-days', 'trivy'];
const TRIVY_KEYS = { config: 'config', ignorefile: 'ignoreFile', 'secret-config': 'secretConfig' } as const;
/**
 * A policy is a page or two of YAML. The cap keeps a hostile file from costing minutes: the YAML parser
 * is slow on some malformed input (seconds for 64 KiB of `\t-\t:`).
 */
export const MAX_POLICY_BYTES = 64 * 1024;
const MAX_WAIVER_DAYS = 3650;
const WAIVER_KEYS = ['id', 'package', 'target', 'reason', 'expires'];
const DAY_MS = 86_400_000;

/** A node as a message shows it: a scalar's value, else what kind of node it is. */
function shown(node: unknown): string {
  if (isScalar(node)) {
    return typeof node.value === 'string' ? JSON.stringify(node.value.slice(0, 60)) : String(node.value);
  }
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isAlias(node)) return `the alias *${node.source}`;
  return 'nothing';
}

/** YYYY-MM-DD that names a day of the calendar (no 2026-02-30). */
function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const time = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === text;
}

/** The last day (UTC) a waiver written today may run to. */
function latestExpiry(now: Date, days: number): string {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Reads the policy file; every mistake names the file, the line and the fix. `now` decides how far
 * ahead a waiver may expire.
 */
export function parsePolicy(text: string, file: string, options: { now?: Date } = {}): Policy {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_POLICY_BYTES) {
    throw new ScanInputError(
      `${file} is ${bytes} bytes; a policy file may hold at most ${MAX_POLICY_BYTES} (64 KiB): check that \`policy\` names the policy and not another file.`,
      { file },
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as YamlNode | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  const fail = (message: string, node?: unknown, line = lineOf(node)): never => {
    throw new ScanInputError(`${file}${line ? `:${line}` : ''}: ${message}`, { file, line });
  };
  const [syntaxError] = doc.errors;
  if (syntaxError) {
    const line = lineCounter.linePos(syntaxError.pos[0]).line;
    fail(`invalid YAML at line ${line}: ${syntaxError.message.split('\n')[0]}`, undefined, line);
  }
  if (doc.contents === null) return { ...EMPTY_POLICY, file };
  if (!isMap(doc.contents))
    fail('the policy must be a mapping with `waivers`, `budgets` and/or `kinds`.', doc.contents);
  const root = doc.contents as unknown as YAMLMap;

  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    if (!TOP_KEYS.includes(key)) {
      fail(
        `unknown key \`${key.slice(0, 60)}\`; the policy knows ${TOP_KEYS.map((k) => `\`${k}\``).join(', ')}.`,
        pair.key,
      );
    }
  }

  const policy: Policy = {
    file,
    waivers: [],
    budgets: {},
    budgetLines: {},
    kinds: [...KINDS],
    maxWaiverDays: DEFAULT_MAX_WAIVER_DAYS,
  };

  const kindsNode = root.get('kinds', true);
  if (kindsNode !== undefined) {
    const items = isSeq(kindsNode) ? (kindsNode as unknown as YAMLSeq).items : undefined;
    const kinds = items?.map((item) => (isScalar(item) ? item.value : undefined));
    if (kinds === undefined || kinds.some((kind) => !KINDS.includes(kind as Kind))) {
      const got = items ? `[${items.map(shown).join(', ').slice(0, 80)}]` : shown(kindsNode);
      fail(`\`kinds\` must be a list of ${KINDS.join(', ')}; got ${got}.`, kindsNode);
    }
    if (kinds?.length === 0) {
      fail(
        `\`kinds: []\` leaves nothing for the gate to judge; list the kinds to judge (${KINDS.join(', ')}) or remove \`kinds\` to judge all of them.`,
        kindsNode,
      );
    }
    policy.kinds = [...new Set(kinds as Kind[])];
  }

  const horizonNode = root.get('max-waiver-days', true);
  if (horizonNode !== undefined) {
    const days = (horizonNode as { value?: unknown }).value;
    if (!(typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= MAX_WAIVER_DAYS)) {
      fail(
        `\`max-waiver-days\` must be a whole number of days of at least 1 and at most ${MAX_WAIVER_DAYS}, e.g. \`max-waiver-days: 90\`; got ${String(JSON.stringify(days ?? null)).slice(0, 60)}.`,
        horizonNode,
      );
    }
    policy.maxWaiverDays = days as number;
  }
  const latest = latestExpiry(options.now ?? new Date(), policy.maxWaiverDays);

  const trivyNode = root.get('trivy', true);
  if (trivyNode !== undefined) {
    const keys = Object.keys(TRIVY_KEYS).map((k) => `\`${k}\``);
    if (!isMap(trivyNode))
      fail(`\`trivy\` must map ${keys.join(', ')} to files in the workspace.`, trivyNode);
    policy.trivy = {};
    for (const pair of (trivyNode as unknown as YAMLMap).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : shown(pair.key);
      const field = TRIVY_KEYS[key as keyof typeof TRIVY_KEYS];
      if (field === undefined)
        fail(`unknown key \`${key.slice(0, 60)}\` in \`trivy\`; use ${keys.join(', ')}.`, pair.key);
      const path = isScalar(pair.value) ? String(pair.value.value ?? '').trim() : '';
      const parts = path.split(/[\\/]/);
      if (path === '' || path.startsWith('/') || /^[A-Za-z]:/.test(path) || parts.includes('..')) {
        fail(
          `\`trivy.${key}\` must be a path inside the workspace such as \`.github/trivy.yaml\`; got ${shown(pair.value)}.`,
          pair.value ?? pair.key,
        );
      }
      policy.trivy[field] = path;
    }
  }

  const budgetsNode = root.get('budgets', true);
  if (budgetsNode !== undefined) {
    if (!isMap(budgetsNode))
      fail('`budgets` must map a severity to a count, e.g. `medium: 50`.', budgetsNode);
    for (const pair of (budgetsNode as unknown as YAMLMap).items) {
      const severity = isScalar(pair.key) ? String(pair.key.value) : undefined;
      const limit = isScalar(pair.value) ? pair.value.value : undefined;
      if (severity === undefined || !(SEVERITIES as readonly string[]).includes(severity)) {
        fail(
          `unknown severity ${severity === undefined ? shown(pair.key) : `\`${severity.slice(0, 60)}\``} in \`budgets\`; use ${SEVERITIES.join(', ')}.`,
          pair.key,
        );
      }
      if (!(typeof limit === 'number' && Number.isInteger(limit) && limit >= 0)) {
        fail(
          `the budget for \`${severity}\` must be a whole number of at least 0; got ${shown(pair.value)}.`,
          pair.value ?? pair.key,
        );
      }
      policy.budgets[severity as Severity] = limit as number;
      (policy.budgetLines as Partial<Record<Severity, number>>)[severity as Severity] = lineOf(pair.key);
    }
  }

  const waiversNode = root.get('waivers', true);
  if (waiversNode !== undefined) {
    if (!isSeq(waiversNode))
      fail('`waivers` must be a list of entries with `id`, `reason` and `expires`.', waiversNode);
    (waiversNode as unknown as YAMLSeq).items.forEach((item, index) => {
      const line = lineOf(item);
      const name = `waiver ${index + 1}`;
      if (!isMap(item)) fail(`${name} must be a mapping with \`id\`, \`reason\` and \`expires\`.`, item);
      // Field by field, never through toJSON(): plain values only, so an alias cannot multiply a waiver.
      const value = new Map<string, string>();
      for (const pair of (item as YAMLMap).items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : shown(pair.key);
        if (!WAIVER_KEYS.includes(key))
          fail(
            `${name} has an unknown key \`${key.slice(0, 60)}\`; a waiver has ${WAIVER_KEYS.join(', ')}.`,
            item,
          );
        const field = pair.value;
        if (isScalar(field)) {
          if (field.value !== null && field.value !== undefined) value.set(key, String(field.value));
        } else if (field !== null && field !== undefined) {
          fail(`${name} has \`${key}\` set to ${shown(field)}; write it as plain text.`, item);
        }
      }
      const text = (key: string) => value.get(key)?.trim() || undefined;
      const id = text('id');
      if (!id) fail(`${name} has no \`id\`; set the CVE, GHSA or rule id it waives.`, item);
      const label = `waiver ${index + 1} (${(id as string).slice(0, 60)})`;
      const reason = text('reason');
      if (!reason)
        fail(`${label} has no \`reason\`; every waiver must say why the finding is accepted.`, item);
      const expires = text('expires');
      if (!expires)
        fail(`${label} has no \`expires\`; set a date such as 2026-12-31 so the waiver is reviewed.`, item);
      if (!isCalendarDate(expires as string)) {
        fail(
          `${label} has \`expires: ${(expires as string).slice(0, 60)}\`; write the date as YYYY-MM-DD.`,
          item,
        );
      }
      // Both are YYYY-MM-DD, so text order is date order.
      if ((expires as string) > latest) {
        fail(
          `${label} expires on ${expires}, more than ${policy.maxWaiverDays} days ahead (\`max-waiver-days\`); set \`expires\` to ${latest} or earlier and renew the waiver when it is reviewed again.`,
          item,
        );
      }
      policy.waivers.push({
        id: id as string,
        package: text('package'),
        target: text('target'),
        reason: reason as string,
        expires: expires as string,
        line,
      });
    });
  }
  return policy;
}

export function isExpired(waiver: Waiver, now: Date): boolean {
  return Date.parse(`${waiver.expires}T23:59:59.999Z`) < now.getTime();
}

function waives(waiver: Waiver, finding: Finding): boolean {
  if (waiver.id.toLowerCase() !== finding.id.toLowerCase()) return false;
  if (waiver.package !== undefined && waiver.package !== finding.package) return false;
  if (waiver.target !== undefined) {
    const places = [...finding.targets, finding.location?.file];
    if (!places.includes(waiver.target)) return false;
  }
  return true;
}

export interface GateOptions {
  /** Findings at or above it block; default high. */
  threshold: Severity;
  /** Leave out vulnerabilities nobody can fix yet by upgrading. */
  ignoreUnfixed: boolean;
  policy: Policy;
  now: Date;
}

export interface BudgetResult {
  severity: Severity;
  limit: number;
  count: number;
  exceeded: boolean;
  /** Findings at or above the threshold that this budget let pass. */
  tolerated: number;
  /** The budget's line in the policy file. */
  line?: number;
}

export interface GateResult {
  /**
   * What the gate judged (after kinds, ignore-unfixed and waivers), grouped by severity, most severe
   * first. Groups with blocking or tolerated findings are in {@link compareFindings} order; the others
   * keep the reports' order ({@link sortGroupsUpTo} sorts as many as a reader needs).
   */
  findings: Finding[];
  /** Most severe first, in {@link compareFindings} order. */
  blocking: Finding[];
  /** At or above the threshold, yet passed because a budget allows them: never to go unmentioned. */
  tolerated: Finding[];
  counts: Record<Severity, number>;
  waived: { finding: Finding; waiver: Waiver }[];
  expiredWaivers: Waiver[];
  ignoredUnfixed: number;
  excludedByKind: number;
  budgets: BudgetResult[];
  passed: boolean;
}

/** Appends in place: a spread of 100,000 arguments would overflow the stack. */
function append(to: Finding[], from: Finding[]): void {
  for (const finding of from) to.push(finding);
}

/**
 * Blocking = at or above the threshold, unless a budget for that severity allows it; a severity whose
 * budget is exceeded blocks entirely, whatever the threshold, since the budget is the team's promise.
 * What a budget lets pass at or above the threshold is returned as `tolerated`, for the front end to show.
 */
export function evaluate(all: Finding[], options: GateOptions): GateResult {
  const { policy, now } = options;
  const active = policy.waivers.filter((waiver) => !isExpired(waiver, now));
  const expiredWaivers = policy.waivers.filter((waiver) => isExpired(waiver, now));
  const waived: GateResult['waived'] = [];
  let ignoredUnfixed = 0;
  let excludedByKind = 0;
  // By id, in policy order: a finding is held against the waivers of its own id only.
  const activeById = new Map<string, Waiver[]>();
  for (const waiver of active) {
    const id = waiver.id.toLowerCase();
    activeById.set(id, [...(activeById.get(id) ?? []), waiver]);
  }
  // One pass over every finding: judged ones go straight into their severity's group, which is all the
  // counts, the budgets and blocking depend on; then only the groups are sorted and joined.
  const allKinds = KINDS.every((kind) => policy.kinds.includes(kind));
  const groups = groupBySeverity(all, (finding) => {
    if (!allKinds && !policy.kinds.includes(finding.kind)) {
      excludedByKind++;
      return false;
    }
    if (options.ignoreUnfixed && finding.kind === 'vulnerability' && finding.status !== 'fixed') {
      ignoredUnfixed++;
      return false;
    }
    const waiver =
      activeById.size === 0
        ? undefined
        : activeById.get(finding.id.toLowerCase())?.find((candidate) => waives(candidate, finding));
    if (waiver) {
      waived.push({ finding, waiver });
      return false;
    }
    return true;
  });
  const counts = Object.fromEntries(
    SEVERITIES.map((severity, i) => [severity, groups[i]?.length ?? 0]),
  ) as Record<Severity, number>;
  const threshold = severityRank(options.threshold);
  const budgets: BudgetResult[] = (Object.entries(policy.budgets) as [Severity, number][]).map(
    ([severity, limit]) => {
      const exceeded = counts[severity] > limit;
      const line = policy.budgetLines?.[severity];
      return {
        severity,
        limit,
        count: counts[severity],
        exceeded,
        tolerated: !exceeded && severityRank(severity) >= threshold ? counts[severity] : 0,
        ...(line === undefined ? {} : { line }),
      };
    },
  );
  const budgetOf = new Map(budgets.map((budget) => [budget.severity, budget]));
  const findings: Finding[] = [];
  const blocking: Finding[] = [];
  const tolerated: Finding[] = [];
  SEVERITIES.forEach((severity, i) => {
    const group = groups[i] as Finding[];
    const budget = budgetOf.get(severity);
    const atThreshold = severityRank(severity) >= threshold;
    const blocks = budget ? budget.exceeded : atThreshold;
    // What is shown (blocking and tolerated findings) is sorted; the rest is left for whoever needs
    // an order among them (the SARIF, for the first 5,000): on 100,000 findings that is most of them.
    if (blocks || atThreshold) sortWithinSeverity(group);
    append(findings, group);
    if (blocks) append(blocking, group);
    else if (atThreshold) append(tolerated, group);
  });
  return {
    findings,
    blocking,
    tolerated,
    counts,
    waived,
    expiredWaivers,
    ignoredUnfixed,
    excludedByKind,
    budgets,
    passed: blocking.length === 0,
  };
}
