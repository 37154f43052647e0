import { ConfigurationError } from '@digestline/base';
import { X509Certificate } from '@sigstore/core';
import { KeylessVerificationError } from './errors.js';

/** GitHub's OIDC issuer for Actions: the `certificate-oidc-issuer` of every github.com workflow identity. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * Who must have signed: the certificate's identity (its SAN) exactly or by a regular expression that
 * matches all of it, and the OIDC issuer exactly. Optionally the GitHub claims Fulcio copies into the
 * certificate. Built by identityPolicy(), which refuses a policy that would accept any identity.
 */
export interface IdentityPolicy {
  identity?: string;
  /** As the user wrote it; it must match the whole identity (wholeMatch()). */
  identityRegExp?: string;
  issuer: string;
  github?: GitHubClaimsPolicy;
}

/** The expression anchored at both ends: `a.*` must not accept `xa…` nor a prefix of the identity. */
function wholeMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

export interface GitHubClaimsPolicy {
  /** `owner/repo`: the repository the workflow ran in (Source Repository URI). */
  repository?: string;
  /** `refs/heads/main`, `refs/tags/v1`: the ref the workflow ran for. */
  ref?: string;
  /** The commit the workflow ran for. */
  sha?: string;
}

/** How a front end spells each option, so a configuration error names what the user typed. */
export interface PolicyNames {
  identity: string;
  identityRegExp: string;
  issuer: string;
}

export interface PolicyInput {
  identity?: string;
  identityRegExp?: string;
  issuer?: string;
  github?: GitHubClaimsPolicy;
}

/**
 * The identity rules as a user gave them, checked the way cosign checks them: an identity (exact or a
 * regular expression) and an issuer are both required, so a missing one is a configuration error and
 * never "any identity". The expression must match the whole identity, not a part of it.
 */
export function identityPolicy(input: PolicyInput, names: PolicyNames): IdentityPolicy {
  const identity = blankToUndefined(input.identity);
  const pattern = blankToUndefined(input.identityRegExp);
  const issuer = blankToUndefined(input.issuer);
  if (identity !== undefined && pattern !== undefined) {
    throw new ConfigurationError(
      `Set "${names.identity}" or "${names.identityRegExp}", not both: one rule decides which signer identity is trusted.`,
    );
  }
  const missing: string[] = [];
  if (identity === undefined && pattern === undefined)
    missing.push(`"${names.identity}" (or "${names.identityRegExp}")`);
  if (issuer === undefined) missing.push(`"${names.issuer}"`);
  if (missing.length > 0) {
    throw new ConfigurationError(
      `Keyless verification needs ${missing.join(' and ')}: without them any Sigstore identity would be trusted. For a GitHub workflow, set "${names.identity}" to https://github.com/OWNER/REPO/.github/workflows/FILE.yml@refs/heads/main and "${names.issuer}" to ${GITHUB_ACTIONS_ISSUER}.`,
    );
  }
  if (pattern !== undefined) {
    try {
      wholeMatch(pattern);
    } catch (error) {
      throw new ConfigurationError(
        `"${names.identityRegExp}" is not a valid regular expression: ${(error as Error).message}.`,
      );
    }
  }
  const github = githubPolicy(input.github);
  return {
    ...(identity === undefined ? {} : { identity }),
    ...(pattern === undefined ? {} : { identityRegExp: pattern }),
    issuer: issuer as string,
    ...(github === undefined ? {} : { github }),
  };
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function githubPolicy(input: GitHubClaimsPolicy | undefined): GitHubClaimsPolicy | undefined {
  const repository = blankToUndefined(input?.repository);
  const ref = blankToUndefined(input?.ref);
  const sha = blankToUndefined(input?.sha);
  if (repository === undefined && ref === undefined && sha === undefined) return undefined;
  return {
    ...(repository === undefined ? {} : { repository }),
    ...(ref === undefined ? {} : { ref }),
    ...(sha === undefined ? {} : { sha }),
  };
}

/** A policy for humans: `identity … issued by …`. */
export function describePolicy(policy: IdentityPolicy): string {
  const who = policy.identity ?? `an identity matching /${policy.identityRegExp ?? ''}/`;
  return `${who} (issuer ${policy.issuer})`;
}

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
