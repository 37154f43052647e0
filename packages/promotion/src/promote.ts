import { type Logger, silentLogger } from '@digestline/base';
import type { Manifest } from '@digestline/oci';
import {
  checkPath,
  checkRecordKey,
  checkSignature,
  checkSource,
  checkStageProof,
  currentTarget,
  nameOf,
  type Plan,
} from './checks.js';
import { type CopyReport, copyWithEvidence, manifestOrNothing } from './copy.js';
import { PromotionIncompleteError } from './errors.js';
import { type PromotionPredicate, writePromotionRecord } from './record.js';
import { type PromotionRequest, type PromotionResult, recordSignerOf } from './request.js';

/**
 * Moves the target environment's tag to a verified digest by re-tagging only. Every check (path, record
 * key, source tag, signature, stage proof) runs before the first write; a refusal throws
 * PromotionRefusedError and leaves the registry as it was. Then one apply step, bracketed by the
 * deployment record: copy into the target, move the tag, write the signed record.
 */
export async function promote(
  request: PromotionRequest,
  log: Logger = silentLogger,
): Promise<PromotionResult> {
  const { plan, check: path } = checkPath(request, log);
  await checkRecordKey(request);
  const { previousDigest, done } = await currentTarget(plan);
  if (done !== undefined) {
    log.info(
      `${nameOf(plan.target)}:${plan.targetTag} already points to ${plan.digest} with a signed promotion record for ${plan.targetEnv}: nothing to do.`,
    );
    return {
      ...described(plan, done.previousDigest ?? undefined),
      outcome: 'unchanged',
      checks: [path],
      recordDigest: done.recordDigest,
    };
  }
  // The checks only read, and none needs another's result: they run at once, and the first refusal in
  // this order is the one reported, as if they had run one after another.
  const [source, signature, stageProof] = await inOrder(
    checkSource(plan),
    checkSignature(plan, log),
    checkStageProof(plan, log),
  );
  const checks = [path, source.check, signature, ...(stageProof === undefined ? [] : [stageProof])];

  const applied = await withDeployment(plan, previousDigest, log, () =>
    apply(plan, source.manifest, previousDigest, log),
  );
  return {
    ...described(plan, previousDigest),
    outcome: plan.mode === 'rollback' ? 'rolled-back' : 'promoted',
    checks,
    ...applied,
  };
}

/** Every promise settled; then the first rejection in argument order, else all the values. */
async function inOrder<T extends unknown[]>(...work: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(work);
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as T;
}

function described(plan: Plan, previousDigest: string | undefined) {
  return {
    imageRef: `${nameOf(plan.target)}@${plan.digest}`,
    promotedTag: plan.targetTag,
    to: plan.targetEnv,
    ...(plan.sourceEnv === undefined ? {} : { from: plan.sourceEnv }),
    ...(previousDigest === undefined ? {} : { previousDigest }),
  };
}

interface Applied {
  copy?: CopyReport;
  recordDigest: string;
  deploymentId?: number;
}

/** The only step that writes: the image into the target, the tag moved, the record that proves it. */
async function apply(
  plan: Plan,
  manifest: Manifest,
  previousDigest: string | undefined,
  log: Logger,
): Promise<Applied> {
  const copy = await copyIntoTarget(plan, log);
  await moveTag(plan, manifest);
  let recordDigest: string;
  try {
    recordDigest = await writeRecord(plan, previousDigest, log);
  } catch (error) {
    throw await putTagBack(plan, previousDigest, error);
  }
  return { ...(copy === undefined ? {} : { copy }), recordDigest };
}

/**
 * The tag moved but its record could not be written: without a record the next step would refuse what
 * the environment now runs. The tag goes back to its previous digest, but only while it still points to
 * what this run put there (read back first: registries offer no compare-and-set, so this narrows the
 * window to one round trip). Returns the error that says what became of the tag.
 */
async function putTagBack(
  plan: Plan,
  previousDigest: string | undefined,
  cause: unknown,
): Promise<PromotionIncompleteError> {
  const { target, targetTag, digest } = plan;
  const tag = `${nameOf(target)}:${targetTag}`;
  const failed = `The promotion record of ${digest} could not be written to ${nameOf(target)} (${(cause as Error).message})`;
  const again = 'Run the promotion again once the registry accepts writes.';
  const fail = (what: string, error?: unknown) =>
    new PromotionIncompleteError(`${failed}; ${what} ${again}`, { cause: error ?? cause });
  let now: Manifest | undefined;
  try {
    now = await manifestOrNothing(target, targetTag);
  } catch (error) {
    return fail(
      `${tag} could not be read back (${(error as Error).message}), so it was not put back: it may point to ${digest} without a promotion record.`,
      error,
    );
  }
  if (now?.digest !== digest) {
    return fail(
      `${tag} now points to ${now?.digest ?? 'nothing'}: another writer moved it after this run, so it was left as it is.`,
    );
  }
  if (previousDigest === undefined) {
    return fail(
      `${tag} did not exist before and now points to ${digest} with no promotion record (a registry deletes manifests only by digest, which would delete the image); the next step will refuse it until this promotion succeeds.`,
    );
  }
  try {
    const previous = await target.client.getManifest(target.repository, previousDigest);
    await target.client.putManifest(target.repository, targetTag, previous.bytes, previous.mediaType);
  } catch (error) {
    return fail(
      `putting ${tag} back to ${previousDigest} failed too (${(error as Error).message}): it points to ${digest} without a promotion record.`,
      error,
    );
  }
  return fail(`${tag} was put back to ${previousDigest}, so the environment runs what it ran before.`);
}

async function copyIntoTarget(plan: Plan, log: Logger): Promise<CopyReport | undefined> {
  const { source, target, digest, request } = plan;
  if (nameOf(source) === nameOf(target)) return undefined;
  const copy = await copyWithEvidence(
    source,
    target,
    digest,
    request.onProgress === undefined ? {} : { onProgress: request.onProgress },
  );
  log.info(
    `Copied to ${nameOf(target)}: ${copy.blobs.mounted} blob(s) mounted, ${copy.blobs.copied} streamed (${copy.blobs.bytes} bytes), ${copy.blobs.existed} already there; signatures ${copy.signatures}; ${copy.referrers} referrer(s).`,
  );
  return copy;
}

/** The same bytes under the environment's tag, then read back: a registry that stored anything else fails here. */
async function moveTag(plan: Plan, manifest: Manifest): Promise<void> {
  const { target, targetTag, digest } = plan;
  await target.client.putManifest(target.repository, targetTag, manifest.bytes, manifest.mediaType);
  const now = await target.client.headManifest(target.repository, targetTag);
  if (now?.digest !== digest) {
    throw new Error(
      `${nameOf(target)}:${targetTag} reads back as ${now?.digest ?? 'missing'}, not ${digest}: another writer moved it at the same moment; check the tag and run again.`,
    );
  }
}

/** The signed record that makes the next step provable. */
async function writeRecord(plan: Plan, previousDigest: string | undefined, log: Logger): Promise<string> {
  const { request, target } = plan;
  const predicate: PromotionPredicate = {
    environment: plan.targetEnv,
    from: plan.sourceEnv ?? null,
    mode: plan.mode,
    image: nameOf(target),
    tag: plan.targetTag,
    previousDigest: previousDigest ?? null,
    promotedAt: (request.now?.() ?? new Date()).toISOString(),
    ...(request.run === undefined ? {} : { run: request.run }),
  };
  const record = await writePromotionRecord(
    target.client,
    target.repository,
    plan.digest,
    predicate,
    recordSignerOf(request),
    { log, options: request.recordRetry ?? {} },
  );
  return record.digest;
}

/** A GitHub Deployment around `work` when the request has a recorder: success, or failure with the reason. */
async function withDeployment(
  plan: Plan,
  previousDigest: string | undefined,
  log: Logger,
  work: () => Promise<Applied>,
): Promise<Applied> {
  const { deployments } = plan.request;
  if (deployments === undefined) return work();
  const { mode, target, targetTag, targetEnv, digest } = plan;
  const deploymentId = await deployments.create({
    environment: targetEnv,
    payload: { digest, previous: previousDigest ?? null },
    description: `${mode === 'rollback' ? 'Roll back' : 'Promote'} ${nameOf(target)}:${targetTag} to ${digest}`,
    production: targetEnv === plan.ladder.at(-1),
  });
  let applied: Applied;
  try {
    applied = await work();
  } catch (error) {
    await deployments
      .setStatus(deploymentId, 'failure', `Failed: ${(error as Error).message}`.slice(0, 140))
      .catch((statusError: unknown) =>
        log.warning(`The deployment status could not be set to failure: ${(statusError as Error).message}`),
      );
    throw error;
  }
  await deployments.setStatus(deploymentId, 'success', `${targetTag} → ${digest.slice(0, 19)}`);
  return { ...applied, deploymentId };
}
