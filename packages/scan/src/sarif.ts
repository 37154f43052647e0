import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Gzip } from 'node:zlib';
import { type Finding, fingerprint, type Severity, sortFindings, sortGroupsUpTo } from './finding.js';

/** GitHub's documented limits for one SARIF upload to code scanning. */
export interface SarifLimits {
  runs: number;
  /** Above this GitHub rejects the upload. */
  resultsPerRun: number;
  /**
   * Of an accepted run GitHub stores and shows only this many results ("exceeded alert limits"), so
   * scan-gate writes no more: the most severe, chosen here rather than by GitHub.
   */
  storedResultsPerRun: number;
  gzippedBytes: number;
}

export const GITHUB_SARIF_LIMITS: SarifLimits = {
  runs: 20,
  resultsPerRun: 25_000,
  storedResultsPerRun: 5_000,
  gzippedBytes: 10 * 1024 * 1024,
};

/** How many results a log holds at most. */
const resultsKept = (limits: SarifLimits) => Math.min(limits.resultsPerRun, limits.storedResultsPerRun);

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
  /**
   * The findings are already grouped by severity, most severe first (the gate's are): only the groups
   * the log keeps are sorted, in place, and nothing is copied.
   */
  grouped?: boolean;
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

// Loaded when a log is gzipped, which a large one is only to upload it or to check it against the limit.
const zlib = () => process.getBuiltinModule('node:zlib');

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

const q = (text: string) => JSON.stringify(text);

// Most rules have one finding: no Set for a list of one.
const distinct = (values: string[]) => (values.length < 2 ? values : [...new Set(values)]);

/**
 * GitHub requires a full description on every rule: what the finding is, where, and whether a fix
 * exists, in sentences built from the findings of the rule (collected in one pass over them).
 */
function rule(id: string, findings: Finding[]): string {
  const worst = findings[0] as Finding;
  const packages: string[] = [];
  const tools: string[] = [];
  const fixedVersions: string[] = [];
  const places: string[] = [];
  const fixes: string[] = [];
  let allFixed = true;
  let top = 0;
  for (const f of findings) {
    for (const tool of f.tools) tools.push(tool);
    if (f.package) {
      packages.push(f.package);
      fixes.push(`- ${f.package}: ${fixText(f)}`);
    }
    if (f.fixedVersion) fixedVersions.push(f.fixedVersion);
    else allFixed = false;
    const place = f.location?.file || f.artifactPath;
    if (place) places.push(place);
    if ((f.cvss ?? 0) > top) top = f.cvss as number;
  }
  const title = worst.title.trim() && worst.title.trim() !== id ? ` ${sentence(worst.title)}` : '';
  const by = listed(distinct(tools));
  let description: string;
  if (worst.kind === 'vulnerability') {
    const where = packages.length > 0 ? ` in ${listed(distinct(packages))}` : '';
    const fixed = distinct(fixedVersions);
    const fix =
      fixed.length === 0
        ? 'No fixed version is available yet.'
        : allFixed
          ? `Fixed in ${listed(fixed)}.`
          : `Fixed in ${listed(fixed)} for some of the findings; the others have no fixed version yet.`;
    description = `${id} is a ${worst.severity}-severity vulnerability${where}, reported by ${by}.${title} ${fix}`;
  } else {
    const where = places.length > 0 ? ` in ${listed(distinct(places))}` : '';
    const what = worst.kind === 'secret' ? 'exposed secret' : 'misconfiguration';
    description = `${id} is a ${worst.severity}-severity ${what}${where}, reported by ${by}.${title}`;
  }
  const score = top > 0 ? Math.min(10, top).toFixed(1) : FIXED_SCORE[worst.severity];
  const affected = distinct(fixes).slice(0, 50);
  const help = [
    `${worst.title}`,
    `Severity: ${worst.severity}`,
    ...(affected.length > 0 ? ['', 'Affected packages:', ...affected] : []),
  ].join('\n');
  const uri = helpUri(id);
  // Written out rather than built as objects and stringified: the same text (JSON.stringify for every
  // value that could need escaping), without eight objects per rule for the collector.
  return `{"id":${q(id)},"name":"${NAME[worst.kind]}","shortDescription":{"text":${q(worst.title.slice(0, 1000))}},"fullDescription":{"text":${q(description.slice(0, 1000))}},${uri ? `"helpUri":${q(uri)},` : ''}"help":{"text":${q(help)}},"defaultConfiguration":{"level":"${LEVEL[worst.severity]}"},"properties":{${score === undefined ? '' : `"security-severity":"${score}",`}"precision":"very-high","tags":["security","${worst.kind}","${worst.severity}"]}}`;
}

function result(
  finding: Finding,
  ruleIndex: number,
  dockerfile: string,
  waiverReason: string | undefined,
): string {
  const what = packageLabel(finding);
  const fix = fixText(finding);
  const message = `${finding.id} (${finding.severity})${what ? ` in ${what}` : ''}${fix ? `, ${fix}` : ''}: ${finding.title}\nReported by ${finding.tools.join(', ')} in ${finding.targets.join(', ')}${finding.artifactPath ? ` at ${finding.artifactPath}` : ''}.`;
  const file = finding.location?.file ?? dockerfile;
  const startLine = finding.location?.file ? Math.max(1, finding.location.line ?? 1) : 1;
  const endLine = finding.location?.endLine;
  const region =
    endLine && endLine >= startLine
      ? `{"startLine":${JSON.stringify(startLine)},"endLine":${JSON.stringify(endLine)}}`
      : `{"startLine":${JSON.stringify(startLine)}}`;
  const suppression =
    waiverReason === undefined
      ? ''
      : `,"suppressions":[{"kind":"external","status":"accepted","justification":${q(waiverReason)}}]`;
  return `{"ruleId":${q(finding.id)},"ruleIndex":${ruleIndex},"level":"${LEVEL[finding.severity]}","message":{"text":${q(message)}},"locations":[{"physicalLocation":{"artifactLocation":{"uri":${q(file)}},"region":${region}}}],"partialFingerprints":{"${FINGERPRINT_KEY}":"${fingerprint(finding)}"}${suppression}}`;
}

// Rules and results are serialised this many at a time: a streamed log is never one string in memory.
const BATCH = 100;

/**
 * The log as a sequence of JSON texts, rules and results a batch at a time, so that it can be written
 * while it is made; joined, they are the compact log.
 */
function* logText(
  findings: Finding[],
  options: SarifOptions,
  reasons: Map<Finding, string>,
): Generator<string> {
  const byRule = new Map<string, Finding[]>();
  for (const finding of findings) {
    const group = byRule.get(finding.id);
    if (group) group.push(finding);
    else byRule.set(finding.id, [finding]);
  }
  const index = new Map<string, number>();
  const version = options.toolVersion || SARIF_TOOL_VERSION;
  const driver = {
    name: 'digestline scan-gate',
    informationUri: 'https://github.com/digestline/digestline',
    version,
    ...(SEMVER.test(version) ? { semanticVersion: version } : {}),
  };
  yield `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":${JSON.stringify(driver).slice(0, -1)},"rules":[`;
  let batch: string[] = [];
  for (const [id, group] of byRule) {
    index.set(id, index.size);
    batch.push(rule(id, group));
    if (batch.length === BATCH) {
      yield `${index.size > BATCH ? ',' : ''}${batch.join(',')}`;
      batch = [];
    }
  }
  if (batch.length > 0) yield `${index.size > batch.length ? ',' : ''}${batch.join(',')}`;
  yield `]}},"automationDetails":${JSON.stringify({ id: `${options.category}/` })},"results":[`;
  batch = [];
  for (let i = 0; i < findings.length; i++) {
    const finding = findings[i] as Finding;
    batch.push(result(finding, index.get(finding.id) as number, options.dockerfile, reasons.get(finding)));
    if (batch.length === BATCH || i === findings.length - 1) {
      yield `${i >= batch.length ? ',' : ''}${batch.join(',')}`;
      batch = [];
    }
  }
  yield ']}]}';
}

const GZIP_QUEUE_BYTES = 4 * 1024 * 1024;

/** Up to this size a log is written indented, for people who open it; above, compact. */
const PRETTY_BYTES = 256 * 1024;

/**
 * The results in the order they are kept: open findings most severe first, then waived ones. Findings
 * that arrive grouped by severity (the gate's) are not copied, and sorted only as far as a log can hold.
 */
function ranked(all: Finding[], options: SarifOptions): { sorted: Finding[]; reasons: Map<Finding, string> } {
  const reasons = new Map((options.waived ?? []).map(({ finding, waiver }) => [finding, waiver.reason]));
  const limits = options.limits ?? GITHUB_SARIF_LIMITS;
  const open = options.grouped ? sortGroupsUpTo(all, resultsKept(limits)) : sortFindings([...all]);
  if (reasons.size === 0) return { sorted: open, reasons };
  return { sorted: [...open, ...sortFindings([...reasons.keys()])], reasons };
}

// Size is close to proportional to the result count; aim a little under to converge in a step or two.
const fewer = (kept: number, bytes: number, limit: number) => Math.floor((kept * limit * 0.9) / bytes);

/**
 * SARIF for GitHub code scanning, inside its limits: above 25,000 results or 10 MB gzipped GitHub
 * rejects the whole upload, and of the results it accepts it keeps the first 5,000; so waived results
 * and then the least severe are dropped first and the cut is reported. Small logs are indented.
 */
export function writeSarif(all: Finding[], options: SarifOptions): SarifOutput {
  const limits = options.limits ?? GITHUB_SARIF_LIMITS;
  const { sorted, reasons } = ranked(all, options);
  let kept = Math.min(sorted.length, resultsKept(limits));
  let reason: SarifTruncation['reason'] | undefined = kept < sorted.length ? 'results' : undefined;
  for (;;) {
    let text = [...logText(sorted.slice(0, kept), options, reasons)].join('');
    if (text.length <= PRETTY_BYTES) text = JSON.stringify(JSON.parse(text), null, 2);
    const gzipped = zlib().gzipSync(text);
    if (gzipped.length <= limits.gzippedBytes || kept === 0) {
      return {
        text,
        gzipped,
        results: kept,
        ...(reason ? { truncation: { total: sorted.length, kept, reason } } : {}),
      };
    }
    kept = fewer(kept, gzipped.length, limits.gzippedBytes);
    reason = 'size';
  }
}

export interface SarifFile {
  results: number;
  truncation?: SarifTruncation;
  /** The file gzipped, when asked for (to upload it). */
  gzipped?: Buffer;
}

/**
 * The same log written to `path` as it is made, batch by batch: the file and its gzip (on the thread
 * pool, beside the serialisation) grow while the next batch is serialised, and the log is never one
 * string. Gzipped only to upload it or when it is too large to be surely under the gzipped limit.
 */
export async function writeSarifFile(
  all: Finding[],
  options: SarifOptions & { path: string; gzip?: boolean },
): Promise<SarifFile> {
  const limits = options.limits ?? GITHUB_SARIF_LIMITS;
  const { sorted, reasons } = ranked(all, options);
  let kept = Math.min(sorted.length, resultsKept(limits));
  let reason: SarifTruncation['reason'] | undefined = kept < sorted.length ? 'results' : undefined;
  for (;;) {
    const findings = sorted.length === kept ? sorted : sorted.slice(0, kept);
    const { bytes, gzipped } = await streamTo(options.path, logText(findings, options, reasons), {
      gzip: options.gzip === true,
      gzipAbove: limits.gzippedBytes,
    });
    const size = gzipped?.length ?? bytes;
    if (size <= limits.gzippedBytes || kept === 0) {
      return {
        results: kept,
        ...(reason ? { truncation: { total: sorted.length, kept, reason } } : {}),
        ...(options.gzip ? { gzipped } : {}),
      };
    }
    kept = fewer(kept, size, limits.gzippedBytes);
    reason = 'size';
  }
}

/**
 * Writes the texts to `path`, small logs indented. The gzip starts from the first byte when it is
 * wanted, otherwise once the file passes `gzipAbove`, from the bytes kept until then (at most that many).
 */
async function streamTo(
  path: string,
  texts: Iterable<string>,
  options: { gzip: boolean; gzipAbove: number },
): Promise<{ bytes: number; gzipped?: Buffer }> {
  const file = openSync(path, 'w');
  let gzip: Gzip | undefined;
  const compressed: Buffer[] = [];
  let gzipDone: Promise<unknown> = Promise.resolve();
  const startGzip = (): Gzip => {
    // The fastest level: a size check and an upload need a valid gzip, not the smallest one, and its
    // size is an upper bound of what GitHub's own compression of the same file would give.
    const started = zlib().createGzip({ level: zlib().constants.Z_BEST_SPEED });
    started.on('data', (chunk: Buffer) => compressed.push(chunk));
    gzipDone = once(started, 'end');
    gzip = started;
    return started;
  };
  if (options.gzip) startGzip();
  const unzipped: Buffer[] = [];
  let bytes = 0;
  // Each text is encoded once, for the file and the gzip alike. The file is written in place (a write
  // to the page cache is quicker than a hop to the thread pool); the gzip runs there, beside this.
  const emit = async (text: string) => {
    const chunk = Buffer.from(text);
    bytes += chunk.length;
    writeSync(file, chunk);
    if (gzip) {
      gzip.write(chunk);
      // A few batches may wait for the gzip; more would pile up.
      if (gzip.writableLength > GZIP_QUEUE_BYTES) await once(gzip, 'drain');
    } else if (bytes > options.gzipAbove) {
      const started = startGzip();
      for (const earlier of unzipped.splice(0)) started.write(earlier);
      started.write(chunk);
    } else unzipped.push(chunk);
  };
  let early: string[] | undefined = [];
  let earlyLength = 0;
  try {
    for (const text of texts) {
      if (early === undefined) {
        await emit(text);
        continue;
      }
      early.push(text);
      earlyLength += text.length;
      if (earlyLength > PRETTY_BYTES) {
        await emit(early.join(''));
        early = undefined;
      }
    }
    if (early !== undefined) await emit(JSON.stringify(JSON.parse(early.join('')), null, 2));
  } finally {
    closeSync(file);
  }
  if (!gzip) return { bytes };
  gzip.end();
  await gzipDone;
  return { bytes, gzipped: Buffer.concat(compressed) };
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
