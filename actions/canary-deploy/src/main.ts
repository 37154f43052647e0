import {
  annotate,
  getState,
  log,
  run as runStep,
  saveState,
  setOutputs,
  writeSummary,
} from '@digestline/action-kit';
import { GateFailedError } from '@digestline/base';
import {
  type CanaryDeployConfig,
  canaryDeploy,
  rollbackFromState,
  type SavedCanary,
} from '@digestline/canary';
import { Output, State } from './constants.js';
import { readInputs } from './inputs.js';
import { summarySections } from './summary.js';

/** The Kubernetes provider's kubeconfig, read with the client that only this provider loads. */
async function prepare(config: CanaryDeployConfig): Promise<CanaryDeployConfig> {
  if (config.provider.kind === 'kubernetes') {
    const { readKubeconfig } = await import('./kubeconfig.js');
    readKubeconfig(config.provider.kubeconfig);
  }
  return config;
}

export async function main(given: CanaryDeployConfig = readInputs()): Promise<void> {
  const config = await prepare(given);
  const image = `${config.registry}/${config.repository}`;
  const result = await canaryDeploy(config, {
    logger: log,
    save: (state) => saveState(State.canary, state),
  });
  setOutputs({
    [Output.result]: result.result,
    [Output.previousDigest]: result.previousDigest ?? '',
    [Output.analysis]: config.analysisPath,
    [Output.failedChecks]: result.failedChecks,
  });
  await writeSummary(summarySections(image, config.digest, result));
  if (result.result === 'rolled-back')
    throw new GateFailedError(`The canary was rolled back: ${result.reason}.`);
}

export async function post(): Promise<void> {
  const saved = getState(State.canary);
  if (saved === '') return;
  const config = await prepare(readInputs());
  const outcome = await rollbackFromState(config, JSON.parse(saved) as SavedCanary, log);
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
