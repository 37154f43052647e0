import { type KeyObject, sign } from 'node:crypto';
import { errorClass } from '@digestline/base';

/** The `critical.type` every cosign container image signature carries. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** What a simple-signing payload asserts, read back from its bytes. */
export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`: the repository the signer meant, e.g. `ghcr.io/org/app`. */
  reference: string;
  /** `critical.image.docker-manifest-digest` */
  digest: string;
  /** `optional`: free-form claims; cosign writes `null` when there are none. */
  optional: Record<string, unknown> | null;
}

/** The payload is not a cosign simple-signing document. */
export class PayloadError extends errorClass('PayloadError', 'INVALID_PAYLOAD', 'user') {}

/**
 * The bytes cosign signs for an image. Key order and `"optional":null` follow cosign's output, so a payload
 * for the same image and claims is byte-identical to cosign's.
 */
export function simpleSigningPayload(
  reference: string,
  digest: string,
  optional?: Record<string, unknown>,
): Buffer {
  if (!DIGEST.test(digest))
    throw new PayloadError(`image digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  if (reference === '' || /[@\s]/.test(reference)) {
    throw new PayloadError(
      `docker-reference ${JSON.stringify(reference)} must be a repository without tag or digest, e.g. ghcr.io/org/app`,
    );
  }
  const document = {
    critical: {
      identity: { 'docker-reference': reference },
      image: { 'docker-manifest-digest': digest },
      type: SIMPLE_SIGNING_TYPE,
    },
    optional: optional ?? null,
  };
  return Buffer.from(JSON.stringify(document));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a payload whose signature has already been checked; throws PayloadError when it is not one. */
export function parseSimpleSigningPayload(bytes: Buffer | string): SimpleSigningPayload {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString());
  } catch {
    throw new PayloadError('the payload is not JSON');
  }
  const critical = isObject(document) ? document.critical : undefined;
  if (!isObject(document) || !isObject(critical))
    throw new PayloadError('the payload has no `critical` object');
  if (critical.type !== SIMPLE_SIGNING_TYPE) {
    throw new PayloadError(
      `the payload type is ${JSON.stringify(critical.type)}, not ${JSON.stringify(SIMPLE_SIGNING_TYPE)}`,
    );
  }
  const image = isObject(critical.image) ? critical.image : {};
  const identity = isObject(critical.identity) ? critical.identity : {};
  // The cosign spec's example capitalises the key; every real payload (and cosign's reader) uses lower case.
  const digest = image['docker-manifest-digest'] ?? image['Docker-manifest-digest'];
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new PayloadError(
      `the payload's docker-manifest-digest ${JSON.stringify(digest)} is not sha256:<64 hex>`,
    );
  }
  const reference = identity['docker-reference'];
  if (typeof reference !== 'string') throw new PayloadError('the payload has no docker-reference');
  const optional = document.optional;
  if (optional !== undefined && optional !== null && !isObject(optional)) {
    throw new PayloadError('the payload `optional` is neither an object nor null');
  }
  return { reference, digest, optional: optional ?? null };
}

/** An ECDSA P-256 / SHA-256 signature over the payload bytes, DER-encoded then base64, as cosign stores it. */
export function signPayload(payload: Buffer, privateKey: KeyObject): string {
  return sign('sha256', payload, privateKey).toString('base64');
}
