import { run as runStep, setOutputs, writeSummary } from '@digestline/action-kit';
import { buildAndSign } from '@digestline/build';
import { OUTPUT } from './constants.js';
import { type RunInputs, readInputs } from './inputs.js';
import { runnerHost } from './runtime.js';
import { summarize } from './summary.js';

export async function main(inputs: RunInputs = readInputs()): Promise<void> {
  const outcome = await buildAndSign(inputs, runnerHost(inputs.githubToken, inputs.run.repository));
  setOutputs({
    [OUTPUT.digest]: outcome.digest ?? '',
    [OUTPUT.imageRef]: outcome.digest === undefined ? '' : `${outcome.image}@${outcome.digest}`,
    [OUTPUT.tags]: outcome.tags.join('\n'),
    [OUTPUT.sbomPath]: outcome.sbomPath ?? '',
    [OUTPUT.signatureRef]: outcome.signatureRef ?? '',
  });
  await writeSummary(summarize(outcome));
}

/**
 * The entry point by the convention of GitHub's typescript-action template, which `@github/local-action`
 * calls (README, "Debug locally"). The same as src/index.ts: errors become `setFailed`, as on a runner.
 */
export function run(): Promise<void> {
  return runStep(main);
}
