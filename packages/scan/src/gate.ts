import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ScanInputError } from './errors.js';
import { type Finding, mergeFindings, type Severity } from './finding.js';
import {
  EMPTY_POLICY,
  evaluate,
  type GateResult,
  MAX_POLICY_BYTES,
  type Policy,
  parsePolicy,
} from './policy.js';
import type { Report } from './readers/index.js';
import { findReports, readReportFile } from './reports.js';
import { type SarifFile, type SarifLimits, writeSarifFile } from './sarif.js';

export interface GateRun {
  /** Report paths and globs, relative to `cwd`. */
  reports: string[];
  /** Reports this run produced itself (Trivy's output): an absolute path and the name shown for it. */
  generated?: { path: string; name: string }[];
  cwd: string;
  threshold: Severity;
  ignoreUnfixed: boolean;
  /** Policy file relative to `cwd`. */
  policy?: string;
  category: string;
  dockerfile: string;
  /** Where the SARIF is written, relative to `cwd`. */
  sarif: string;
  now?: Date;
  toolVersion?: string;
  limits?: SarifLimits;
  /** Keep the SARIF gzipped in the outcome, to upload it. */
  gzip?: boolean;
}

export interface GateOutcome extends GateResult {
  reports: { file: string; format: Report['format']; findings: number }[];
  /** Every finding after merging, before the policy. */
  merged: Finding[];
  policy: Policy;
  sarif: SarifFile & { path: string };
}

/** Reads the policy file at `path` (relative to `cwd`); the empty policy when there is none. */
export async function loadPolicy(path: string | undefined, cwd: string, now: Date): Promise<Policy> {
  if (path === undefined) return EMPTY_POLICY;
  const file = resolve(cwd, path);
  const missing = (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new ScanInputError(
        `The policy file ${path} does not exist in ${cwd}: check the \`policy\` path, which is relative to the workspace.`,
      );
    }
    throw error;
  };
  // Not read at all when it is far too large to be a policy (or not a file).
  const info = await stat(file).catch(missing);
  if (!info.isFile() || info.size > MAX_POLICY_BYTES) {
    throw new ScanInputError(
      `${path} is ${info.isFile() ? `${info.size} bytes` : 'not a file'}; a policy file is YAML of at most ${MAX_POLICY_BYTES} bytes: check the \`policy\` path.`,
      { file: path },
    );
  }
  return parsePolicy(await readFile(file, 'utf8').catch(missing), path, { now });
}

// Above this, the reports' texts and parsed trees are worth freeing before the findings are judged.
const LARGE_REPORTS = 32 * 1024 * 1024;

/**
 * A report's text and parsed tree (together three or four times its size) are garbage once its
 * findings are built, but V8 frees objects that large only in a full collection, which it puts off
 * while the heap may still grow: the gate would be built on top of them, and the peak would be the
 * report several times over. One full collection here (`gc` of a context made after --expose-gc, the
 * only way to ask V8 for one) keeps the peak near the report's own size and, measured, costs less CPU
 * than the collections V8 runs later on the grown heap. Where the runtime forbids it, nothing happens.
 */
function collectGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // --disallow-code-generation-from-strings, or a runtime without V8's gc extension: V8 decides.
  }
}

/** Reads every report, merges, applies the policy and writes the SARIF: the whole gate, minus GitHub. */
export async function runGate(run: GateRun): Promise<GateOutcome> {
  const now = run.now ?? new Date();
  const policy = await loadPolicy(run.policy, run.cwd, now);
  const generated = run.generated ?? [];
  const found =
    run.reports.length > 0 || generated.length === 0 ? await findReports(run.reports, run.cwd) : [];
  const files = [...found.map((file) => ({ path: resolve(run.cwd, file), name: file })), ...generated];
  const reports: GateOutcome['reports'] = [];
  let all: Finding[] = [];
  let bytes = 0;
  for (const { path, name } of files) {
    bytes += (await stat(path)).size;
    const report = await readReportFile(path, name);
    reports.push({ file: name, format: report.format, findings: report.findings.length });
    if (reports.length === 1) all = report.findings;
    else for (const finding of report.findings) all.push(finding);
  }
  if (bytes >= LARGE_REPORTS) collectGarbage();
  const merged = mergeFindings(all);
  const result = evaluate(merged, {
    threshold: run.threshold,
    ignoreUnfixed: run.ignoreUnfixed,
    policy,
    now,
  });
  // Waived findings stay in, suppressed with their reason, so their alerts read as dismissed rather than
  // fixed; findings the gate did not judge (kinds, ignore-unfixed) stay out.
  const path = resolve(run.cwd, run.sarif);
  await mkdir(dirname(path), { recursive: true });
  const sarif = await writeSarifFile(result.findings, {
    category: run.category,
    dockerfile: run.dockerfile,
    toolVersion: run.toolVersion,
    limits: run.limits,
    waived: result.waived,
    grouped: true,
    path,
    gzip: run.gzip,
  });
  return { ...result, reports, merged, policy, sarif: { ...sarif, path: run.sarif } };
}
