import type { KeyObject } from 'node:crypto';
import type { RegistryClient } from '@digestline/oci';
import { listAttestations, verifyAttestations } from './attach.js';
import type { Statement } from './intoto.js';
import { KeylessVerificationError } from './keyless/errors.js';
import { describePolicy, type IdentityPolicy } from './keyless/policy.js';
import type { TrustRoot } from './keyless/trust.js';
import { verifyKeylessBundle } from './keyless/verify.js';
import { keyId } from './keys.js';

/**
 * Who must have signed an attestation for it to count: one of some public keys, or a keyless identity
 * under a Sigstore trust root. Promotion records use their own, so an image signer cannot mint them.
 */
export type StatementTrust =
  | { kind: 'key'; keys: readonly KeyObject[] }
  | { kind: 'keyless'; root: TrustRoot; policy: IdentityPolicy };

/** For messages: `key 3f2a…` or `https://github.com/… (issuer …)`. */
export function describeTrust(trust: StatementTrust): string {
  return trust.kind === 'key'
    ? trust.keys.map((k) => `key ${keyId(k).slice(0, 16)}…`).join(', ')
    : describePolicy(trust.policy);
}

export interface TrustedAttestations {
  verified: { statement: Statement; digest: string; signer: string }[];
  /** Why other attestations of the type did not count. */
  rejected: { digest: string; message: string }[];
}

/**
 * The attestations of one predicate type attached to an image, verified against `trust` and the image
 * digest; every one that does not count is listed with its reason.
 */
export async function verifyAttestationsWith(
  client: RegistryClient,
  repository: string,
  subjectDigest: string,
  trust: StatementTrust,
  predicateType: string,
): Promise<TrustedAttestations> {
  if (trust.kind === 'key') {
    const { verified, rejected } = await verifyAttestations(
      client,
      repository,
      subjectDigest,
      trust.keys,
      predicateType,
    );
    return {
      verified: verified.map((v) => ({ statement: v.statement, digest: v.digest, signer: `key ${v.keyId}` })),
      rejected: rejected.map((r) => ({ digest: r.digest, message: r.error.message })),
    };
  }
  const result: TrustedAttestations = { verified: [], rejected: [] };
  const hex = subjectDigest.replace(/^sha256:/, '');
  for (const attestation of await listAttestations(client, repository, subjectDigest, predicateType)) {
    try {
      const verified = verifyKeylessBundle(attestation.bundle, trust.root, trust.policy, {
        digests: { sha256: hex },
        predicateType,
      });
      result.verified.push({
        statement: verified.statement as Statement,
        digest: attestation.digest,
        signer: verified.claims.identity,
      });
    } catch (error) {
      if (!(error instanceof KeylessVerificationError)) throw error;
      result.rejected.push({ digest: attestation.digest, message: error.message });
    }
  }
  return result;
}
