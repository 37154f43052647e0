import { DigestlineError, errorClass } from '@digestline/base';
/**
 * The key material given cannot be used: unreadable PEM, a wrong password, a key type cosign would not
 * make. The user's input is at fault, so the action layer reports it without a stack.
 */
export class KeyError extends errorClass('KeyError', 'KEY', 'user') {}

export type BundleRejection =
  /** Not a sigstore bundle, or not the DSSE kind this package signs. */
  | 'malformed-bundle'
  /** No trusted key verifies the signature and the bundle names a key that is not trusted. */
  | 'untrusted-key'
  /** The bundle names a trusted key, yet its signature fails: the envelope was changed after signing. */
  | 'tampered'
  /** The signature fails and the bundle does not say which key made it. */
  | 'bad-signature'
  /** The signed payload is not an in-toto v1 statement. */
  | 'malformed-statement'
  /** The statement is about other artifacts than the one it was expected for. */
  | 'subject-mismatch';

/** A sigstore bundle that must not be trusted; `reason` says why in a form callers can branch on. */
/** A bundle that does not verify is a refusal, never an outage: the caller must not retry it into trust. */
export class BundleVerificationError extends DigestlineError<'BUNDLE_REJECTED'> {
  override name = 'BundleVerificationError';
  constructor(
    readonly reason: BundleRejection,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { code: 'BUNDLE_REJECTED', fault: 'user', cause: options.cause });
  }
}
