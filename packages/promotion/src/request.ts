import type { KeyObject } from 'node:crypto';
import { parseReference, type RegistryClient } from '@digestline/oci';
import {
  type GitHubAttestations,
  type IdentityPolicy,
  type KeylessSigner,
  keyId,
  keySigner,
  type Signer,
  type StatementTrust,
  type TrustRoot,
} from '@digestline/signing';
import type { CopyProgress, CopyReport } from './copy.js';
import { PromotionRefusedError } from './errors.js';
import { DEFAULT_ENVIRONMENTS, type PromotionMode } from './ladder.js';
import type { RunContext } from './record.js';
import type { WriteRetry } from './retry.js';

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

/** Keyless image verification: the signature must verify under `root` for the identity `policy` names. */
export interface KeylessImageRule {
  root: TrustRoot;
  policy: IdentityPolicy;
  /** GitHub's attestations API, the last source tried. */
  github?: GitHubAttestations;
}

/** What signs the record a promotion writes: a key, or the promoting job's keyless identity. */
export type RecordSigner = { signer: Signer; keyId: string } | { keyless: KeylessSigner };

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
  /** Keyless verification of the image signature instead of `signatureKeys`. */
  keylessSignature?: KeylessImageRule;
  /**
   * Other repositories (`registry/repository`) whose signatures of the digest count; by default only a
   * signature made for the source or the target repository does.
   */
  signatureReferences?: readonly string[];
  /** Keys promotion records must be signed with to count as stage proof. */
  recordKeys?: readonly KeyObject[];
  /** Who promotion records must be signed by; overrides `recordKeys` (a keyless identity, say). */
  recordTrust?: StatementTrust;
  /** Signs the record this promotion writes; records it signs must count under the record trust. */
  recordSigner: RecordSigner;
  requireStageProof?: boolean;
  deployments?: DeploymentRecorder;
  run?: RunContext;
  /** Progress of the copy into `target`, when it is another repository (a terminal draws it). */
  onProgress?: (progress: CopyProgress) => void;
  /** Tries of the record write (idempotent: the same signed bundle); default 3, 500 ms apart, doubling. */
  recordRetry?: WriteRetry;
  /** For tests and replays: the record's timestamp. */
  now?: () => Date;
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

/** What a front end (the action, the CLI) knows of a promotion, as the user gave it. */
export interface PromotionSettings {
  /** `registry/repository` that holds the digest and the source environment's tag. */
  image: string;
  /** Another `registry/repository` for the target environment's tag. */
  targetImage?: string;
  /** Opens the client of a registry: the source's, and the target's when it is another registry. */
  connect(registry: string, side: 'source' | 'target'): RegistryClient;
  digest: string;
  sourceEnv?: string;
  targetEnv: string;
  /** The ladder: names, or names separated by commas or new lines; empty: dev,staging,canary,production. */
  environments?: string | readonly string[];
  mode?: PromotionMode;
  tagTemplate?: string;
  /** Verifies the image signature, and the promotion records unless `records` has its own trust. */
  publicKey?: KeyObject;
  /** Signs the promotion record this step writes, unless `records` has its own signer. */
  privateKey?: KeyObject;
  /** Verifies the image signature keyless instead of with `publicKey`. */
  keylessSignature?: KeylessImageRule;
  /**
   * Separate trust for promotion records, so what signs images cannot mint stage proofs: a key pair of
   * their own, or the promoting job's keyless identity checked against `policy`.
   */
  records?:
    | { publicKey: KeyObject; privateKey: KeyObject }
    | { keyless: KeylessSigner; root: TrustRoot; policy: IdentityPolicy };
  /** false skips the image signature (`verify: none`, `--skip-signature`); records are verified still. */
  verifySignature?: boolean;
  /** Other repositories whose signatures of the digest count (their cosign docker-reference). */
  signatureReferences?: readonly string[];
  requireStageProof?: boolean;
  deployments?: DeploymentRecorder;
  run?: RunContext;
  onProgress?: (progress: CopyProgress) => void;
}

export interface PreparedPromotion {
  request: PromotionRequest;
  /** Closes the registry clients `connect` opened. */
  close(): Promise<void>;
}

/** The ladder as written in an action input or on a command line: comma- or newline-separated names. */
function ladderOf(environments: string | readonly string[] | undefined): readonly string[] {
  const names =
    typeof environments === 'string'
      ? environments
          .split(/[\r\n,]/)
          .map((name) => name.trim())
          .filter((name) => name !== '')
      : (environments ?? []);
  return names.length === 0 ? DEFAULT_ENVIRONMENTS : names;
}

function repositoryOf(image: string, what: string): { registry: string; repository: string } {
  const reference = parseReference(image);
  if (reference.tag !== undefined || reference.digest !== undefined) {
    throw new PromotionRefusedError(
      'input',
      `${what} must name a repository without tag or digest, e.g. ${reference.name}; got ${JSON.stringify(image)} (the digest is given on its own, the tags follow from the environments).`,
    );
  }
  return { registry: reference.registry, repository: reference.repository };
}

/**
 * The one way from what a user gave (repositories by name, the ladder as written, a key pair) to the
 * request `promote()` takes; the action and the CLI both build theirs here. Nothing is checked against
 * the registry yet; a target on the source's registry shares its client.
 */
export function promotionRequest(settings: PromotionSettings): PreparedPromotion {
  // Everything that can refuse the settings comes before a client is opened.
  const { publicKey } = settings;
  const records = recordsOf(settings);
  const verifyWithKey = settings.verifySignature !== false && settings.keylessSignature === undefined;
  if (verifyWithKey && publicKey === undefined) {
    throw new PromotionRefusedError(
      'input',
      'the image signature is verified with a key, but no public key was given.',
    );
  }
  const sourceName = repositoryOf(settings.image, 'the image');
  const targetName =
    settings.targetImage === undefined ? undefined : repositoryOf(settings.targetImage, 'the target image');
  const source: Repository = {
    client: settings.connect(sourceName.registry, 'source'),
    repository: sourceName.repository,
  };
  const target: Repository | undefined =
    targetName === undefined
      ? undefined
      : {
          client:
            targetName.registry === sourceName.registry
              ? source.client
              : settings.connect(targetName.registry, 'target'),
          repository: targetName.repository,
        };
  return {
    request: {
      source,
      target,
      digest: settings.digest,
      sourceEnv: settings.sourceEnv,
      targetEnv: settings.targetEnv,
      environments: ladderOf(settings.environments),
      mode: settings.mode,
      tagTemplate: settings.tagTemplate,
      signatureKeys: verifyWithKey && publicKey !== undefined ? [publicKey] : undefined,
      ...(settings.verifySignature === false || settings.keylessSignature === undefined
        ? {}
        : { keylessSignature: settings.keylessSignature }),
      signatureReferences: settings.signatureReferences?.map((reference) => {
        const named = repositoryOf(reference, 'a signature reference');
        return `${named.registry}/${named.repository}`;
      }),
      ...records,
      requireStageProof: settings.requireStageProof,
      deployments: settings.deployments,
      run: settings.run,
      onProgress: settings.onProgress,
    },
    close: async () => {
      await Promise.all([
        source.client.close(),
        target === undefined || target.client === source.client ? undefined : target.client.close(),
      ]);
    },
  };
}

/** The record trust and signer of the settings: their own, or (as before split trust) the image key pair. */
function recordsOf(
  settings: PromotionSettings,
): Pick<PromotionRequest, 'recordKeys' | 'recordTrust' | 'recordSigner'> {
  const own = settings.records;
  if (own !== undefined && 'keyless' in own) {
    return {
      recordTrust: { kind: 'keyless', root: own.root, policy: own.policy },
      recordSigner: { keyless: own.keyless },
    };
  }
  const pair =
    own ??
    (settings.publicKey !== undefined && settings.privateKey !== undefined
      ? { publicKey: settings.publicKey, privateKey: settings.privateKey }
      : undefined);
  if (pair === undefined) {
    throw new PromotionRefusedError(
      'input',
      'promotion records need a signer and a trust: a record key pair, the keyless identity of this job, or the image key pair.',
    );
  }
  return {
    recordKeys: [pair.publicKey],
    recordSigner: { signer: keySigner(pair.privateKey), keyId: keyId(pair.privateKey) },
  };
}

/** Who records must be signed by for them to count. */
export function recordTrustOf(request: PromotionRequest): StatementTrust {
  return request.recordTrust ?? { kind: 'key', keys: request.recordKeys ?? [] };
}

/** The signer that writes this promotion's record. */
export function recordSignerOf(request: PromotionRequest): Signer {
  return 'keyless' in request.recordSigner ? request.recordSigner.keyless : request.recordSigner.signer;
}
