import { hash } from 'node:crypto';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const KINDS = ['vulnerability', 'misconfiguration', 'secret'] as const;
export type Kind = (typeof KINDS)[number];

export interface Location {
  /** Repository-relative path, only when the scanned thing was the repository itself. */
  file: string;
  line?: number;
  endLine?: number;
}

/** One problem, whichever tool reported it. */
export interface Finding {
  /** CVE, GHSA, or the tool's rule id (KSV-0001, github-pat). */
  id: string;
  kind: Kind;
  severity: Severity;
  package?: string;
  installedVersion?: string;
  fixedVersion?: string;
  purl?: string;
  /** What was scanned: an image reference or a file; several when reports were merged. */
  targets: string[];
  location?: Location;
  /** A file inside the scanned image (a secret in /app/key.pem): tells apart findings with no repository location. */
  artifactPath?: string;
  /** Normalised: fixed, affected, will_not_fix, fix_deferred, end_of_life, not_affected, unknown… */
  status: string;
  title: string;
  cvss?: number;
  /** Every tool that reported it. */
  tools: string[];
}

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, unknown: 0 };

export function severityRank(severity: Severity): number {
  return RANK[severity];
}

/** Most severe first; ties broken by id so the order is the same on every run. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    RANK[b.severity] - RANK[a.severity] ||
    (b.cvss ?? 0) - (a.cvss ?? 0) ||
    byCodePoint(a.id, b.id) ||
    byCodePoint(a.package ?? '', b.package ?? '')
  );
}

/**
 * After the severity, which {@link sortFindings} has already grouped by. One string comparison per
 * field (`!==` first: most ids differ), inline: on 100,000 findings the sort runs once, before the JIT
 * has warmed up, and a comparison through helpers cost three times as much there.
 */
function compareWithinSeverity(a: Finding, b: Finding): number {
  const score = (b.cvss ?? 0) - (a.cvss ?? 0);
  if (score !== 0) return score;
  const x = a.id;
  const y = b.id;
  if (x !== y) return x < y ? -1 : 1;
  const p = a.package ?? '';
  const q = b.package ?? '';
  return p === q ? 0 : p < q ? -1 : 1;
}

/** Sorts findings of one severity in place, in the order of {@link compareFindings}. */
export function sortWithinSeverity(findings: Finding[]): Finding[] {
  return findings.sort(compareWithinSeverity);
}

/**
 * Findings by severity, most severe first (one group per entry of {@link SEVERITIES}, in its order): the
 * groups {@link sortFindings} and the gate sort. `keep` leaves a finding out when it says false.
 */
export function groupBySeverity(
  findings: Iterable<Finding>,
  keep: (finding: Finding) => boolean = () => true,
): Finding[][] {
  const groups: Finding[][] = [[], [], [], [], []];
  for (const finding of findings) {
    if (keep(finding)) (groups[4 - RANK[finding.severity]] as Finding[]).push(finding);
  }
  return groups;
}

/**
 * Findings grouped by severity, most severe first, put in the order of {@link compareFindings} as far as
 * the first `count` of them reach: every severity group that has a member among them is sorted whole, in
 * place (a group already sorted costs one comparison per finding). The rest keep their order.
 */
export function sortGroupsUpTo(findings: Finding[], count: number): Finding[] {
  let start = 0;
  while (start < findings.length && start < count) {
    const severity = (findings[start] as Finding).severity;
    let end = start + 1;
    while (end < findings.length && (findings[end] as Finding).severity === severity) end++;
    const group = sortWithinSeverity(findings.slice(start, end));
    for (let i = 0; i < group.length; i++) findings[start + i] = group[i] as Finding;
    start = end;
  }
  return findings;
}

/**
 * The order of {@link compareFindings}, in place: the findings are grouped by severity in one pass and
 * each group is sorted on the rest, which on 100,000 findings saves a third of the comparisons.
 */
export function sortFindings(findings: Finding[]): Finding[] {
  let i = 0;
  for (const group of groupBySeverity(findings)) {
    for (const finding of sortWithinSeverity(group)) findings[i++] = finding;
  }
  return findings;
}

// Not localeCompare: the order must not depend on the runner's locale, and ICU is slow on 100,000 findings.
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every scanner spells severity its own way: CRITICAL, Critical, moderate, Negligible, error… */
export function normaliseSeverity(value: unknown): Severity {
  // Trivy's own spelling first: no lower-cased copy for each of 100,000 findings.
  switch (value) {
    case 'CRITICAL':
      return 'critical';
    case 'HIGH':
      return 'high';
    case 'MEDIUM':
      return 'medium';
    case 'LOW':
      return 'low';
  }
  switch (String(value ?? '').toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'high':
      return 'high';
    case 'medium':
    case 'moderate':
      return 'medium';
    case 'low':
    case 'negligible':
    case 'info':
      return 'low';
    default:
      return 'unknown';
  }
}

/** CVSS v3 qualitative ratings, which is also how GitHub reads `security-severity`. */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'unknown';
}

/**
 * Identity of a finding across runs: no versions (an upgrade that does not fix it is the same alert)
 * and no image tag (a tag in the key opens a new alert on every build and never closes the old one).
 * Lines only for findings that live in a file, where the line is what tells two of them apart.
 */
export function fingerprint(finding: Finding): string {
  return hash('sha256', identity(finding), 'hex').slice(0, 32);
}

function identity(finding: Finding): string {
  const line = finding.kind === 'vulnerability' ? '' : String(finding.location?.line ?? '');
  const place = finding.location?.file ?? finding.artifactPath ?? '';
  return `${finding.kind}\u0000${finding.id}\u0000${finding.package ?? ''}\u0000${place}\u0000${line}`;
}

// The identity itself, not its hash: merging 100,000 findings should not cost 100,000 SHA-256s.
function mergeKey(finding: Finding): string {
  return `${identity(finding)}\u0000${finding.installedVersion ?? ''}`;
}

const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];

/** The more severe rating wins, and facts one report has and the other lacks are kept. */
function merge(seen: Finding, finding: Finding): Finding {
  const first = RANK[finding.severity] > RANK[seen.severity] ? finding : seen;
  const second = first === seen ? finding : seen;
  return {
    ...second,
    ...withoutUndefined(first),
    status: first.status !== 'unknown' ? first.status : second.status,
    fixedVersion: first.fixedVersion ?? second.fixedVersion,
    cvss: Math.max(first.cvss ?? 0, second.cvss ?? 0) || undefined,
    targets: union(seen.targets, finding.targets),
    tools: union(seen.tools, finding.tools),
  };
}

/**
 * The same finding reported by two tools (Trivy and Grype on one image) or twice by one tool counts
 * once, in the place it was first seen. Findings are grouped by id first, and the full identity is
 * built only among findings that share an id: on a report of 100,000 distinct CVEs that is none.
 */
export function mergeFindings(findings: Iterable<Finding>): Finding[] {
  const merged: Finding[] = [];
  // Per id: the position of its only finding so far, or its findings' positions by identity.
  const byId = new Map<string, number | Map<string, number>>();
  for (const finding of findings) {
    const group = byId.get(finding.id);
    if (group === undefined) {
      byId.set(finding.id, merged.push(finding) - 1);
      continue;
    }
    let byKey = group;
    if (typeof byKey === 'number') {
      byKey = new Map([[mergeKey(merged[byKey] as Finding), byKey]]);
      byId.set(finding.id, byKey);
    }
    const key = mergeKey(finding);
    const at = byKey.get(key);
    if (at === undefined) byKey.set(key, merged.push(finding) - 1);
    else merged[at] = merge(merged[at] as Finding, finding);
  }
  return merged;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function countBySeverity(findings: Iterable<Finding>): Record<Severity, number> {
  let critical = 0;
  let high = 0;
  let medium = 0;
  let low = 0;
  let unknown = 0;
  for (const finding of findings) {
    switch (finding.severity) {
      case 'critical':
        critical++;
        break;
      case 'high':
        high++;
        break;
      case 'medium':
        medium++;
        break;
      case 'low':
        low++;
        break;
      default:
        unknown++;
    }
  }
  return { critical, high, medium, low, unknown };
}
