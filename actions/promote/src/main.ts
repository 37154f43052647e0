import { annotate, log, run as runStep, setOutputs, writeSummary } from '@digestline/action-kit';
import { RegistryClient } from '@digestline/oci';
import { promote, promotionRequest } from '@digestline/promotion';
import { Output } from './constants.js';
import { type PromoteInputs, readInputs } from './inputs.js';
import { runContext } from './run-context.js';
import { summarySections } from './summary.js';
import { trustSettings } from './trust.js';

/** Refusals (a gate, a key, a reference) are user faults: run() reports them as clean failures. */
export async function main(inputs: PromoteInputs = readInputs()): Promise<void> {
  const trust = await trustSettings(inputs);
  const { request, close } = promotionRequest({
    image: inputs.image,
    targetImage: inputs.targetImage,
    connect: (registry, side) => {
      const credentials = side === 'source' ? inputs.sourceCredentials : inputs.targetCredentials;
      return new RegistryClient(registry, credentials === undefined ? {} : { credentials });
    },
    digest: inputs.digest,
    sourceEnv: inputs.sourceEnv,
    targetEnv: inputs.targetEnv,
    environments: inputs.environments,
    mode: inputs.mode,
    tagTemplate: inputs.tagTemplate,
    ...trust,
    signatureReferences: inputs.signatureReferences,
    requireStageProof: inputs.requireStageProof,
    // Octokit is loaded only when there is a GitHub API to call.
    deployments:
      inputs.githubToken === undefined
        ? undefined
        : (await import('./deployments.js')).githubDeployments(inputs.githubToken),
    run: runContext(),
  });
  try {
    const result = await promote(request, log);
    if (result.outcome === 'unchanged') {
      annotate(
        'notice',
        `${result.promotedTag} already points to ${inputs.digest} with a signed record: this promotion was done before, nothing changed.`,
      );
    }
    setOutputs({
      [Output.imageRef]: result.imageRef,
      [Output.previousDigest]: result.previousDigest ?? '',
      [Output.promotedTag]: result.promotedTag,
      [Output.deploymentId]: result.deploymentId ?? '',
    });
    await writeSummary(summarySections(inputs.digest, result));
  } finally {
    await close();
  }
}

/**
 * The entry point by the convention of GitHub's typescript-action template, which `@github/local-action`
 * calls (README, "Debug locally"). The same as src/index.ts: errors become `setFailed`, as on a runner.
 */
export function run(): Promise<void> {
  return runStep(main);
}
