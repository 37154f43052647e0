import { tmpdir } from 'node:os';
import { log, run as runStep, setOutputs, writeSummary } from '@digestline/action-kit';
import { GateFailedError } from '@digestline/base';
import { loadPolicy, runGate } from '@digestline/scan';
import { OUTPUT } from './constants.js';
import { type Inputs, readInputs } from './inputs.js';
import { annotateOutcome, failureMessage, summarySections } from './report.js';

export async function main(inputs: Inputs = readInputs()): Promise<void> {
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
  // The policy is read before Trivy runs: it names the only settings files Trivy may read.
  const scanned =
    inputs.scanImage !== undefined || inputs.scanPath !== undefined
      ? await (await import('./trivy.js')).scanWithTrivy(
          inputs,
          await loadPolicy(inputs.policy, workspace, new Date()),
          workspace,
          process.env.RUNNER_TEMP || tmpdir(),
        )
      : undefined;
  const outcome = await runGate({
    ...inputs,
    cwd: workspace,
    gzip: inputs.uploadSarif,
    generated: scanned
      ? [{ path: scanned.report, name: `trivy ${inputs.scanImage ?? inputs.scanPath}` }]
      : [],
  });
  log.info(
    `Read ${outcome.reports.length} report(s): ${outcome.merged.length} findings after merging, ${outcome.blocking.length} blocking.`,
  );

  const { upload, issues } =
    inputs.uploadSarif || inputs.createIssues
      ? await (await import('./github.js')).publish(outcome, inputs)
      : {};

  setOutputs({
    [OUTPUT.passed]: outcome.passed,
    [OUTPUT.blocking]: outcome.blocking.length,
    [OUTPUT.counts]: outcome.counts,
    [OUTPUT.sarif]: outcome.sarif.path,
  });
  annotateOutcome(outcome, inputs, issues);
  await writeSummary(summarySections(outcome, inputs, upload, issues));

  const failure = failureMessage(outcome, inputs, upload);
  if (failure) throw new GateFailedError(failure);
}

/**
 * The entry point by the convention of GitHub's typescript-action template, which `@github/local-action`
 * calls (README, "Debug locally"). The same as src/index.ts: errors become `setFailed`, as on a runner.
 */
export function run(): Promise<void> {
  return runStep(main);
}
