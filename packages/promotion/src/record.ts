import type { KeyObject } from 'node:crypto';
import { type Logger, silentLogger } from '@digestline/base';
import type { RegistryClient } from '@digestline/oci';
import {
  attach,
  imageSubject,
  type Signer,
  type Statement,
  type StatementTrust,
  signStatement,
  statement,
  verifyAttestationsWith,
} from '@digestline/signing';
import type { PromotionMode } from './ladder.js';
import { retryWrite, type WriteRetry } from './retry.js';

/**
 * The in-toto predicate type of a promotion record. Ours: no public predicate says "this digest was
 * admitted to an environment", and a URI we own cannot collide with one.
 */
export const PROMOTION_PREDICATE_TYPE = 'https://digestline.dev/promotion/v1';

/** Where the promotion ran, when it ran on a CI runner: lets a reader find the run that moved the tag. */
export interface RunContext {
  repository?: string;
  runId?: string;
  runAttempt?: string;
  sha?: string;
  workflow?: string;
  actor?: string;
  serverUrl?: string;
}

export interface PromotionPredicate {
  /** The environment the digest was admitted to. */
  environment: string;
  /** The environment it came from; null for a fresh build into the first one, or a rollback. */
  from: string | null;
  mode: PromotionMode;
  /** `registry/repository` whose tag moved. */
  image: string;
  tag: string;
  /** What the tag pointed to before; null when it did not exist. */
  previousDigest: string | null;
  promotedAt: string;
  run?: RunContext;
}

export function promotionStatement(
  digest: string,
  predicate: PromotionPredicate,
): Statement<PromotionPredicate> {
  return statement(imageSubject(predicate.image, digest), PROMOTION_PREDICATE_TYPE, predicate);
}

/**
 * Signs the record once and stores it as a referrer of the digest (or in the fallback tag index). Storing
 * the same signed bundle again changes nothing, so a failed store is retried with `retry`.
 */
export async function writePromotionRecord(
  client: RegistryClient,
  repository: string,
  digest: string,
  predicate: PromotionPredicate,
  signer: Signer,
  retry: { log: Logger; options?: WriteRetry } = { log: silentLogger, options: { attempts: 1 } },
): Promise<{ digest: string }> {
  const bundle = await signStatement(promotionStatement(digest, predicate), signer);
  return retryWrite(
    `Writing the promotion record of ${digest} for ${predicate.environment}`,
    () => attach(client, repository, digest, bundle),
    retry.log,
    retry.options,
  );
}

export interface FoundRecords {
  /** Verified records for the environment asked for, newest first. */
  records: (PromotionPredicate & { recordDigest: string })[];
  /** Why other promotion records did not count (wrong key, changed after signing, …). */
  rejected: string[];
}

function isPredicate(value: unknown): value is PromotionPredicate {
  const p = value as Partial<PromotionPredicate> | null;
  return (
    typeof p === 'object' && p !== null && typeof p.environment === 'string' && typeof p.tag === 'string'
  );
}

/**
 * The digest's promotion records for `environment` that the record trust accepts: one of the record keys,
 * or the record signer's keyless identity.
 */
export async function findPromotionRecords(
  client: RegistryClient,
  repository: string,
  digest: string,
  environment: string,
  trust: readonly KeyObject[] | StatementTrust,
): Promise<FoundRecords> {
  const { verified, rejected } = await verifyAttestationsWith(
    client,
    repository,
    digest,
    isKeyList(trust) ? { kind: 'key', keys: trust } : trust,
    PROMOTION_PREDICATE_TYPE,
  );
  const records = verified
    .map((v) => ({ predicate: v.statement.predicate, recordDigest: v.digest }))
    .filter((r): r is { predicate: PromotionPredicate; recordDigest: string } => isPredicate(r.predicate))
    .filter((r) => r.predicate.environment === environment)
    .map((r) => ({ ...r.predicate, recordDigest: r.recordDigest }))
    .sort((a, b) => b.promotedAt.localeCompare(a.promotedAt));
  return { records, rejected: rejected.map((r) => `${r.digest}: ${r.message}`) };
}

function isKeyList(trust: readonly KeyObject[] | StatementTrust): trust is readonly KeyObject[] {
  return Array.isArray(trust);
}
