// What a keyless rule accepts, parsed from inputs: no Sigstore library here, so an action reads its inputs
// without loading them.
import { ConfigurationError } from '@digestline/base';

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
export function wholeMatch(pattern: string): RegExp {
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
