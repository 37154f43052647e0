import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { errorClass } from '@digestline/base';
import { X509Certificate } from '@sigstore/core';
import type { Witness } from '@sigstore/sign';
import type { Signer } from '../bundle.js';
import type { SigstoreEndpoints } from './endpoints.js';

/** A Sigstore service (Fulcio, Rekor, a timestamp authority) failed or refused the request. */
export class SigstoreError extends errorClass('SigstoreError', 'SIGSTORE_FAILED', 'environment') {}

/**
 * Where the job's OIDC identity token comes from. On a runner the action passes one backed by the
 * runner's token endpoint (`permissions: id-token: write`); the token must be for audience `sigstore`
 * and is a secret for as long as it lives.
 */
export interface IdentityTokenSource {
  getToken(audience: string): Promise<string>;
}

/** The audience Fulcio accepts identity tokens for. */
export const SIGSTORE_AUDIENCE = 'sigstore';

export interface FulcioCertificate {
  /** The leaf, PEM. */
  leaf: string;
  /** The rest of the chain Fulcio returned (intermediates, root), PEM. */
  chain: string[];
  identity: string;
  notAfter: Date;
}

/** A signer with a short-lived Fulcio certificate, logged in Rekor (and timestamped where a TSA is set). */
export interface KeylessSigner extends Signer {
  witnesses: Witness[];
  /** The Sigstore instance it signs with. */
  endpoints: SigstoreEndpoints;
  /** The certificate the last signature was made with (requested on the first signature). */
  certificate(): FulcioCertificate | undefined;
  /** Requests the certificate now, before anything is signed: to check whose identity it will carry. */
  prepare(): Promise<FulcioCertificate>;
}

const REQUEST_TIMEOUT_MS = 30_000;
/** A certificate lives ten minutes; a new one is requested when less than this is left. */
const RENEW_BEFORE_MS = 60_000;

function jwtSubject(token: string): string {
  let claims: { email?: unknown; sub?: unknown };
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    // Never the token itself in a message: it is a credential.
    throw new SigstoreError('the OIDC identity token is not a JWT');
  }
  const subject = typeof claims.email === 'string' ? claims.email : claims.sub;
  if (typeof subject !== 'string' || subject === '') {
    throw new SigstoreError('the OIDC identity token has no subject (sub or email) for Fulcio to certify');
  }
  return subject;
}

async function post(url: string, body: unknown, what: string): Promise<unknown> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 2; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      lastError = error;
      continue;
    }
    const text = await response.text();
    if (response.ok) return JSON.parse(text);
    lastError = new SigstoreError(`${what} (${url}) answered ${response.status}: ${text.slice(0, 300)}`);
    // A refusal (a token Fulcio does not accept) does not change on a second try.
    if (response.status < 500) throw lastError;
  }
  throw new SigstoreError(`${what} (${url}) did not answer`, { cause: lastError });
}

const splitPem = (chain: string[]) => chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`));

/**
 * Keyless signing: an ephemeral P-256 key, a Fulcio certificate binding its public half to the job's OIDC
 * identity (requested once, renewed near expiry), a Rekor entry for every signature and, with a TSA, an
 * RFC 3161 timestamp. Fulcio's whole chain is kept, for cosign's legacy `.sig` annotations.
 */
/**
 * A witness made on first use: @sigstore/sign's index loads its HTTP stack (make-fetch-happen, proxies,
 * a cache), which only a keyless or Rekor-logged signature needs.
 */
function lazyWitness(make: () => Promise<Witness>): Witness {
  let made: Promise<Witness> | undefined;
  return {
    async testify(content, publicKey) {
      made ??= make();
      return (await made).testify(content, publicKey);
    },
  };
}

export function keylessSigner(tokens: IdentityTokenSource, endpoints: SigstoreEndpoints): KeylessSigner {
  let key: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
  let current: FulcioCertificate | undefined;

  async function certificate(): Promise<{ cert: FulcioCertificate; privateKey: KeyObject }> {
    if (
      current !== undefined &&
      key !== undefined &&
      current.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS
    ) {
      return { cert: current, privateKey: key.privateKey };
    }
    key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = await tokens.getToken(SIGSTORE_AUDIENCE);
    const subject = jwtSubject(token);
    const response = (await post(
      `${endpoints.fulcioURL.replace(/\/$/, '')}/api/v2/signingCert`,
      {
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: {
          publicKey: { algorithm: 'ECDSA', content: key.publicKey.export({ type: 'spki', format: 'pem' }) },
          proofOfPossession: sign('sha256', Buffer.from(subject), key.privateKey).toString('base64'),
        },
      },
      'Fulcio',
    )) as {
      signedCertificateEmbeddedSct?: { chain?: { certificates?: string[] } };
      signedCertificateDetachedSct?: { chain?: { certificates?: string[] } };
    };
    const pems = (response.signedCertificateEmbeddedSct ?? response.signedCertificateDetachedSct)?.chain
      ?.certificates;
    const [leaf, ...chain] = splitPem(pems ?? []);
    if (leaf === undefined) throw new SigstoreError('Fulcio answered without a certificate');
    const parsed = X509Certificate.parse(leaf);
    current = { leaf, chain, identity: parsed.subjectAltName ?? '', notAfter: parsed.notAfter };
    return { cert: current, privateKey: key.privateKey };
  }

  const tsaURL = endpoints.tsaURL;
  const witnesses: Witness[] = [
    // intoto entries: the public Rekor and the local one both store them as verifiers expect.
    lazyWitness(
      async () =>
        new (await import('@sigstore/sign')).RekorWitness({
          rekorBaseURL: endpoints.rekorURL,
          entryType: 'intoto',
          fetchOnConflict: true,
        }),
    ),
    ...(tsaURL === undefined
      ? []
      : [lazyWitness(async () => new (await import('@sigstore/sign')).TSAWitness({ tsaBaseURL: tsaURL }))]),
  ];
  return {
    async sign(data) {
      const { cert, privateKey } = await certificate();
      return {
        signature: sign('sha256', data, privateKey),
        key: { $case: 'x509Certificate', certificate: cert.leaf },
      };
    },
    witnesses,
    endpoints,
    certificate: () => current,
    prepare: async () => (await certificate()).cert,
  };
}
