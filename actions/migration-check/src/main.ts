import { resolve } from 'node:path';
import { annotate, run as runStep, setOutputs, writeSummary } from '@digestline/action-kit';
import { GateFailedError } from '@digestline/base';
import {
  checkMigrations,
  type ParserThread,
  type Report,
  writeReport,
  writeSarif,
} from '@digestline/migrations';
import { OUTPUT } from './constants.js';
import { type RunInputs, readInputs } from './inputs.js';
import { summarize } from './summary.js';

/**
 * GitHub shows the first 10 error and 10 warning annotations of a step and drops the rest. One error
 * place is kept for the step's own failure message, so that it is always shown.
 */
export const ANNOTATION_LIMIT = { error: 9, warning: 10 } as const;

export interface MainOptions {
  /** A second thread serving PostgreSQL's parser, started early for a large migration set. */
  parserThread?: ParserThread;
}

export async function main(inputs: RunInputs = readInputs(), options: MainOptions = {}): Promise<void> {
  const { report } = await checkMigrations({
    parserThread: options.parserThread,
    root: inputs.workspace,
    paths: inputs.paths,
    format: inputs.format,
    postgresVersion: inputs.postgresVersion,
    config: inputs.config,
    requireDown: inputs.requireDown,
    changedSince: inputs.changedSince,
    databaseUrl: inputs.databaseUrl,
    historyTable: inputs.historyTable,
  });
  writeReport(resolve(inputs.workspace, inputs.report), report);
  writeSarif(resolve(inputs.workspace, inputs.sarif), report);
  const failure = report.dryRun?.failure;
  annotateFindings(report, inputs.report, failure === undefined ? 0 : 1);
  if (failure) {
    annotate('error', `Dry-run failed: ${failure.message}`, {
      file: failure.file,
      line: failure.line,
      column: failure.column,
      title: 'migration-check: dry-run',
    });
  }
  setOutputs({
    [OUTPUT.errors]: report.counts.error,
    [OUTPUT.warnings]: report.counts.warning,
    [OUTPUT.report]: inputs.report,
    [OUTPUT.sarif]: inputs.sarif,
  });
  await writeSummary(summarize(report, inputs.report));

  if (failure) {
    throw new GateFailedError(
      `The dry-run failed at ${failure.file}:${failure.line}: ${failure.message}. The transaction was rolled back; the database is unchanged.`,
    );
  }
  const failing =
    inputs.failOn === 'never'
      ? 0
      : report.counts.error + (inputs.failOn === 'warning' ? report.counts.warning : 0);
  if (failing > 0) {
    throw new GateFailedError(
      `migration-check found ${report.counts.error} error(s) and ${report.counts.warning} warning(s) (fail-on: ${inputs.failOn}); see the annotations and ${inputs.report}.`,
    );
  }
}

/**
 * Errors and warnings become annotations on their file and line, as many as GitHub shows (less `reserved`
 * errors for the dry-run's own); a notice then says how many more there are and where they are listed.
 */
function annotateFindings(report: Report, reportPath: string, reserved: number): void {
  const left = { error: ANNOTATION_LIMIT.error - reserved, warning: ANNOTATION_LIMIT.warning };
  const skipped = { error: 0, warning: 0 };
  for (const finding of report.findings) {
    const level = finding.severity;
    if (level === 'info') continue;
    if (left[level] <= 0) {
      skipped[level]++;
      continue;
    }
    left[level]--;
    annotate(level, finding.message, {
      file: finding.file,
      line: finding.line,
      column: finding.column,
      endLine: finding.endLine,
      endColumn: finding.endLine === finding.line ? finding.endColumn : undefined,
      title: `migration-check: ${finding.rule}`,
    });
  }
  if (skipped.error + skipped.warning > 0) {
    annotate(
      'notice',
      `${skipped.error} more error(s) and ${skipped.warning} more warning(s) are not annotated, since GitHub shows only the first 10 errors and 10 warnings of a step: every finding is in ${reportPath} (and the SARIF, for code scanning), the first ones in the job summary.`,
      { title: 'migration-check: more findings' },
    );
  }
}

/**
 * The entry point by the convention of GitHub's typescript-action template, which `@github/local-action`
 * calls (README, "Debug locally"), and src/index.ts once it has decided against a restart: errors become
 * `setFailed`, as on a runner.
 */
export function run(options: MainOptions = {}): Promise<void> {
  return runStep(() => main(readInputs(), options));
}
