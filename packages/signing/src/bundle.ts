import { type KeyObject, sign } from 'node:crypto';
import {
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  bundleFromJSON,
  bundleToJSON,
  isBundleWithDsseEnvelope,
  type SerializedBundle,
} from '@sigstore/bundle';
import type { Signature, Witness } from '@sigstore/sign';
// The builder alone: the package's index also loads its Fulcio and Rekor clients with their HTTP stack
// (make-fetch-happen and its proxies and cache), which a key signature never uses.
import { DSSEBundleBuilder } from '@sigstore/sign/dist/bundler/dsse.js';
import { type TrustMaterial, toSignedEntity, Verifier } from '@sigstore/verify';
import { BundleVerificationError } from './errors.js';
import { INTOTO_PAYLOAD_TYPE, isAbout, parseStatement, type Statement, StatementError } from './intoto.js';
import { keyId, publicKeyPem } from './keys.js';

export type { SerializedBundle } from '@sigstore/bundle';

/** `application/vnd.dev.sigstore.bundle.v0.3+json`: the bundle's own media type and its OCI artifactType. */
export const BUNDLE_MEDIA_TYPE = BUNDLE_V03_MEDIA_TYPE;

/**
 * Whoever signs a DSSE envelope. `sign` has the shape of @sigstore/sign's Signer, so keylessSigner() fits;
 * `witnesses` (Rekor, a timestamp authority) countersign the result. A local key has none.
 */
export interface Signer {
  sign(data: Buffer): Promise<Signature>;
  witnesses?: Witness[];
}

/** Signs with a local P-256 key; the bundle names the key by keyId() so a verifier can say who signed. */
export function keySigner(privateKey: KeyObject): Signer {
  const publicKey = publicKeyPem(privateKey);
  const hint = keyId(privateKey);
  return {
    sign: async (data) => ({
      signature: sign('sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey, hint },
    }),
  };
}

/** Signs an in-toto statement into a sigstore v0.3 bundle holding a DSSE envelope, in its JSON form. */
export async function signStatement(statement: Statement, signer: Signer): Promise<SerializedBundle> {
  const builder = new DSSEBundleBuilder({ signer, witnesses: signer.witnesses ?? [] });
  const bundle = await builder.create({
    data: Buffer.from(JSON.stringify(statement)),
    type: INTOTO_PAYLOAD_TYPE,
  });
  return bundleToJSON(bundle);
}

export interface VerifiedStatement {
  statement: Statement;
  /** keyId() of the trusted key that verified the bundle. */
  keyId: string;
}

function readBundle(input: SerializedBundle | Buffer | string): Bundle {
  try {
    const json = typeof input === 'string' || Buffer.isBuffer(input) ? JSON.parse(input.toString()) : input;
    return bundleFromJSON(json);
  } catch (error) {
    throw new BundleVerificationError(
      'malformed-bundle',
      `not a sigstore bundle: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function trustOnly(key: KeyObject): TrustMaterial {
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    // The key is tried whatever hint the bundle carries: the hint is the signer's claim, not proof.
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
}

/**
 * Verifies a key-signed v0.3 DSSE bundle against trusted public keys and returns the in-toto statement
 * it carries. With `subjectDigest`, the statement must also be about that artifact. Throws
 * BundleVerificationError, whose `reason` tells a wrong key from a changed envelope.
 */
export function verifyBundle(
  input: SerializedBundle | Buffer | string,
  trustedKeys: KeyObject | readonly KeyObject[],
  options: { subjectDigest?: string } = {},
): VerifiedStatement {
  const keys = Array.isArray(trustedKeys) ? trustedKeys : [trustedKeys as KeyObject];
  const bundle = readBundle(input);
  if (bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE || !isBundleWithDsseEnvelope(bundle)) {
    throw new BundleVerificationError(
      'malformed-bundle',
      `expected a ${BUNDLE_V03_MEDIA_TYPE} bundle with a DSSE envelope, got ${bundle.mediaType} with ${bundle.content.$case}`,
    );
  }
  const material = bundle.verificationMaterial.content;
  if (material?.$case !== 'publicKey') {
    throw new BundleVerificationError(
      'untrusted-key',
      'the bundle is keyless (signed with a Fulcio certificate): verify it against the Sigstore trusted root, not a key',
    );
  }

  // Trust comes from the key alone. Log entries or timestamps a keyed bundle may carry (say, uploaded to
  // Rekor) can only be checked against the Sigstore trust root, so they count neither for nor against it.
  const entity = { ...toSignedEntity(bundle), tlogEntries: [], timestamps: [] };
  const thresholds = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
  let lastError: unknown;
  const signer = keys.find((key) => {
    try {
      new Verifier(trustOnly(key), thresholds).verify(entity);
      return true;
    } catch (error) {
      lastError = error;
      return false;
    }
  });
  if (signer === undefined) {
    const hint = material.publicKey.hint;
    const trusted = keys.map((key) => keyId(key));
    const detail = lastError instanceof Error ? ` (${lastError.message})` : '';
    if (trusted.includes(hint)) {
      throw new BundleVerificationError(
        'tampered',
        `the bundle names trusted key ${hint} but its signature does not verify: it was changed after signing${detail}`,
        { cause: lastError },
      );
    }
    if (hint !== '') {
      throw new BundleVerificationError(
        'untrusted-key',
        `the bundle was signed by key ${hint}, which is not one of the ${keys.length} trusted key(s)`,
        { cause: lastError },
      );
    }
    throw new BundleVerificationError(
      'bad-signature',
      `the bundle does not verify with any of the ${keys.length} trusted key(s)${detail}`,
      { cause: lastError },
    );
  }

  const statement = envelopeStatement(
    bundle.content.dsseEnvelope,
    (message, cause) => new BundleVerificationError('malformed-statement', message, { cause }),
  );
  if (options.subjectDigest !== undefined && !isAbout(statement, options.subjectDigest)) {
    const names = statement.subject.map((s) => `${s.name}@sha256:${s.digest.sha256}`).join(', ');
    throw new BundleVerificationError(
      'subject-mismatch',
      `the statement is about ${names}, not ${options.subjectDigest}`,
    );
  }
  return { statement, keyId: keyId(signer) };
}

/**
 * The in-toto statement a DSSE envelope carries; anything else is refused through `refuse`, so key and
 * keyless verification each report it with their own error.
 */
export function envelopeStatement(
  envelope: { payloadType: string; payload: Buffer },
  refuse: (message: string, cause?: unknown) => Error,
): Statement {
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw refuse(
      `the envelope carries ${JSON.stringify(envelope.payloadType)}, not an in-toto statement (${INTOTO_PAYLOAD_TYPE})`,
    );
  }
  try {
    return parseStatement(envelope.payload);
  } catch (error) {
    if (!(error instanceof StatementError)) throw error;
    throw refuse(error.message, error);
  }
}
