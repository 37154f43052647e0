import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import { join } from 'node:path';
import {
  type HandlerFn,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';
import { verifiedClaims } from './oidc.js';
import { listenOnLoopback, makeTempDir } from './util.js';

/** An OIDC issuer the local Fulcio accepts tokens from: its `iss` and the key its tokens verify with. */
export interface TrustedIssuer {
  issuer: string;
  publicKey: KeyObject;
}

export interface SigstoreOptions {
  /** Issuers whose tokens Fulcio accepts (a token from any other is refused, as the real Fulcio does). */
  issuers: TrustedIssuer[];
  /** Serve an RFC 3161 timestamp authority too (default true). */
  tsa?: boolean;
  /** The GitHub server the SAN and URI extensions are built on (default https://github.com). */
  githubServerURL?: string;
}

export interface SigstoreRequest {
  service: 'fulcio' | 'rekor' | 'tsa';
  status: number;
  /** Fulcio: the SAN of the certificate issued, or why the token was refused. */
  detail?: string;
}

export interface LocalSigstore {
  /** Fulcio, Rekor and the TSA share one base URL, each under its real API path. */
  url: string;
  fulcioURL: string;
  rekorURL: string;
  /** Absent with `tsa: false`. */
  tsaURL?: string;
  /** `trusted_root.json` for this instance: its CA, Rekor key, CT log key and TSA chain. */
  trustedRoot: Record<string, unknown>;
  trustedRootPath: string;
  /**
   * Issues certificates as of `time` from now on (undefined: the real time). A time more than ten minutes
   * back makes a certificate that had expired before Rekor logged its signature.
   */
  setCertificateTime(time: Date | undefined): void;
  requests(): SigstoreRequest[];
  stop(): Promise<void>;
}

// Fulcio's certificate extensions (sigstore/fulcio docs/oid-info.md): the first ones hold the raw value,
// those from 1.8 on a DER UTF8String.
const PREFIX = '1.3.6.1.4.1.57264.1';
type Extension = { oid: string; value: string; legacy?: boolean };

function fulcioExtensions(claims: Record<string, unknown>, server: string): Extension[] {
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  const rows: [number, string | undefined, boolean?][] = [
    [1, text('iss'), true],
    [8, text('iss')],
  ];
  if (text('job_workflow_ref') !== undefined) {
    const repository = text('repository');
    const url = (path: string | undefined) => (path === undefined ? undefined : `${server}/${path}`);
    rows.push(
      [2, text('event_name'), true],
      [3, text('sha'), true],
      [4, text('workflow'), true],
      [5, repository, true],
      [6, text('ref'), true],
      [9, url(text('job_workflow_ref'))],
      [10, text('job_workflow_sha')],
      [11, text('runner_environment')],
      [12, url(repository)],
      [13, text('sha')],
      [14, text('ref')],
      [15, text('repository_id')],
      [16, url(text('repository_owner'))],
      [17, text('repository_owner_id')],
      [18, url(text('workflow_ref'))],
      [19, text('workflow_sha')],
      [20, text('event_name')],
      [
        21,
        repository === undefined
          ? undefined
          : `${server}/${repository}/actions/runs/${text('run_id')}/attempts/${text('run_attempt')}`,
      ],
      [22, text('repository_visibility')],
    );
  }
  return rows
    .filter((row): row is [number, string, boolean?] => row[1] !== undefined)
    .map(([n, value, legacy]) => ({ oid: `${PREFIX}.${n}`, value, ...(legacy ? { legacy } : {}) }));
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const pem = (der: ArrayBufferView) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64')}\n-----END CERTIFICATE-----\n`;
const b64 = (bytes: ArrayBufferView | Buffer) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * A private Sigstore on 127.0.0.1: Fulcio (`POST /api/v2/signingCert`), Rekor (`POST /api/v1/log/entries`)
 * and a timestamp authority (`POST /api/v1/timestamp`), built on @sigstore/mock's CA, transparency log,
 * CT log and TSA, served over HTTP so an action bundle running as its own process reaches them. Fulcio
 * verifies each OIDC token against the issuers it trusts and derives the certificate from its claims the
 * way the public instance does for GitHub Actions (SAN = the job's workflow URL, the GitHub extensions).
 */
export async function startSigstore(options: SigstoreOptions): Promise<LocalSigstore> {
  const server = options.githubServerURL ?? 'https://github.com';
  const dir = await makeTempDir('sigstore');
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tlogKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tsaKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctLog = await initializeCTLog(ctKeys);
  const firstCA = await initializeCA(caKeys, ctLog);
  let ca = Promise.resolve(firstCA);
  const withTSA = options.tsa ?? true;
  // The mock TSA stamps its clock's time with milliseconds, which DER writes without trailing zeros
  // (".5Z"), and @sigstore/core reads only three digits: it stamps a whole second, set per request.
  const tsaClock = new Date();
  const tsa = withTSA ? await initializeTSA(tsaKeys, tsaClock) : undefined;
  const requests: SigstoreRequest[] = [];

  const httpServer = http.createServer();
  const url = `http://127.0.0.1:${await listenOnLoopback(httpServer)}`;
  const tlog = await initializeTLog(url, tlogKeys);
  const rekor = rekorHandler(tlog);
  const timestamp = tsa === undefined ? undefined : tsaHandler(tsa);

  const issueCertificate: HandlerFn = async (body) => {
    try {
      const request = JSON.parse(body) as {
        credentials?: { oidcIdentityToken?: string };
        publicKeyRequest?: { publicKey?: { content?: string }; proofOfPossession?: string };
      };
      const token = request.credentials?.oidcIdentityToken ?? '';
      const payload = JSON.parse(
        Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}',
      );
      const issuer = options.issuers.find((i) => i.issuer === payload.iss);
      if (issuer === undefined)
        throw new Refusal(401, `issuer ${JSON.stringify(payload.iss)} is not trusted`);
      const claims = verifiedClaims(token, issuer.publicKey);
      if (claims === undefined) throw new Refusal(401, 'the identity token signature does not verify');
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!audiences.includes('sigstore'))
        throw new Refusal(401, 'the identity token is not for audience sigstore');
      if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now())
        throw new Refusal(401, 'the identity token has expired');
      const subject = typeof claims.email === 'string' ? claims.email : String(claims.sub ?? '');
      const keyPem = request.publicKeyRequest?.publicKey?.content ?? '';
      const publicKey = createPublicKey(keyPem);
      const proof = Buffer.from(request.publicKeyRequest?.proofOfPossession ?? '', 'base64');
      if (!verify('sha256', Buffer.from(subject), publicKey, proof)) {
        throw new Refusal(400, 'the proof of possession does not verify with the public key');
      }
      const san =
        typeof claims.job_workflow_ref === 'string' ? `${server}/${claims.job_workflow_ref}` : subject;
      const leaf = await (await ca).issueCertificate({
        publicKey: publicKey.export({ type: 'spki', format: 'der' }),
        subjectAltName: san,
        extensions: fulcioExtensions(claims, server),
      });
      requests.push({ service: 'fulcio', status: 201, detail: san });
      const chain = [pem(leaf), pem(firstCA.rootCertificate)];
      return {
        statusCode: 201,
        contentType: 'application/json',
        response: JSON.stringify({ signedCertificateEmbeddedSct: { chain: { certificates: chain } } }),
      };
    } catch (error) {
      const status = error instanceof Refusal ? error.status : 400;
      requests.push({ service: 'fulcio', status, detail: (error as Error).message });
      return {
        statusCode: status,
        response: JSON.stringify({ code: status, message: (error as Error).message }),
      };
    }
  };

  const routes: Record<string, { service: SigstoreRequest['service']; fn: HandlerFn }> = {
    '/api/v2/signingCert': { service: 'fulcio', fn: issueCertificate },
    [rekor.path]: { service: 'rekor', fn: rekor.fn },
    ...(timestamp === undefined ? {} : { [timestamp.path]: { service: 'tsa' as const, fn: timestamp.fn } }),
  };
  httpServer.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const route = routes[new URL(request.url ?? '/', url).pathname];
      if (route === undefined || request.method !== 'POST') {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: `no ${request.method} ${request.url} here` }));
        return;
      }
      // Rounded up: a stamp must not predate the certificate issued a moment before.
      if (route.service === 'tsa') tsaClock.setTime(Math.ceil(Date.now() / 1000) * 1000);
      const result = await route.fn(Buffer.concat(chunks).toString('utf8'));
      if (route.service !== 'fulcio') requests.push({ service: route.service, status: result.statusCode });
      response.writeHead(result.statusCode, {
        'content-type': result.contentType ?? 'application/json',
      });
      const body = result.response;
      response.end(
        typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      );
    });
  });

  // Trust from a day back, so a certificate issued "in the past" is judged by its own validity alone.
  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  const trustedRoot: Record<string, unknown> = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(tlog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: since },
        },
        logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(firstCA.rootCertificate) }] },
        validFor: { start: since },
      },
    ],
    ctlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(spki(ctKeys.publicKey)),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: since },
        },
        logId: { keyId: b64(ctLog.logID) },
      },
    ],
    timestampAuthorities:
      tsa === undefined
        ? []
        : [
            {
              subject: { organization: 'sigstore.mock', commonName: 'tsa' },
              uri: url,
              certChain: {
                certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }],
              },
              validFor: { start: since },
            },
          ],
  };
  const trustedRootPath = join(dir.path, 'trusted_root.json');
  await writeFile(trustedRootPath, JSON.stringify(trustedRoot, null, 2));
  // Rekor's integrated time has whole seconds: a signature in the CA's first second would predate its root.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));

  return {
    url,
    fulcioURL: url,
    rekorURL: url,
    ...(tsa === undefined ? {} : { tsaURL: url }),
    trustedRoot,
    trustedRootPath,
    setCertificateTime(time) {
      ca = time === undefined ? Promise.resolve(firstCA) : initializeCA(caKeys, ctLog, time);
    },
    requests: () => [...requests],
    async stop() {
      await new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      });
      await dir.remove();
    },
  };
}
