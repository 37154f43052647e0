import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { annotate, run as runStep, setOutputs, writeSummary } from '@digestline/action-kit';
import { GateFailedError } from '@digestline/base';
import { checkMigrations } from '@digestline/migrations';
import { OUTPUT } from './constants.js';
import { type RunInputs, readInputs } from './inputs.js';
import { summarize } from './summary.js';

export async function main(inputs: RunInputs = readInputs()): Promise<void> {
  const { report, sarif } = await checkMigrations({
    root: inputs.workspace,
    paths: inputs.paths,
    format: inputs.format,
    postgresVersion: inputs.postgresVersion,
    config: inputs.config,
    requireDown: inputs.requireDown,
    changedSince: inputs.changedSince,
    databaseUrl: inputs.databaseUrl,
  });
  await write(resolve(inputs.workspace, inputs.report), `${JSON.stringify(report, null, 2)}\n`);
  await write(resolve(inputs.workspace, inputs.sarif), `${JSON.stringify(sarif, null, 2)}\n`);

  for (const finding of report.findings) {
    if (finding.severity === 'info') continue;
    annotate(finding.severity, finding.message, {
      file: finding.file,
      line: finding.line,
      column: finding.column,
      endLine: finding.endLine,
      endColumn: finding.endLine === finding.line ? finding.endColumn : undefined,
      title: `migration-check: ${finding.rule}`,
    });
  }
  const failure = report.dryRun?.failure;
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

async function write(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/**
 * The entry point by the convention of GitHub's typescript-action template, which `@github/local-action`
 * calls (README, "Debug locally"). The same as src/index.ts: errors become `setFailed`, as on a runner.
 */
export function run(): Promise<void> {
  return runStep(main);
}
