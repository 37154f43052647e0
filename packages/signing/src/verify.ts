import { type KeyObject, verify } from 'node:crypto';
import { keyId } from './keys.js';
import { PayloadError, parseSimpleSigningPayload, type SimpleSigningPayload } from './payload.js';

export type SignatureRejection =
  /** The signature annotation is not base64. */
  | 'malformed-signature'
  /** No trusted key verifies it, and the signature names a key that is not trusted: signed by someone else. */
  | 'untrusted-key'
  /** It names a trusted key, but that key does not verify it: the payload was changed after signing. */
  | 'tampered-payload'
  /** No trusted key verifies it and nothing says which key made it (cosign records no key id). */
  | 'bad-signature'
  /** Correctly signed, but not a cosign simple-signing payload. */
  | 'malformed-payload'
  /** Correctly signed, for another image: the payload's docker-manifest-digest is not the image digest. */
  | 'digest-mismatch'
  /** Correctly signed for this digest, but for another repository than the one asked for. */
  | 'reference-mismatch';

export interface PayloadCheck {
  ok: boolean;
  reason?: SignatureRejection;
  /** One sentence a person can act on, for both outcomes. */
  message: string;
  /** keyId() of the trusted key that verified the signature. */
  keyId?: string;
  /** The payload's claims, once the signature is known to be good. */
  payload?: SimpleSigningPayload;
}

export interface ExpectedImage {
  /** The image manifest digest the signature must be for. */
  digest: string;
  /** When given, the payload's docker-reference must equal it (e.g. `ghcr.io/org/app`). */
  reference?: string;
}

function verifiesWith(payload: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return verify('sha256', payload, key, signature);
  } catch {
    // OpenSSL throws on DER it cannot parse; for the caller that is just a signature that does not verify.
    return false;
  }
}

/**
 * Checks one cosign signature: the signature over the exact payload bytes under one of the trusted keys,
 * then what the payload claims. `claimedKeyId` (the key id a signer recorded, if any) only sharpens the
 * reason for a failure; it never makes a signature pass.
 */
export function verifyPayload(
  payload: Buffer,
  signatureB64: string,
  publicKeys: KeyObject | readonly KeyObject[],
  expected: ExpectedImage,
  claimedKeyId?: string,
): PayloadCheck {
  const keys = Array.isArray(publicKeys) ? publicKeys : [publicKeys as KeyObject];
  const encoded = signatureB64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    return { ok: false, reason: 'malformed-signature', message: 'the signature is not base64' };
  }
  const signature = Buffer.from(encoded, 'base64');
  const signer = keys.find((key) => verifiesWith(payload, signature, key));
  if (signer === undefined) {
    const trustedIds = keys.map((key) => keyId(key));
    if (claimedKeyId !== undefined && trustedIds.includes(claimedKeyId)) {
      return {
        ok: false,
        reason: 'tampered-payload',
        message: `the signature by trusted key ${claimedKeyId} does not match the payload: it was changed after signing`,
      };
    }
    if (claimedKeyId !== undefined) {
      return {
        ok: false,
        reason: 'untrusted-key',
        message: `signed by key ${claimedKeyId}, which is not one of the ${keys.length} trusted key(s)`,
      };
    }
    return {
      ok: false,
      reason: 'bad-signature',
      message: `the signature does not verify with any of the ${keys.length} trusted key(s): it was made by another key or changed after signing`,
    };
  }

  const id = keyId(signer);
  let claims: SimpleSigningPayload;
  try {
    claims = parseSimpleSigningPayload(payload);
  } catch (error) {
    if (!(error instanceof PayloadError)) throw error;
    return { ok: false, reason: 'malformed-payload', message: error.message, keyId: id };
  }
  if (claims.digest !== expected.digest) {
    return {
      ok: false,
      reason: 'digest-mismatch',
      message: `the signature is for image ${claims.digest}, not ${expected.digest}`,
      keyId: id,
      payload: claims,
    };
  }
  if (expected.reference !== undefined && claims.reference !== expected.reference) {
    return {
      ok: false,
      reason: 'reference-mismatch',
      message: `the signature is for repository ${claims.reference}, not ${expected.reference}`,
      keyId: id,
      payload: claims,
    };
  }
  return { ok: true, message: `signed by trusted key ${id}`, keyId: id, payload: claims };
}
