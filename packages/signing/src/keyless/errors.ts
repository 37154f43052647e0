import { DigestlineError } from '@digestline/base';

export type KeylessRejection =
  /** Not a sigstore bundle, or not one signed with a Fulcio certificate. */
  | 'malformed-bundle'
  /** The bundle carries no transparency-log entry: nothing proves the signature was published. */
  | 'no-tlog-entry'
  /** The log entry does not verify against a trusted log, or is for other content. */
  | 'bad-tlog-entry'
  /** No trusted time (a log entry's integrated time or a TSA timestamp) vouches for when it was signed. */
  | 'no-trusted-time'
  /** The certificate does not chain to a trusted Fulcio CA, or lacks the certificate-transparency proof. */
  | 'untrusted-certificate'
  /** The certificate chains to a trusted CA but was not valid at the trusted signing time. */
  | 'certificate-expired'
  /** The signature does not verify with the certificate's key: the content was changed after signing. */
  | 'bad-signature'
  /** Signed by another identity (certificate SAN) than the one required. */
  | 'identity-mismatch'
  /** The certificate names another OIDC issuer than the one required. */
  | 'issuer-mismatch'
  /** A GitHub certificate extension (repository, ref, sha) differs from the one required. */
  | 'extension-mismatch'
  /** The signed payload is not an in-toto statement (or not the predicate type asked for). */
  | 'malformed-statement'
  | 'predicate-mismatch'
  /** Correctly signed, but about another artifact. */
  | 'subject-mismatch';

/**
 * A keyless signature that must not be trusted; `reason` says why in a form callers can branch on. A
 * refusal, never an outage: a caller must not retry it into trust.
 */
export class KeylessVerificationError extends DigestlineError<'KEYLESS_REJECTED'> {
  override name = 'KeylessVerificationError';
  constructor(
    readonly reason: KeylessRejection,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { code: 'KEYLESS_REJECTED', fault: 'user', cause: options.cause });
  }
}
