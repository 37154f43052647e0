import { gzipSync } from 'node:zlib';
import { compareFindings, type Finding, fingerprint, type Severity } from './finding.js';

/** GitHub's documented limits for one SARIF upload to code scanning. */
export interface SarifLimits {
  runs: number;
  resultsPerRun: number;
  gzippedBytes: number;
}

export const GITHUB_SARIF_LIMITS: SarifLimits = {
  runs: 20,
  resultsPerRun: 25_000,
  gzippedBytes: 10 * 1024 * 1024,
};

export interface SarifOptions {
  /** Stable name of this analysis (never an image tag): GitHub closes alerts only within one category. */
  category: string;
  /** Where findings without a repository file (image findings) are shown, at line 1. */
  dockerfile: string;
  /** The tool's version in the log; defaults to {@link SARIF_TOOL_VERSION}. */
  toolVersion?: string;
  limits?: SarifLimits;
  /**
   * Findings a waiver accepts: written as results with an external suppression that gives the reason,
   * so GitHub dismisses their alerts with that reason instead of closing them as fixed.
   */
  waived?: readonly { finding: Finding; waiver: { reason: string } }[];
}

export interface SarifTruncation {
  total: number;
  kept: number;
  reason: 'results' | 'size';
}

export interface SarifOutput {
  /** The serialised log, as written to disk. */
  text: string;
  gzipped: Buffer;
  results: number;
  truncation?: SarifTruncation;
}

/** The version scan-gate's SARIF names when none is given: GitHub compares runs of one tool by it. */
export const SARIF_TOOL_VERSION = '1.0.0';

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** The key GitHub stores beside its own fingerprints; versioned so a change of scheme can be told apart. */
export const FINGERPRINT_KEY = 'digestlineFindingHash/v1';

// GitHub's own severity bands read `security-severity`: ≥9 critical, ≥7 high, ≥4 medium, else low.
const FIXED_SCORE: Record<Severity, string | undefined> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '2.0',
  unknown: undefined,
};

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  unknown: 'note',
};

function helpUri(id: string): string | undefined {
  if (/^CVE-\d+-\d+$/i.test(id)) return `https://nvd.nist.gov/vuln/detail/${id.toUpperCase()}`;
  if (/^GHSA(-[a-z0-9]{4}){3}$/i.test(id)) return `https://github.com/advisories/${id}`;
  return undefined;
}

const packageLabel = (finding: Finding) =>
  finding.package
    ? `${finding.package}${finding.installedVersion ? `@${finding.installedVersion}` : ''}`
    : undefined;

function fixText(finding: Finding): string {
  if (finding.kind !== 'vulnerability') return '';
  return finding.fixedVersion ? `fixed in ${finding.fixedVersion}` : 'no fixed version yet';
}

const NAME: Record<Finding['kind'], string> = {
  vulnerability: 'Vulnerability',
  misconfiguration: 'Misconfiguration',
  secret: 'Secret',
};

const sentence = (text: string) => {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
};

function listed(items: string[], max = 5): string {
  const shown = items.slice(0, max);
  const more = items.length - shown.length;
  if (more > 0) return `${shown.join(', ')} and ${more} more`;
  return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}` : (shown[0] ?? '');
}

/**
 * GitHub requires a full description on every rule: what the finding is, where, and whether a fix
 * exists, in sentences built from the findings of the rule.
 */
function fullDescription(id: string, findings: Finding[]): string {
  const [worst] = findings as [Finding];
  const title = worst.title.trim() && worst.title.trim() !== id ? ` ${sentence(worst.title)}` : '';
  const packages = [...new Set(findings.flatMap((f) => (f.package ? [f.package] : [])))];
  const tools = listed([...new Set(findings.flatMap((f) => f.tools))]);
  if (worst.kind === 'vulnerability') {
    const where = packages.length > 0 ? ` in ${listed(packages)}` : '';
    const fixed = [...new Set(findings.flatMap((f) => (f.fixedVersion ? [f.fixedVersion] : [])))];
    const fix =
      fixed.length === 0
        ? 'No fixed version is available yet.'
        : findings.every((f) => f.fixedVersion)
          ? `Fixed in ${listed(fixed)}.`
          : `Fixed in ${listed(fixed)} for some of the findings; the others have no fixed version yet.`;
    return `${id} is a ${worst.severity}-severity vulnerability${where}, reported by ${tools}.${title} ${fix}`;
  }
  const files = [
    ...new Set(
      findings.flatMap((f) =>
        f.location?.file ? [f.location.file] : f.artifactPath ? [f.artifactPath] : [],
      ),
    ),
  ];
  const where = files.length > 0 ? ` in ${listed(files)}` : '';
  const what = worst.kind === 'secret' ? 'exposed secret' : 'misconfiguration';
  return `${id} is a ${worst.severity}-severity ${what}${where}, reported by ${tools}.${title}`;
}

function rule(id: string, findings: Finding[]): Record<string, unknown> {
  const [worst] = findings as [Finding];
  // A reduce, not Math.max(...): a rule can have more findings than a call takes arguments.
  const top = Math.min(
    10,
    findings.reduce((max, f) => Math.max(max, f.cvss ?? 0), 0),
  );
  const score = top > 0 ? top.toFixed(1) : FIXED_SCORE[worst.severity];
  const fixes = [...new Set(findings.filter((f) => f.package).map((f) => `- ${f.package}: ${fixText(f)}`))];
  const help = [
    `${worst.title}`,
    `Severity: ${worst.severity}`,
    ...(fixes.length > 0 ? ['', 'Affected packages:', ...fixes.slice(0, 50)] : []),
  ].join('\n');
  const uri = helpUri(id);
  return {
    id,
    name: NAME[worst.kind],
    shortDescription: { text: worst.title.slice(0, 1000) },
    fullDescription: { text: fullDescription(id, findings).slice(0, 1000) },
    ...(uri ? { helpUri: uri } : {}),
    help: { text: help },
    defaultConfiguration: { level: LEVEL[worst.severity] },
    properties: {
      ...(score === undefined ? {} : { 'security-severity': score }),
      precision: 'very-high',
      tags: ['security', worst.kind, worst.severity],
    },
  };
}

function result(
  finding: Finding,
  ruleIndex: number,
  dockerfile: string,
  waiverReason: string | undefined,
): Record<string, unknown> {
  const what = packageLabel(finding);
  const fix = fixText(finding);
  const message = [
    `${finding.id} (${finding.severity})${what ? ` in ${what}` : ''}${fix ? `, ${fix}` : ''}: ${finding.title}`,
    `Reported by ${finding.tools.join(', ')} in ${finding.targets.join(', ')}${finding.artifactPath ? ` at ${finding.artifactPath}` : ''}.`,
  ].join('\n');
  const file = finding.location?.file ?? dockerfile;
  const startLine = finding.location?.file ? Math.max(1, finding.location.line ?? 1) : 1;
  const endLine = finding.location?.endLine;
  return {
    ruleId: finding.id,
    ruleIndex,
    level: LEVEL[finding.severity],
    message: { text: message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: file },
          region: { startLine, ...(endLine && endLine >= startLine ? { endLine } : {}) },
        },
      },
    ],
    partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(finding) },
    ...(waiverReason === undefined
      ? {}
      : { suppressions: [{ kind: 'external', status: 'accepted', justification: waiverReason }] }),
  };
}

/**
 * The log is assembled from one JSON text per rule and per result instead of one object graph: with
 * 25,000 results that graph would outlive its use by the whole serialisation, next to the report.
 */
function build(findings: Finding[], options: SarifOptions, reasons: Map<Finding, string>): string {
  const byRule = new Map<string, Finding[]>();
  for (const finding of findings) {
    const group = byRule.get(finding.id);
    if (group) group.push(finding);
    else byRule.set(finding.id, [finding]);
  }
  const index = new Map([...byRule.keys()].map((id, i) => [id, i]));
  const rules = [...byRule].map(([id, group]) => JSON.stringify(rule(id, group)));
  const results = findings.map((finding) =>
    JSON.stringify(
      result(finding, index.get(finding.id) as number, options.dockerfile, reasons.get(finding)),
    ),
  );
  const version = options.toolVersion || SARIF_TOOL_VERSION;
  const driver = {
    name: 'digestline scan-gate',
    informationUri: 'https://github.com/digestline/digestline',
    version,
    ...(SEMVER.test(version) ? { semanticVersion: version } : {}),
  };
  const driverText = JSON.stringify(driver).slice(0, -1);
  return [
    '{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":',
    `${driverText},"rules":[${rules.join(',')}]}},`,
    `"automationDetails":${JSON.stringify({ id: `${options.category}/` })},`,
    `"results":[${results.join(',')}]}]}`,
  ].join('');
}

/**
 * SARIF for GitHub code scanning, inside its limits: above 25,000 results or 10 MB gzipped GitHub
 * rejects the whole upload, so waived results and then the least severe are dropped first and the cut
 * is reported.
 */
export function writeSarif(all: Finding[], options: SarifOptions): SarifOutput {
  const limits = options.limits ?? GITHUB_SARIF_LIMITS;
  const reasons = new Map((options.waived ?? []).map(({ finding, waiver }) => [finding, waiver.reason]));
  const sorted = [...[...all].sort(compareFindings), ...[...reasons.keys()].sort(compareFindings)];
  let kept = Math.min(sorted.length, limits.resultsPerRun);
  let reason: SarifTruncation['reason'] | undefined = kept < sorted.length ? 'results' : undefined;
  for (;;) {
    const text = build(sorted.slice(0, kept), options, reasons);
    const gzipped = gzipSync(text);
    if (gzipped.length <= limits.gzippedBytes || kept === 0) {
      return {
        text,
        gzipped,
        results: kept,
        ...(reason ? { truncation: { total: sorted.length, kept, reason } } : {}),
      };
    }
    // Size is close to proportional to the result count; aim a little under to converge in a step or two.
    kept = Math.floor((kept * limits.gzippedBytes * 0.9) / gzipped.length);
    reason = 'size';
  }
}

/** Problems GitHub would reject an upload for, in a SARIF log from any tool; empty when it is acceptable. */
export function sarifLimitProblems(
  log: { runs?: unknown[] },
  limits: SarifLimits = GITHUB_SARIF_LIMITS,
): string[] {
  const runs = (log.runs ?? []) as {
    tool?: { driver?: { name?: string } };
    automationDetails?: { id?: string };
    results?: unknown[];
  }[];
  const problems: string[] = [];
  if (runs.length > limits.runs) problems.push(`${runs.length} runs, GitHub accepts at most ${limits.runs}`);
  const seen = new Set<string>();
  for (const run of runs) {
    const category = `${run.tool?.driver?.name ?? ''}\u0000${run.automationDetails?.id ?? ''}`;
    if (seen.has(category)) {
      problems.push(
        `two runs of ${run.tool?.driver?.name ?? 'one tool'} share the category "${run.automationDetails?.id ?? ''}"`,
      );
    }
    seen.add(category);
    const count = run.results?.length ?? 0;
    if (count > limits.resultsPerRun) {
      problems.push(`a run has ${count} results, GitHub accepts at most ${limits.resultsPerRun}`);
    }
  }
  return problems;
}
