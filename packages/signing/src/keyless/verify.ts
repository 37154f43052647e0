import {
  type Bundle,
  bundleFromJSON,
  isBundleWithDsseEnvelope,
  type SerializedBundle,
} from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { PolicyError, toSignedEntity, VerificationError, Verifier } from '@sigstore/verify';
import { envelopeStatement } from '../bundle.js';
import type { Statement } from '../intoto.js';
import { KeylessVerificationError } from './errors.js';
import { type CertificateClaims, certificateClaims, checkIdentity } from './identity.js';
import type { IdentityPolicy } from './policy.js';
import type { TrustRoot } from './trust.js';

/** Digests of the artifact a signature must be about, by in-toto algorithm name: `{ sha256: '<hex>' }`. */
export type ArtifactDigests = Partial<Record<'sha256' | 'sha384' | 'sha512', string>>;

export interface KeylessExpectation {
  /** What the statement's subject (or the message signature's digest) must name; at least one must match. */
  digests?: ArtifactDigests;
  /** For a message-signature bundle: the signed bytes themselves (the signature is over them). */
  artifact?: Buffer;
  /** For a DSSE bundle: the in-toto predicate type the statement must have. */
  predicateType?: string;
}

export interface KeylessVerified {
  claims: CertificateClaims;
  /** The earliest trusted time the signature existed at: a log entry's integrated time or a TSA's. */
  signedAt: Date;
  timeSource: 'transparency log' | 'timestamp authority';
  /** The log index of the first transparency-log entry. */
  logIndex?: string;
  /** The statement, for a DSSE bundle carrying one. */
  statement?: Statement;
}

/** `application/vnd.dev.sigstore.bundle…` in any version, from its JSON or bytes. */
export function parseBundle(input: SerializedBundle | Buffer | string): Bundle {
  try {
    const json = typeof input === 'string' || Buffer.isBuffer(input) ? JSON.parse(input.toString()) : input;
    return bundleFromJSON(json);
  } catch (error) {
    throw new KeylessVerificationError(
      'malformed-bundle',
      `not a sigstore bundle: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function leafCertificate(bundle: Bundle): X509Certificate {
  const content = bundle.verificationMaterial.content;
  const raw =
    content.$case === 'certificate'
      ? content.certificate.rawBytes
      : content.$case === 'x509CertificateChain'
        ? content.x509CertificateChain.certificates[0]?.rawBytes
        : undefined;
  if (raw === undefined) {
    throw new KeylessVerificationError(
      'malformed-bundle',
      'the bundle is signed with a key, not a Fulcio certificate: verify it with the public key instead (verify: key)',
    );
  }
  return X509Certificate.parse(Buffer.from(raw));
}

/** The trusted times the bundle claims, each checked by the verifier before it is reported. */
function claimedTimes(bundle: Bundle): { at: Date; source: KeylessVerified['timeSource'] }[] {
  const times: { at: Date; source: KeylessVerified['timeSource'] }[] = [];
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    // Only an entry with a signed promise vouches for its integrated time.
    if (entry.inclusionPromise !== undefined) {
      times.push({ at: new Date(Number(entry.integratedTime) * 1000), source: 'transparency log' });
    }
  }
  for (const ts of bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []) {
    try {
      const parsed = RFC3161Timestamp.parse(Buffer.from(ts.signedTimestamp));
      times.push({ at: parsed.signingTime, source: 'timestamp authority' });
    } catch {
      // An unparsable timestamp fails verification below, with the verifier's reason.
    }
  }
  return times.sort((a, b) => a.at.getTime() - b.at.getTime());
}

const iso = (date: Date) => date.toISOString().replace('.000Z', 'Z');

/** The verifier's refusal as ours, with a reason a caller can branch on and a sentence a person can act on. */
function rejection(error: unknown, bundle: Bundle, leaf: X509Certificate): KeylessVerificationError {
  if (error instanceof PolicyError) {
    return new KeylessVerificationError('identity-mismatch', error.message, { cause: error });
  }
  if (!(error instanceof VerificationError)) {
    // What the verifier could not even parse (a broken timestamp or certificate) is the bundle's fault.
    return new KeylessVerificationError('malformed-bundle', `the bundle cannot be read: ${String(error)}`, {
      cause: error,
    });
  }
  const code = error.code as string;
  if (code === 'TIMESTAMP_ERROR') {
    return new KeylessVerificationError(
      'no-trusted-time',
      `no trusted time vouches for the signature (${error.message}): it needs a transparency-log entry with an integrated time or an RFC 3161 timestamp from a trusted authority`,
      { cause: error },
    );
  }
  if (code === 'CERTIFICATE_ERROR') {
    const outside = claimedTimes(bundle).find(
      (t) => t.at.getTime() < leaf.notBefore.getTime() || t.at.getTime() > leaf.notAfter.getTime(),
    );
    if (outside !== undefined) {
      return new KeylessVerificationError(
        'certificate-expired',
        `the certificate was valid from ${iso(leaf.notBefore)} to ${iso(leaf.notAfter)}, but the ${outside.source} puts the signature at ${iso(outside.at)}: it was not valid when it signed`,
        { cause: error },
      );
    }
    return new KeylessVerificationError(
      'untrusted-certificate',
      `the signing certificate is not trusted: ${error.message} (is the trusted root the one of the Sigstore instance that signed?)`,
      { cause: error },
    );
  }
  if (code === 'SIGNATURE_ERROR') {
    return new KeylessVerificationError(
      'bad-signature',
      'the signature does not verify with the certificate: the content was changed after signing',
      { cause: error },
    );
  }
  if (code.startsWith('TLOG')) {
    return new KeylessVerificationError(
      'bad-tlog-entry',
      `the transparency-log entry does not verify: ${error.message} (the entry is not from a trusted log, or not for this signature)`,
      { cause: error },
    );
  }
  return new KeylessVerificationError('untrusted-certificate', error.message, { cause: error });
}

function subjectMatches(subjects: Statement['subject'], digests: ArtifactDigests): boolean {
  return subjects.some((s) =>
    Object.entries(digests).some(([alg, hex]) => hex !== undefined && s.digest[alg] === hex.toLowerCase()),
  );
}

function describeDigests(digests: ArtifactDigests): string {
  return Object.entries(digests)
    .filter(([, hex]) => hex !== undefined)
    .map(([alg, hex]) => `${alg}:${hex}`)
    .join(' / ');
}

/**
 * Verifies a keyless sigstore bundle the way cosign and `gh attestation verify` do: the certificate
 * chains to a trusted Fulcio CA (with its CT proof where the root has a CT log), a transparency-log entry
 * proves the signature was published, a trusted time (integrated time or TSA timestamp) falls inside the
 * certificate's validity, the signature verifies, the identity and issuer are the required ones, and
 * the content is about the expected artifact. Throws KeylessVerificationError with the first reason.
 */
export function verifyKeylessBundle(
  input: SerializedBundle | Buffer | string,
  trust: TrustRoot,
  policy: IdentityPolicy,
  expected: KeylessExpectation = {},
): KeylessVerified {
  const bundle = parseBundle(input);
  const leaf = leafCertificate(bundle);
  if (bundle.verificationMaterial.tlogEntries.length === 0) {
    throw new KeylessVerificationError(
      'no-tlog-entry',
      'the bundle has no transparency-log entry: a keyless signature counts only once it is logged in Rekor',
    );
  }
  if (bundle.content.$case === 'messageSignature' && expected.artifact === undefined) {
    throw new KeylessVerificationError(
      'malformed-bundle',
      'the bundle signs a message, not an attestation: give the signed artifact to check it against',
    );
  }
  const verifier = new Verifier(trust.material, {
    tlogThreshold: 1,
    ctlogThreshold: trust.ctlogThreshold,
    timestampThreshold: 1,
  });
  try {
    verifier.verify(toSignedEntity(bundle, expected.artifact));
  } catch (error) {
    throw rejection(error, bundle, leaf);
  }
  const claims = certificateClaims(leaf);
  checkIdentity(claims, policy);

  const first = claimedTimes(bundle)[0];
  if (first === undefined) {
    throw new KeylessVerificationError('no-trusted-time', 'no trusted time vouches for the signature');
  }
  const logIndex = bundle.verificationMaterial.tlogEntries[0]?.logIndex;
  const verified: KeylessVerified = {
    claims,
    signedAt: first.at,
    timeSource: first.source,
    ...(logIndex === undefined ? {} : { logIndex }),
  };

  if (isBundleWithDsseEnvelope(bundle)) {
    const statement = envelopeStatement(
      bundle.content.dsseEnvelope,
      (message, cause) => new KeylessVerificationError('malformed-statement', message, { cause }),
    );
    if (expected.predicateType !== undefined && statement.predicateType !== expected.predicateType) {
      throw new KeylessVerificationError(
        'predicate-mismatch',
        `the statement's predicate type is ${statement.predicateType}, not ${expected.predicateType}`,
      );
    }
    if (expected.digests !== undefined && !subjectMatches(statement.subject, expected.digests)) {
      const names = statement.subject
        .map(
          (s) =>
            `${s.name} (${Object.entries(s.digest)
              .map(([a, h]) => `${a}:${h}`)
              .join(', ')})`,
        )
        .join('; ');
      throw new KeylessVerificationError(
        'subject-mismatch',
        `the statement is about ${names}, not about ${describeDigests(expected.digests)}`,
      );
    }
    verified.statement = statement;
  } else if (expected.predicateType !== undefined) {
    throw new KeylessVerificationError(
      'predicate-mismatch',
      `the bundle signs a message, not an attestation of type ${expected.predicateType}`,
    );
  }
  return verified;
}
