import type { Logger } from '@digestline/base';
import { type Manifest, parseReference } from '@digestline/oci';
import {
  certificateClaims,
  checkIdentity,
  describeTrust,
  KeylessVerificationError,
  keyId,
  signatureTag,
  verifyImage,
} from '@digestline/signing';
import { manifestOrNothing } from './copy.js';
import { PromotionRefusedError } from './errors.js';
import { checkKeylessSignature } from './keyless.js';
import {
  checkStep,
  DEFAULT_ENVIRONMENTS,
  DEFAULT_TAG_TEMPLATE,
  digestProblem,
  environmentTag,
  type PromotionMode,
  parseLadder,
} from './ladder.js';
import { type FoundRecords, findPromotionRecords } from './record.js';
import { type PassedCheck, type PromotionRequest, type Repository, recordTrustOf } from './request.js';

/**
 * A request with its defaults applied and its names resolved: what every check and the apply step read.
 * Each check below resolves to the check it passed or rejects with a PromotionRefusedError; none writes.
 */
export interface Plan {
  request: PromotionRequest;
  mode: PromotionMode;
  digest: string;
  /** Undefined for a fresh build into the first environment, and for a rollback. */
  sourceEnv?: string;
  targetEnv: string;
  ladder: string[];
  sourceTag?: string;
  targetTag: string;
  source: Repository;
  target: Repository;
  /** Where the digest, its signature and its records are read: the target's for a rollback. */
  origin: Repository;
}

export const nameOf = (r: Repository) => `${r.client.registry}/${r.repository}`;

/** The path: a digest, a ladder, a step it allows and the tags a template gives every environment. */
export function checkPath(request: PromotionRequest, log: Logger): { plan: Plan; check: PassedCheck } {
  const mode = request.mode ?? 'promote';
  const { digest, targetEnv } = request;
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new PromotionRefusedError('input', problem);
  const ladder = parseLadder(request.environments ?? DEFAULT_ENVIRONMENTS);
  const sourceEnv = mode === 'rollback' ? undefined : request.sourceEnv;
  if (mode === 'rollback' && request.sourceEnv !== undefined) {
    log.info(`A rollback ignores source-env (${request.sourceEnv}): it needs only the target's own record.`);
  }
  checkStep(ladder, sourceEnv, targetEnv, mode);
  const template = request.tagTemplate ?? DEFAULT_TAG_TEMPLATE;
  for (const environment of ladder) environmentTag(template, environment);
  const target = request.target ?? request.source;
  const plan: Plan = {
    request,
    mode,
    digest,
    ...(sourceEnv === undefined ? {} : { sourceEnv, sourceTag: environmentTag(template, sourceEnv) }),
    targetEnv,
    ladder,
    targetTag: environmentTag(template, targetEnv),
    source: request.source,
    target,
    // A rollback reads everything where the environment's tag lives: that is where its records were written.
    origin: mode === 'rollback' ? target : request.source,
  };
  const detail =
    mode === 'rollback'
      ? `rollback of ${targetEnv} (ladder step not required)`
      : `${sourceEnv ?? '(new build)'} → ${targetEnv}`;
  return { plan, check: { name: 'path', detail } };
}

/**
 * The record this promotion writes must count as stage proof at the next step: signed by a trusted
 * record key, or (keyless) by an identity the record rules accept, which is why the certificate is
 * requested now, before anything is written. Not listed as a check.
 */
export async function checkRecordKey(request: PromotionRequest): Promise<void> {
  const trust = recordTrustOf(request);
  const signer = request.recordSigner;
  if ('keyless' in signer) {
    if (trust.kind !== 'keyless') {
      throw new PromotionRefusedError(
        'record-key',
        'promotion records are signed keyless but verified with keys: their records would not count as stage proof at the next step.',
      );
    }
    const certificate = await signer.keyless.prepare();
    try {
      checkIdentity(certificateClaims(certificate.leaf), trust.policy);
    } catch (error) {
      if (!(error instanceof KeylessVerificationError)) throw error;
      throw new PromotionRefusedError(
        'record-key',
        `this job signs promotion records as ${certificate.identity}, which the record rules (${describeTrust(trust)}) do not accept: ${error.message}; its records would not count as stage proof at the next step. Run promote from the workflow that record-certificate-identity names.`,
      );
    }
    return;
  }
  if (trust.kind === 'key' && trust.keys.some((k) => keyId(k) === signer.keyId)) return;
  throw new PromotionRefusedError(
    'record-key',
    `the key that signs promotion records (${signer.keyId}) is not a trusted public key for records: its records would not count as stage proof at the next step; give the public half of the record signing key (record-public-key, or public-key when records are signed with cosign-private-key).`,
  );
}

const recordsOf = (plan: Plan, at: Repository, environment: string): Promise<FoundRecords> =>
  findPromotionRecords(at.client, at.repository, plan.digest, environment, recordTrustOf(plan.request));

/** The target's tag, and the signed record when it already points to the digest: then nothing is to do. */
export async function currentTarget(plan: Plan) {
  const { target, targetTag, targetEnv, digest } = plan;
  const current = await target.client.headManifest(target.repository, targetTag);
  const done = current?.digest === digest ? (await recordsOf(plan, target, targetEnv)).records[0] : undefined;
  return { previousDigest: current?.digest, done };
}

/** Promote what was tested: the source environment's tag names the digest (or, fresh or rolled back, it exists). */
export async function checkSource(plan: Plan): Promise<{ check: PassedCheck; manifest: Manifest }> {
  const { source, origin, sourceEnv, sourceTag, digest } = plan;
  if (sourceTag === undefined) {
    const manifest = await manifestOrNothing(origin, digest);
    if (manifest === undefined) {
      throw new PromotionRefusedError(
        'source-tag',
        `${nameOf(origin)}@${digest} does not exist: push the image (or check the image and digest inputs) before promoting it.`,
      );
    }
    return { check: { name: 'digest', detail: `exists in ${nameOf(origin)}` }, manifest };
  }
  const manifest = await manifestOrNothing(source, sourceTag);
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
  return { check: { name: 'source tag', detail: `${sourceTag} resolves to the digest` }, manifest };
}

/** `registry/repository` as parseReference() normalises it, or undefined when it is not a reference. */
function repositoryName(reference: string): string | undefined {
  try {
    const parsed = parseReference(reference);
    return `${parsed.registry}/${parsed.repository}`;
  } catch {
    return undefined;
  }
}

/**
 * The image is signed by a trusted key, for this repository: a signature names the repository it was made
 * for (the payload's docker-reference), so one made for another repository and copied here does not
 * count unless the request names that repository. Skipped with `verify: none`, and said so.
 */
export async function checkSignature(plan: Plan, log: Logger): Promise<PassedCheck> {
  const { origin, digest } = plan;
  const promoted = nameOf(plan.source);
  const accepted = new Set([
    promoted,
    nameOf(plan.target),
    ...(plan.request.signatureReferences ?? []).map((r) => repositoryName(r) ?? r),
  ]);
  const keyless = plan.request.keylessSignature;
  if (keyless !== undefined) {
    return checkKeylessSignature(plan, keyless, (reference) =>
      accepted.has(repositoryName(reference) ?? reference),
    );
  }
  const keys = plan.request.signatureKeys;
  if (keys === undefined) {
    log.warning(`The signature of ${digest} was not checked (verify: none).`);
    return { name: 'signature', detail: 'skipped (verify: none)' };
  }
  const verification = await verifyImage(origin.client, origin.repository, digest, keys);
  const good = verification.verified.find((v) => {
    const signedFor = v.payload?.reference;
    return signedFor !== undefined && accepted.has(repositoryName(signedFor) ?? signedFor);
  });
  if (good !== undefined) return { name: 'signature', detail: `signed by key ${good.keyId?.slice(0, 16)}…` };
  const elsewhere = verification.verified.map(
    (v) =>
      `the signature is for repository ${v.payload?.reference}, not ${promoted} (name it in "signature-references" if that repository's signatures should count here)`,
  );
  const reasons = [...elsewhere, ...verification.rejected.map((r) => r.message)];
  throw new PromotionRefusedError(
    'signature',
    reasons.length === 0
      ? `${nameOf(origin)}@${digest} is not signed (no cosign signature at ${signatureTag(digest)}): sign it at build time (build-and-sign, or cosign sign --key) before promoting it.`
      : `${nameOf(origin)}@${digest} has no signature by a trusted key for ${promoted}: ${reasons.join('; ')}. Check that public-key is the key the build signs with.`,
  );
}

/**
 * Stage proof: a signed record that the digest went through the previous environment (or, to roll back,
 * ran in this one). Undefined when there is no environment to prove, a fresh build into the first.
 */
export async function checkStageProof(plan: Plan, log: Logger): Promise<PassedCheck | undefined> {
  const { mode, digest, targetEnv } = plan;
  const proofEnv = mode === 'rollback' ? targetEnv : plan.sourceEnv;
  if (proofEnv === undefined) return undefined;
  if (!(plan.request.requireStageProof ?? true)) {
    log.warning(`Stage proof for ${proofEnv} was not required (require-stage-proof: false).`);
    return { name: 'stage proof', detail: 'skipped (require-stage-proof: false)' };
  }
  const found = await recordsOf(plan, plan.origin, proofEnv);
  if (found.records.length > 0) return { name: 'stage proof', detail: `signed record for ${proofEnv}` };
  const rejected =
    found.rejected.length === 0 ? '' : ` (records that did not count: ${found.rejected.join('; ')})`;
  throw new PromotionRefusedError(
    mode === 'rollback' ? 'rollback-record' : 'stage-proof',
    mode === 'rollback'
      ? `${digest} has no signed promotion record for ${targetEnv}, so it never ran there: a rollback only returns ${targetEnv} to a digest it had before${rejected}.`
      : `${digest} has no signed promotion record for ${proofEnv}: it did not pass through ${proofEnv} by promotion (a tag moved by hand does not count); promote it into ${proofEnv} with this action first${rejected}.`,
  );
}
