import {
  annotate,
  ConfigurationError,
  log,
  run as runStep,
  setOutputs,
  writeSummary,
} from '@digestline/action-kit';
import { InvalidReferenceError, RegistryClient } from '@digestline/oci';
import { PromotionRefusedError, promote } from '@digestline/promotion';
import { KeyError, keyId, keySigner, loadPrivateKey, loadPublicKey } from '@digestline/signing';
import { Output } from './constants.js';
import { githubDeployments, runContext } from './deployments.js';
import { type RegistryInput, readInputs } from './inputs.js';
import { summarySections } from './summary.js';

const clientOf = (input: RegistryInput) =>
  new RegistryClient(
    input.registry,
    input.credentials === undefined ? {} : { credentials: input.credentials },
  );

export async function main(): Promise<void> {
  const inputs = readInputs();
  const source = clientOf(inputs.source);
  const target =
    inputs.target === undefined || inputs.target.registry === inputs.source.registry
      ? source
      : clientOf(inputs.target);
  try {
    const publicKey = loadPublicKey(inputs.publicKeyPem as string);
    const privateKey = await loadPrivateKey(inputs.privateKeyPem, inputs.password);
    const result = await promote(
      {
        source: { client: source, repository: inputs.source.repository },
        ...(inputs.target === undefined
          ? {}
          : { target: { client: target, repository: inputs.target.repository } }),
        digest: inputs.digest,
        ...(inputs.sourceEnv === undefined ? {} : { sourceEnv: inputs.sourceEnv }),
        targetEnv: inputs.targetEnv,
        environments: inputs.environments,
        mode: inputs.mode,
        tagTemplate: inputs.tagTemplate,
        ...(inputs.verify === 'key' ? { signatureKeys: [publicKey] } : {}),
        recordKeys: [publicKey],
        recordSigner: { signer: keySigner(privateKey), keyId: keyId(privateKey) },
        requireStageProof: inputs.requireStageProof,
        ...(inputs.githubToken === undefined ? {} : { deployments: githubDeployments(inputs.githubToken) }),
        run: runContext(),
      },
      { info: (m) => log.info(m), warning: (m) => annotate('warning', m) },
    );
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
  } catch (error) {
    if (
      error instanceof PromotionRefusedError ||
      error instanceof KeyError ||
      error instanceof InvalidReferenceError
    ) {
      throw new ConfigurationError(`Promotion refused, nothing changed: ${error.message}`);
    }
    throw error;
  } finally {
    await Promise.all([source.close(), target === source ? undefined : target.close()]);
  }
}

/**
 * The entry point by the convention of GitHub's typescript-action template, which `@github/local-action`
 * calls (README, "Debug locally"). The same as src/index.ts: errors become `setFailed`, as on a runner.
 */
export function run(): Promise<void> {
  return runStep(main);
}
