import type { KeyObject } from 'node:crypto';
import { type Manifest, type RegistryClient, RegistryError } from '@digestline/oci';
import { keyId, type Signer, signatureTag, verifyImage } from '@digestline/signing';
import { type CopyReport, copyWithEvidence } from './copy.js';
import { PromotionRefusedError } from './errors.js';
import { checkStep, digestProblem, environmentTag, type PromotionMode, parseLadder } from './ladder.js';
import {
  findPromotionRecords,
  type PromotionPredicate,
  type RunContext,
  writePromotionRecord,
} from './record.js';

export interface Repository {
  client: RegistryClient;
  repository: string;
}

/**
 * GitHub Deployments, kept behind an interface: the package never reaches GitHub itself, the action
 * layer passes in an implementation on its octokit.
 */
export interface DeploymentRecorder {
  create(request: {
    environment: string;
    payload: { digest: string; previous: string | null };
    description: string;
    production: boolean;
  }): Promise<number>;
  setStatus(id: number, state: 'success' | 'failure', description: string): Promise<void>;
}

export interface PromotionRequest {
  /** Where the digest and the source environment's tag live. */
  source: Repository;
  /** Another repository or registry the target environment's tag lives in; default: `source`. */
  target?: Repository;
  digest: string;
  /** Empty only for a fresh build into the first environment; ignored by a rollback. */
  sourceEnv?: string;
  targetEnv: string;
  environments?: readonly string[];
  mode?: PromotionMode;
  tagTemplate?: string;
  /** Keys the image signature must verify with; undefined skips the check (`verify: none`). */
  signatureKeys?: readonly KeyObject[];
  /** Keys promotion records must be signed with to count as stage proof. */
  recordKeys: readonly KeyObject[];
  /** Signs the record this promotion writes; its key must be one of `recordKeys`. */
  recordSigner: { signer: Signer; keyId: string };
  requireStageProof?: boolean;
  deployments?: DeploymentRecorder;
  run?: RunContext;
  /** For tests and replays: the record's timestamp. */
  now?: () => Date;
}

export interface PromotionHooks {
  info?(message: string): void;
  warning?(message: string): void;
}

export interface PassedCheck {
  name: string;
  detail: string;
}

export interface PromotionResult {
  outcome: 'promoted' | 'rolled-back' | 'unchanged';
  /** `registry/repository@digest` of the target. */
  imageRef: string;
  promotedTag: string;
  previousDigest?: string;
  deploymentId?: number;
  checks: PassedCheck[];
  copy?: CopyReport;
  recordDigest?: string;
  from?: string;
  to: string;
}

const nameOf = (r: Repository) => `${r.client.registry}/${r.repository}`;

async function manifestOrNothing(r: Repository, reference: string): Promise<Manifest | undefined> {
  try {
    return await r.client.getManifest(r.repository, reference);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return undefined;
    throw error;
  }
}

/**
 * Moves the target environment's tag to a verified digest by re-tagging only. Every check (path, source
 * tag, signature, stage proof) runs before the first write; a refusal throws PromotionRefusedError and
 * leaves the registry as it was.
 */
export async function promote(
  request: PromotionRequest,
  hooks: PromotionHooks = {},
): Promise<PromotionResult> {
  const mode = request.mode ?? 'promote';
  const { digest, targetEnv } = request;
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new PromotionRefusedError('input', problem);
  const ladder = parseLadder(request.environments ?? ['dev', 'staging', 'canary', 'production']);
  const sourceEnv = mode === 'rollback' ? undefined : request.sourceEnv;
  if (mode === 'rollback' && request.sourceEnv !== undefined) {
    hooks.info?.(
      `A rollback ignores source-env (${request.sourceEnv}): it needs only the target's own record.`,
    );
  }
  checkStep(ladder, sourceEnv, targetEnv, mode);
  const template = request.tagTemplate ?? '{env}';
  const targetTag = environmentTag(template, targetEnv);
  const sourceTag = sourceEnv === undefined ? undefined : environmentTag(template, sourceEnv);
  if (!request.recordKeys.some((k) => keyId(k) === request.recordSigner.keyId)) {
    throw new PromotionRefusedError(
      'record-key',
      `the key that signs promotion records (${request.recordSigner.keyId}) is not a trusted public key: its records would not count as stage proof at the next step; give the public key of cosign-private-key.`,
    );
  }

  const source = request.source;
  const target = request.target ?? source;
  // A rollback reads everything where the environment's tag lives: that is where its records were written.
  const origin = mode === 'rollback' ? target : source;
  const checks: PassedCheck[] = [];
  const imageRef = `${nameOf(target)}@${digest}`;
  const base = {
    imageRef,
    promotedTag: targetTag,
    to: targetEnv,
    ...(sourceEnv === undefined ? {} : { from: sourceEnv }),
  };

  checks.push({
    name: 'path',
    detail:
      mode === 'rollback'
        ? `rollback of ${targetEnv} (ladder step not required)`
        : `${sourceEnv ?? '(new build)'} → ${targetEnv}`,
  });

  const current = await target.client.headManifest(target.repository, targetTag);
  if (current?.digest === digest) {
    const done = await findPromotionRecords(
      target.client,
      target.repository,
      digest,
      targetEnv,
      request.recordKeys,
    );
    const record = done.records[0];
    if (record !== undefined) {
      hooks.info?.(
        `${nameOf(target)}:${targetTag} already points to ${digest} with a signed promotion record for ${targetEnv}: nothing to do.`,
      );
      return {
        ...base,
        outcome: 'unchanged',
        ...(record.previousDigest === null ? {} : { previousDigest: record.previousDigest }),
        checks,
        recordDigest: record.recordDigest,
      };
    }
  }

  // 2. Promote what was tested.
  let manifest: Manifest | undefined;
  if (sourceTag !== undefined) {
    manifest = await manifestOrNothing(source, sourceTag);
    if (manifest === undefined) {
      throw new PromotionRefusedError(
        'source-tag',
        `${nameOf(source)}:${sourceTag} does not exist, so nothing was tested in ${sourceEnv}: promote the digest into ${sourceEnv} first.`,
      );
    }
    if (manifest.digest !== digest) {
      throw new PromotionRefusedError(
        'source-tag',
        `${nameOf(source)}:${sourceTag} points to ${manifest.digest}, not to ${digest}: only what ${sourceEnv} runs may be promoted; pass that digest, or promote ${digest} into ${sourceEnv} first.`,
      );
    }
    checks.push({ name: 'source tag', detail: `${sourceTag} resolves to the digest` });
  } else {
    manifest = await manifestOrNothing(origin, digest);
    if (manifest === undefined) {
      throw new PromotionRefusedError(
        'source-tag',
        `${nameOf(origin)}@${digest} does not exist: push the image (or check the image and digest inputs) before promoting it.`,
      );
    }
    checks.push({ name: 'digest', detail: `exists in ${nameOf(origin)}` });
  }

  // 3. Signature.
  if (request.signatureKeys === undefined) {
    hooks.warning?.(`The signature of ${digest} was not checked (verify: none).`);
    checks.push({ name: 'signature', detail: 'skipped (verify: none)' });
  } else {
    const verification = await verifyImage(origin.client, origin.repository, digest, request.signatureKeys);
    const good = verification.verified[0];
    if (good === undefined) {
      const reasons = verification.rejected.map((r) => r.message);
      throw new PromotionRefusedError(
        'signature',
        reasons.length === 0
          ? `${nameOf(origin)}@${digest} is not signed (no cosign signature at ${signatureTag(digest)}): sign it at build time (build-and-sign, or cosign sign --key) before promoting it.`
          : `${nameOf(origin)}@${digest} has no signature by a trusted key: ${reasons.join('; ')}. Check that public-key is the key the build signs with.`,
      );
    }
    checks.push({ name: 'signature', detail: `signed by key ${good.keyId?.slice(0, 16)}…` });
  }

  // 4. Stage proof: the digest went through the previous environment (or, to roll back, was in this one).
  const proofEnv = mode === 'rollback' ? targetEnv : sourceEnv;
  if (proofEnv !== undefined && (request.requireStageProof ?? true)) {
    const found = await findPromotionRecords(
      origin.client,
      origin.repository,
      digest,
      proofEnv,
      request.recordKeys,
    );
    if (found.records.length === 0) {
      const rejected =
        found.rejected.length === 0 ? '' : ` (records that did not count: ${found.rejected.join('; ')})`;
      throw new PromotionRefusedError(
        mode === 'rollback' ? 'rollback-record' : 'stage-proof',
        mode === 'rollback'
          ? `${digest} has no signed promotion record for ${targetEnv}, so it never ran there: a rollback only returns ${targetEnv} to a digest it had before${rejected}.`
          : `${digest} has no signed promotion record for ${proofEnv}: it did not pass through ${proofEnv} by promotion (a tag moved by hand does not count); promote it into ${proofEnv} with this action first${rejected}.`,
      );
    }
    checks.push({ name: 'stage proof', detail: `signed record for ${proofEnv}` });
  } else if (proofEnv !== undefined) {
    hooks.warning?.(`Stage proof for ${proofEnv} was not required (require-stage-proof: false).`);
    checks.push({ name: 'stage proof', detail: 'skipped (require-stage-proof: false)' });
  }

  const previousDigest = current?.digest;
  const mutate = async (): Promise<Omit<PromotionResult, 'deploymentId'>> => {
    let copy: CopyReport | undefined;
    if (nameOf(source) !== nameOf(target)) {
      copy = await copyWithEvidence(source, target, digest);
      hooks.info?.(
        `Copied to ${nameOf(target)}: ${copy.blobs.mounted} blob(s) mounted, ${copy.blobs.copied} streamed (${copy.blobs.bytes} bytes), ${copy.blobs.existed} already there; signatures ${copy.signatures}; ${copy.referrers} referrer(s).`,
      );
    }
    // 6. The same bytes under the environment's tag, then read back: a registry that stored anything else fails here.
    await target.client.putManifest(target.repository, targetTag, manifest.bytes, manifest.mediaType);
    const now = await target.client.headManifest(target.repository, targetTag);
    if (now?.digest !== digest) {
      throw new Error(
        `${nameOf(target)}:${targetTag} reads back as ${now?.digest ?? 'missing'}, not ${digest}: another writer moved it at the same moment; check the tag and run again.`,
      );
    }
    // 7. The record that makes the next step provable.
    const predicate: PromotionPredicate = {
      environment: targetEnv,
      from: sourceEnv ?? null,
      mode,
      image: nameOf(target),
      tag: targetTag,
      previousDigest: previousDigest ?? null,
      promotedAt: (request.now?.() ?? new Date()).toISOString(),
      ...(request.run === undefined ? {} : { run: request.run }),
    };
    const record = await writePromotionRecord(
      target.client,
      target.repository,
      digest,
      predicate,
      request.recordSigner.signer,
    );
    return {
      ...base,
      outcome: mode === 'rollback' ? 'rolled-back' : 'promoted',
      ...(previousDigest === undefined ? {} : { previousDigest }),
      checks,
      ...(copy === undefined ? {} : { copy }),
      recordDigest: record.digest,
    };
  };

  if (request.deployments === undefined) return mutate();
  const deployments = request.deployments;
  const deploymentId = await deployments.create({
    environment: targetEnv,
    payload: { digest, previous: previousDigest ?? null },
    description: `${mode === 'rollback' ? 'Roll back' : 'Promote'} ${nameOf(target)}:${targetTag} to ${digest}`,
    production: targetEnv === ladder.at(-1),
  });
  let result: Omit<PromotionResult, 'deploymentId'>;
  try {
    result = await mutate();
  } catch (error) {
    await deployments
      .setStatus(deploymentId, 'failure', `Failed: ${(error as Error).message}`.slice(0, 140))
      .catch((statusError: unknown) =>
        hooks.warning?.(
          `The deployment status could not be set to failure: ${(statusError as Error).message}`,
        ),
      );
    throw error;
  }
  await deployments.setStatus(deploymentId, 'success', `${targetTag} → ${digest.slice(0, 19)}`);
  return { ...result, deploymentId };
}
