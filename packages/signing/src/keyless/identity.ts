import { X509Certificate } from '@sigstore/core';
import { KeylessVerificationError } from './errors.js';
import { type IdentityPolicy, wholeMatch } from './policy.js';

/**
 * What a Fulcio certificate says about its holder: the SAN, the OIDC issuer, and for a GitHub Actions
 * identity the workflow's repository, ref and commit.
 */
export interface CertificateClaims {
  identity: string;
  issuer?: string;
  /** Source Repository URI, e.g. `https://github.com/owner/repo`. */
  sourceRepositoryURI?: string;
  sourceRepositoryRef?: string;
  sourceRepositoryDigest?: string;
  /** Build Config URI: the workflow file at the ref that started the run. */
  buildConfigURI?: string;
  runnerEnvironment?: string;
  /** Run Invocation URI: the run that signed. */
  runInvocationURI?: string;
}

// Fulcio's certificate extensions (docs/oid-info.md of sigstore/fulcio): the 1.1–1.6 ones hold raw
// bytes, the 1.8 and later ones a DER UTF8String.
const OID = {
  issuerV1: '1.3.6.1.4.1.57264.1.1',
  workflowSha: '1.3.6.1.4.1.57264.1.3',
  workflowRepository: '1.3.6.1.4.1.57264.1.5',
  workflowRef: '1.3.6.1.4.1.57264.1.6',
  issuer: '1.3.6.1.4.1.57264.1.8',
  runnerEnvironment: '1.3.6.1.4.1.57264.1.11',
  sourceRepositoryURI: '1.3.6.1.4.1.57264.1.12',
  sourceRepositoryDigest: '1.3.6.1.4.1.57264.1.13',
  sourceRepositoryRef: '1.3.6.1.4.1.57264.1.14',
  buildConfigURI: '1.3.6.1.4.1.57264.1.18',
  runInvocationURI: '1.3.6.1.4.1.57264.1.21',
} as const;

function utf8Extension(cert: X509Certificate, oid: string): string | undefined {
  const value = cert.extension(oid)?.valueObj.subs[0]?.value;
  return value === undefined ? undefined : value.toString('utf8');
}

function rawExtension(cert: X509Certificate, oid: string): string | undefined {
  return cert.extension(oid)?.value.toString('utf8');
}

/** Reads the claims of a leaf certificate (DER or PEM). */
export function certificateClaims(certificate: X509Certificate | Buffer | string): CertificateClaims {
  const cert =
    certificate instanceof X509Certificate
      ? certificate
      : X509Certificate.parse(certificate as Buffer<ArrayBuffer> | string);
  const legacyRepository = rawExtension(cert, OID.workflowRepository);
  const claims: CertificateClaims = {
    identity: cert.subjectAltName ?? '',
    issuer: utf8Extension(cert, OID.issuer) ?? rawExtension(cert, OID.issuerV1),
    sourceRepositoryURI:
      utf8Extension(cert, OID.sourceRepositoryURI) ??
      (legacyRepository === undefined ? undefined : `https://github.com/${legacyRepository}`),
    sourceRepositoryRef: utf8Extension(cert, OID.sourceRepositoryRef) ?? rawExtension(cert, OID.workflowRef),
    sourceRepositoryDigest:
      utf8Extension(cert, OID.sourceRepositoryDigest) ?? rawExtension(cert, OID.workflowSha),
    buildConfigURI: utf8Extension(cert, OID.buildConfigURI),
    runnerEnvironment: utf8Extension(cert, OID.runnerEnvironment),
    runInvocationURI: utf8Extension(cert, OID.runInvocationURI),
  };
  for (const key of Object.keys(claims) as (keyof CertificateClaims)[]) {
    if (claims[key] === undefined) delete claims[key];
  }
  return claims;
}

/** The `owner/repo` of a Source Repository URI (`https://github.com/owner/repo`, any GitHub host). */
function repositoryOf(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  try {
    return new URL(uri).pathname.replace(/^\//, '');
  } catch {
    return undefined;
  }
}

/** Throws KeylessVerificationError unless the claims satisfy the policy. */
export function checkIdentity(claims: CertificateClaims, policy: IdentityPolicy): void {
  const { identity } = claims;
  if (policy.identity !== undefined && identity !== policy.identity) {
    throw new KeylessVerificationError(
      'identity-mismatch',
      `signed by ${JSON.stringify(identity)}, not by the required identity ${JSON.stringify(policy.identity)}`,
    );
  }
  if (policy.identityRegExp !== undefined && !wholeMatch(policy.identityRegExp).test(identity)) {
    throw new KeylessVerificationError(
      'identity-mismatch',
      `signed by ${JSON.stringify(identity)}, which the required identity expression /${policy.identityRegExp}/ does not match as a whole`,
    );
  }
  if (claims.issuer !== policy.issuer) {
    throw new KeylessVerificationError(
      'issuer-mismatch',
      `the certificate was issued for OIDC issuer ${JSON.stringify(claims.issuer ?? '(none)')}, not the required ${JSON.stringify(policy.issuer)}`,
    );
  }
  const github = policy.github;
  if (github === undefined) return;
  const checks: [string, string | undefined, string | undefined][] = [
    ['repository', github.repository, repositoryOf(claims.sourceRepositoryURI)],
    ['ref', github.ref, claims.sourceRepositoryRef],
    ['sha', github.sha, claims.sourceRepositoryDigest],
  ];
  for (const [name, wanted, actual] of checks) {
    if (wanted !== undefined && wanted !== actual) {
      throw new KeylessVerificationError(
        'extension-mismatch',
        `the certificate's GitHub ${name} is ${JSON.stringify(actual ?? '(none)')}, not the required ${JSON.stringify(wanted)}`,
      );
    }
  }
}
