import type { KeyObject } from 'node:crypto';
import { parseReference, type RegistryClient } from '@digestline/oci';
import { keyId, keySigner, type Signer } from '@digestline/signing';
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
  /**
   * Other repositories (`registry/repository`) whose signatures of the digest count; by default only a
   * signature made for the source or the target repository does.
   */
  signatureReferences?: readonly string[];
  /** Keys promotion records must be signed with to count as stage proof. */
  recordKeys: readonly KeyObject[];
  /** Signs the record this promotion writes; its key must be one of `recordKeys`. */
  recordSigner: { signer: Signer; keyId: string };
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
  /** Verifies the image signature and the promotion records (the stage proof). */
  publicKey: KeyObject;
  /** Signs the promotion record this step writes. */
  privateKey: KeyObject;
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
  const { publicKey, privateKey } = settings;
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
      signatureKeys: settings.verifySignature === false ? undefined : [publicKey],
      signatureReferences: settings.signatureReferences?.map((reference) => {
        const named = repositoryOf(reference, 'a signature reference');
        return `${named.registry}/${named.repository}`;
      }),
      recordKeys: [publicKey],
      recordSigner: { signer: keySigner(privateKey), keyId: keyId(privateKey) },
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
