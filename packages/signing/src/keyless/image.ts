import type { RegistryClient } from '@digestline/oci';
import type { SerializedBundle } from '@sigstore/bundle';
import { attach, listAttestations } from '../attach.js';
import { signStatement } from '../bundle.js';
import { imageSubject, PredicateType, type Statement, statement } from '../intoto.js';
import { KeylessVerificationError } from './errors.js';
import type { CertificateClaims } from './identity.js';
import { readLegacySignatures, writeLegacySignature } from './legacy.js';
import { describePolicy, type IdentityPolicy } from './policy.js';
import type { KeylessSigner } from './sign.js';
import type { TrustRoot } from './trust.js';
import { verifyKeylessBundle } from './verify.js';

/** The predicate type of cosign 3's image signature: an in-toto statement about the manifest digest. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** What counts as an identity vouching for an image: its signature, or build provenance for it. */
export const IMAGE_SIGNATURE_PREDICATES: readonly string[] = [
  COSIGN_SIGN_PREDICATE_TYPE,
  PredicateType.slsaProvenance,
];

/** cosign 3's image signature statement: the image by name and digest, an empty predicate. */
export function imageSignatureStatement(name: string, digest: string): Statement {
  return statement(imageSubject(name, digest), COSIGN_SIGN_PREDICATE_TYPE, {});
}

/**
 * GitHub's artifact attestations API for one repository, kept behind an interface: the package never
 * reaches GitHub itself, the action passes one built on its octokit (`attestations: write` to write).
 */
export interface GitHubAttestations {
  /** `owner/repo`, for messages. */
  repository: string;
  /** `POST /repos/{owner}/{repo}/attestations` with the bundle; GitHub answers with the attestation id. */
  write(bundle: SerializedBundle): Promise<{ id: number }>;
  /** `GET /repos/{owner}/{repo}/attestations/{subject_digest}`: the bundles stored for the digest. */
  list(subjectDigest: string): Promise<SerializedBundle[]>;
}

export interface KeylessImageSignature {
  /** Digest of the referrer manifest holding the bundle (or its entry in the fallback tag index). */
  referrer: string;
  /** cosign 2's `sha256-<hex>.sig` tag and the signature manifest now behind it. */
  legacy?: { tag: string; digest: string };
  /** GitHub's id for the attestation, when it was recorded there. */
  attestationId?: number;
  /** The certificate identity (SAN) that signed. */
  identity: string;
}

/**
 * Signs an image keyless and stores the signature where each tool looks: a sigstore bundle v0.3 as an OCI
 * referrer of the digest (cosign 3, `cosign verify` with the new bundle format), cosign 2's legacy layer at
 * `sha256-<hex>.sig` with the certificate, chain and Rekor bundle annotations, and, given GitHub's
 * attestations API, the bundle there too (`gh attestation verify oci://…`).
 */
export async function signImageKeyless(
  client: RegistryClient,
  repository: string,
  digest: string,
  signer: KeylessSigner,
  options: { reference?: string; github?: GitHubAttestations; legacy?: boolean } = {},
): Promise<KeylessImageSignature> {
  const reference = options.reference ?? `${client.registry}/${repository}`;
  const bundle = await signStatement(imageSignatureStatement(reference, digest), signer);
  const { digest: referrer } = await attach(client, repository, digest, bundle);
  const result: KeylessImageSignature = { referrer, identity: signer.certificate()?.identity ?? '' };
  if (options.legacy ?? true) {
    result.legacy = await writeLegacySignature(client, repository, digest, signer, reference);
  }
  if (options.github !== undefined) result.attestationId = (await options.github.write(bundle)).id;
  return result;
}

export type SignatureSource = 'referrer' | 'legacy .sig' | 'GitHub attestations';

export interface KeylessImageCheck {
  /** The first signature that verified, and what it proved. */
  verified?: {
    source: SignatureSource;
    /** The referrer digest, the `.sig` tag, or the GitHub repository. */
    location: string;
    claims: CertificateClaims;
    signedAt: Date;
    predicateType: string;
  };
  /** Signatures found that did not count, each with its reason. */
  rejected: { source: SignatureSource; location: string; message: string }[];
  /** The sources tried, in order. */
  tried: SignatureSource[];
}

/**
 * Checks an image's keyless signatures from each source in turn (referrer bundles, cosign 2's legacy
 * `.sig`, GitHub's attestations API) and stops at the first that verifies for the identity policy. A
 * signature counts when it is cosign's image signature or SLSA build provenance about the digest.
 */
export async function verifyImageKeyless(
  client: RegistryClient,
  repository: string,
  digest: string,
  trust: TrustRoot,
  policy: IdentityPolicy,
  options: {
    github?: GitHubAttestations;
    /**
     * Which repositories a signature may have been made for (the statement subject's name, the legacy
     * payload's docker-reference); by default any.
     */
    accepts?: (reference: string) => boolean;
  } = {},
): Promise<KeylessImageCheck> {
  const check: KeylessImageCheck = { rejected: [], tried: [] };
  const hex = digest.replace(/^sha256:/, '');
  const accepts = options.accepts ?? (() => true);
  const tryBundle = (source: SignatureSource, location: string, bundle: SerializedBundle): boolean => {
    try {
      const result = verifyKeylessBundle(bundle, trust, policy, { digests: { sha256: hex } });
      const predicateType = result.statement?.predicateType ?? '';
      if (!IMAGE_SIGNATURE_PREDICATES.includes(predicateType)) {
        check.rejected.push({ source, location, message: `a ${predicateType} attestation, not a signature` });
        return false;
      }
      const names = (result.statement?.subject ?? [])
        .filter((s) => s.digest.sha256 === hex)
        .map((s) => s.name);
      if (!names.some(accepts)) {
        check.rejected.push({
          source,
          location,
          message: `signed by ${result.claims.identity} for repository ${names.join(', ')}, which is not one whose signatures count here`,
        });
        return false;
      }
      check.verified = { source, location, claims: result.claims, signedAt: result.signedAt, predicateType };
      return true;
    } catch (error) {
      if (!(error instanceof KeylessVerificationError)) throw error;
      check.rejected.push({ source, location, message: error.message });
      return false;
    }
  };

  check.tried.push('referrer');
  for (const predicateType of IMAGE_SIGNATURE_PREDICATES) {
    for (const attestation of await listAttestations(client, repository, digest, predicateType)) {
      if (tryBundle('referrer', attestation.digest, attestation.bundle)) return check;
    }
  }

  check.tried.push('legacy .sig');
  const legacy = await readLegacySignatures(client, repository, digest);
  for (const layer of legacy.layers) {
    const outcome = layer.verify(trust, policy);
    if ('error' in outcome) {
      check.rejected.push({ source: 'legacy .sig', location: legacy.tag, message: outcome.error.message });
      continue;
    }
    if (!accepts(outcome.reference)) {
      check.rejected.push({
        source: 'legacy .sig',
        location: legacy.tag,
        message: `signed by ${outcome.verified.claims.identity} for repository ${outcome.reference}, which is not one whose signatures count here`,
      });
      continue;
    }
    check.verified = {
      source: 'legacy .sig',
      location: legacy.tag,
      claims: outcome.verified.claims,
      signedAt: outcome.verified.signedAt,
      predicateType: 'cosign container image signature',
    };
    return check;
  }

  if (options.github !== undefined) {
    check.tried.push('GitHub attestations');
    let bundles: SerializedBundle[];
    try {
      bundles = await options.github.list(digest);
    } catch (error) {
      // The registry is the primary source; an API the token may not read only adds a reason.
      check.rejected.push({
        source: 'GitHub attestations',
        location: options.github.repository,
        message: `could not be read: ${(error as Error).message}`,
      });
      return check;
    }
    for (const bundle of bundles) {
      if (tryBundle('GitHub attestations', options.github.repository, bundle)) return check;
    }
  }
  return check;
}

/** One sentence for a refusal: what was tried, what was found and why none counted. */
export function describeKeylessFailure(check: KeylessImageCheck, policy: IdentityPolicy): string {
  const tried = check.tried.join(', ');
  if (check.rejected.length === 0) {
    return `no keyless signature was found (looked in: ${tried}); sign the image keyless at build time (build-and-sign with signing: keyless)`;
  }
  const reasons = check.rejected.map((r) => `${r.source} ${r.location}: ${r.message}`).join('; ');
  return `no signature by ${describePolicy(policy)} verified (looked in: ${tried}): ${reasons}`;
}
