import {
  annotate,
  ConfigurationError,
  getState,
  log,
  run as runStep,
  saveState,
  setOutputs,
  writeSummary,
} from '@digestline/action-kit';
import {
  canaryDeploy,
  DigestNotFoundError,
  PreflightError,
  rollbackFromState,
  type SavedCanary,
} from '@digestline/canary';
import { Output, State } from './constants.js';
import { readInputs } from './inputs.js';
import { summarySections } from './summary.js';

const hooks = {
  info: (message: string) => log.info(message),
  warning: (message: string) => annotate('warning', message),
};

export async function main(): Promise<void> {
  const config = readInputs();
  const image = `${config.registry}/${config.repository}`;
  let result: Awaited<ReturnType<typeof canaryDeploy>>;
  try {
    result = await canaryDeploy(config, { ...hooks, save: (state) => saveState(State.canary, state) });
  } catch (error) {
    // The user's input points at something that is not there: say so without a stack; nothing changed.
    if (error instanceof PreflightError || error instanceof DigestNotFoundError)
      throw new ConfigurationError(error.message);
    throw error;
  }
  setOutputs({
    [Output.result]: result.result,
    [Output.previousDigest]: result.previousDigest ?? '',
    [Output.analysis]: config.analysisPath,
    [Output.failedChecks]: result.failedChecks,
  });
  await writeSummary(summarySections(image, config.digest, result));
  if (result.result === 'rolled-back') throw new Error(`The canary was rolled back: ${result.reason}.`);
}

export async function post(): Promise<void> {
  const saved = getState(State.canary);
  if (saved === '') return;
  const outcome = await rollbackFromState(readInputs(), JSON.parse(saved) as SavedCanary, hooks);
  if (outcome === 'rolled-back') {
    annotate(
      'warning',
      'The canary did not finish (the job was cancelled or crashed); the post step rolled it back.',
    );
  }
}

/**
 * The entry point by the convention of GitHub's typescript-action template, which `@github/local-action`
 * calls (README, "Debug locally"). The same as src/index.ts: errors become `setFailed`, and with
 * `STATE_isPost=true` in the environment it runs the post step, as the runner does.
 */
export function run(): Promise<void> {
  return runStep(main, post);
}
