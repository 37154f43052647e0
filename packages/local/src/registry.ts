import { createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import {
  type CertificateFiles,
  createCertificateAuthority,
  createServerCertificate,
  issueCertificate,
} from './tls.js';
import { freePort, listenOnLoopback, makeTempDir, type Service, startService, waitUntil } from './util.js';

export type RegistryMode = 'open' | 'basic' | 'token';

/** One request the token issuer answered with a token. */
export interface TokenRequest {
  /** Absent for an anonymous request (no Basic credentials). */
  username?: string;
  /** The `scope` parameters as sent, e.g. `repository:team/app:pull,push`. */
  scope: string[];
}

export interface Credentials {
  username: string;
  password: string;
}

export interface LocalRegistry {
  mode: RegistryMode;
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  tls: boolean;
  /** The registry's own temporary directory (config, storage, certificates); gone after stop(). */
  dir: string;
  /** basic and token modes: a user allowed to push and pull. */
  username?: string;
  password?: string;
  /**
   * basic and token modes: a second user. In token mode it is only ever granted `pull`; htpasswd has
   * no authorization, so in basic mode it can push like the main user.
   */
  readOnlyUser?: Credentials;
  /** With tls: the CA that signed the server certificate (and, in token mode, the issuer's). */
  caCertPem?: string;
  caCertPath?: string;
  /** With tls: a directory holding only `ca.crt`, for `skopeo`/`buildah --cert-dir`. */
  certDir?: string;
  /** token mode: the token endpoint, as announced in the registry's `WWW-Authenticate` challenge. */
  tokenRealm?: string;
  /** token mode: the `service` the registry announces and the token's audience. */
  tokenService?: string;
  /** token mode: every request the issuer answered with a token, oldest first. */
  tokenRequests?(): TokenRequest[];
  /** The registry's stdout and stderr so far (and in token mode the issuer's refusals). */
  log(): string;
  /** Stops the processes and removes the temporary directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RegistryOptions {
  mode?: RegistryMode;
  /** Defaults to true for `basic`, false otherwise. */
  tls?: boolean;
}

const tokenService = 'digestline-test-registry';
const tokenIssuer = 'digestline-test-token-issuer';
const tokenLifetimeSeconds = 300;
/** Go's bcrypt minimum: the registry checks the hash on every request, so keep it cheap. */
const bcryptCost = 4;

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One HTTP(S) request without connection reuse. Unlike `fetch` it can trust a test CA (`ca`),
 * which is what a TLS test registry needs.
 */
export function httpRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    ca?: string;
    timeoutMs?: number;
  } = {},
): Promise<HttpResponse> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const requestOptions: https.RequestOptions = {
    method: options.method ?? 'GET',
    headers: {
      ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
      ...options.headers,
    },
    agent: false,
    timeout: options.timeoutMs ?? 10_000,
    ...(secure && options.ca !== undefined ? { ca: options.ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(target, requestOptions, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    });
    request.on('timeout', () => request.destroy(new Error(`${requestOptions.method} ${url} timed out`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

interface TokenIssuer {
  realm: string;
  requests(): TokenRequest[];
  log(): string;
  close(): Promise<void>;
}

export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** `repository:team/app:pull,push` → type, name, actions. Names may contain `:` (a host with a port). */
function parseScope(scope: string): TokenAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((action) => action !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function parseBasic(header: string | undefined): Credentials | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * A compact ES256 JWS whose header carries the signing certificate (`x5c`), the form distribution
 * 2.8 checks against its `rootcertbundle`. Exported so tests can forge tokens the registry must refuse.
 */
export function signToken(claims: Record<string, unknown>, signing: CertificateFiles): string {
  const header = { typ: 'JWT', alg: 'ES256', x5c: [signing.certDer.toString('base64')] };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  // JWS wants the raw r||s form of an ECDSA signature, not Node's default DER.
  const signature = sign('sha256', Buffer.from(signingInput), {
    key: createPrivateKey(signing.keyPem),
    dsaEncoding: 'ieee-p1363',
  });
  return `${signingInput}.${base64url(signature)}`;
}

/**
 * A token issuer speaking the Docker token protocol (GET realm?service=…&scope=…, HTTP Basic).
 * Distribution 2.8 trusts a token whose JWT header carries an `x5c` chain ending in its
 * `rootcertbundle`, so the issuer signs ES256 with a certificate from the token CA and sends it along.
 */
async function startTokenIssuer(options: {
  signing: CertificateFiles;
  users: { full: Credentials; readOnly: Credentials };
  tls?: CertificateFiles;
}): Promise<TokenIssuer> {
  const issued: TokenRequest[] = [];
  const refusals: string[] = [];

  const grant = (user: string | undefined, requested: TokenAccess): TokenAccess | undefined => {
    let actions: string[] = [];
    if (user === options.users.full.username) actions = requested.actions;
    else if (user === options.users.readOnly.username)
      actions = requested.actions.filter((a) => a === 'pull');
    return actions.length > 0 ? { ...requested, actions } : undefined;
  };

  const handler: http.RequestListener = (request, response) => {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token' || request.method !== 'GET') {
      refusals.push(`token issuer: 404 for ${request.method} ${url.pathname}`);
      reply(404, { details: 'only GET /token is served' });
      return;
    }
    const service = url.searchParams.get('service');
    if (service !== tokenService) {
      refusals.push(`token issuer: 400 for service ${JSON.stringify(service)}`);
      reply(400, { details: `unknown service ${JSON.stringify(service)}, expected ${tokenService}` });
      return;
    }
    let username: string | undefined;
    if (request.headers.authorization !== undefined) {
      const credentials = parseBasic(request.headers.authorization);
      const known = [options.users.full, options.users.readOnly].find(
        (user) => user.username === credentials?.username && user.password === credentials?.password,
      );
      if (known === undefined) {
        refusals.push(
          `token issuer: 401 for user ${JSON.stringify(credentials?.username ?? '(unreadable)')}`,
        );
        reply(
          401,
          { details: 'incorrect username or password' },
          { 'www-authenticate': 'Basic realm="token"' },
        );
        return;
      }
      username = known.username;
    }
    // Clients either repeat `scope` or, in older releases, put several in one, separated by spaces.
    const scope = url.searchParams.getAll('scope').flatMap((value) => value.split(' ').filter(Boolean));
    const access = scope.flatMap((s) => {
      const requested = parseScope(s);
      const granted = requested === undefined ? undefined : grant(username, requested);
      return granted === undefined ? [] : [granted];
    });

    const now = Math.floor(Date.now() / 1000);
    const token = signToken(tokenClaims(username ?? '', access, now), options.signing);
    issued.push(username === undefined ? { scope } : { username, scope });
    reply(200, {
      token,
      access_token: token,
      expires_in: tokenLifetimeSeconds,
      issued_at: new Date(now * 1000).toISOString(),
    });
  };

  const server =
    options.tls === undefined
      ? http.createServer(handler)
      : https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler);
  const port = await listenOnLoopback(server);
  return {
    realm: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/token`,
    requests: () => issued.map((r) => ({ ...r, scope: [...r.scope] })),
    log: () => refusals.map((line) => `${line}\n`).join(''),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The claims distribution checks: issuer, audience (its service), time window, and the grants. */
export function tokenClaims(subject: string, access: TokenAccess[], now = Math.floor(Date.now() / 1000)) {
  return {
    iss: tokenIssuer,
    sub: subject,
    aud: tokenService,
    exp: now + tokenLifetimeSeconds,
    // A little slack in case the registry's clock reads a hair behind ours.
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access,
  };
}

/** The token CA (the registry's `rootcertbundle`) and the issuer's signing certificate under it. */
async function createTokenSigningCertificate(dir: string) {
  const ca = await createCertificateAuthority(dir, 'token-ca', 'digestline test token CA');
  const signing = await issueCertificate(ca, dir, {
    name: 'token-signing',
    commonName: 'digestline test token signer',
    kind: 'signing',
  });
  return { ca, signing };
}

function newUser(name: string): Credentials {
  return { username: name, password: randomBytes(12).toString('hex') };
}

/** How many times to pick a new port when the registry could not bind (another process took it). */
const startAttempts = 3;

/**
 * Starts a CNCF distribution registry on 127.0.0.1 with its own temporary directory.
 * `open`: no auth. `basic`: htpasswd (bcrypt) users, TLS by default. `token`: Docker token auth
 * with a token issuer in this process.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<LocalRegistry> {
  const mode = options.mode ?? 'open';
  const tls = options.tls ?? mode === 'basic';
  const temp = await makeTempDir(`registry-${mode}`);
  let service: Service | undefined;
  let issuer: TokenIssuer | undefined;
  const cleanUp = async () => {
    await Promise.all([service?.stop(), issuer?.close()]);
    await temp.remove();
  };

  try {
    const storage = join(temp.path, 'storage');
    const tlsDir = join(temp.path, 'tls');
    const certDir = join(temp.path, 'certs');
    await Promise.all([mkdir(storage), mkdir(tlsDir), mkdir(certDir)]);

    const config: Record<string, unknown> = {
      version: 0.1,
      // info: the readiness check waits for the "listening on" line.
      log: { level: 'info' },
      storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    };
    const httpConfig: Record<string, unknown> = { secret: randomBytes(16).toString('hex') };
    const registry: Partial<LocalRegistry> = { mode, tls, dir: temp.path };

    // The two certificate chains are independent: make them side by side.
    const [certs, tokenKeys] = await Promise.all([
      tls ? createServerCertificate(tlsDir) : undefined,
      mode === 'token' ? createTokenSigningCertificate(tlsDir) : undefined,
    ]);
    if (certs !== undefined) {
      await writeFile(join(certDir, 'ca.crt'), certs.ca.certPem);
      httpConfig.tls = { certificate: certs.server.certPath, key: certs.server.keyPath };
      Object.assign(registry, { caCertPem: certs.ca.certPem, caCertPath: certs.ca.certPath, certDir });
    }

    if (mode !== 'open') {
      const full = newUser('pusher');
      const readOnly = newUser('puller');
      Object.assign(registry, { username: full.username, password: full.password, readOnlyUser: readOnly });
      if (mode === 'basic') {
        const htpasswd = join(temp.path, 'htpasswd');
        const lines = [full, readOnly].map(
          (u) => `${u.username}:${bcrypt.hashSync(u.password, bcryptCost)}\n`,
        );
        await writeFile(htpasswd, lines.join(''));
        config.auth = { htpasswd: { realm: 'digestline-test', path: htpasswd } };
      } else if (tokenKeys !== undefined) {
        issuer = await startTokenIssuer({
          signing: tokenKeys.signing,
          users: { full, readOnly },
          tls: certs?.server,
        });
        config.auth = {
          token: {
            realm: issuer.realm,
            service: tokenService,
            issuer: tokenIssuer,
            rootcertbundle: tokenKeys.ca.certPath,
          },
        };
        const tokenIssuerRef = issuer;
        Object.assign(registry, {
          tokenRealm: issuer.realm,
          tokenService,
          tokenRequests: () => tokenIssuerRef.requests(),
        });
      }
    }

    const configPath = join(temp.path, 'config.yml');
    const readyStatus = mode === 'open' ? 200 : 401;
    const scheme = tls ? 'https' : 'http';
    let earlierLogs = '';
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      await writeFile(configPath, stringify({ ...config, http: { ...httpConfig, addr: host } }));
      const current = startService('docker-registry', ['serve', configPath]);
      service = current;
      let exited = false;
      let spawnError = '';
      current.process.once('exit', () => {
        exited = true;
      });
      // Without a listener a failed spawn (docker-registry not installed) would crash the test run.
      current.process.once('error', (error) => {
        exited = true;
        spawnError = `could not start docker-registry: ${error.message}\n`;
      });
      await waitUntil(`registry (${mode}) on ${host}`, async () => {
        // An exited process will never answer: stop polling and decide below.
        if (exited) return true;
        // Logged (at level info) only once the port is bound: without it, whatever answers on this
        // port is some other process that took it between freePort() and our bind.
        if (!current.log().includes(`listening on ${host}`)) return false;
        const response = await httpRequest(`${scheme}://${host}/v2/`, {
          ca: certs?.ca.certPem,
          timeoutMs: 2_000,
        });
        if (response.status !== readyStatus) {
          throw new Error(`GET /v2/ answered ${response.status}, expected ${readyStatus}`);
        }
        return true;
      }).catch(async (error: unknown) => {
        throw new Error(`${(error as Error).message}\n--- registry log ---\n${current.log()}`, {
          cause: error,
        });
      });
      if (!exited) {
        Object.assign(registry, { host, url: `${scheme}://${host}` });
        break;
      }
      earlierLogs += `--- attempt ${attempt} on ${host} ---\n${spawnError}${current.log()}`;
      if (attempt >= startAttempts) {
        throw new Error(`registry (${mode}) exited before it was ready, ${attempt} times:\n${earlierLogs}`);
      }
    }

    const running = service;
    const issuerLog = issuer?.log ?? (() => '');
    let stopped: Promise<void> | undefined;
    return {
      ...(registry as LocalRegistry),
      log: () => `${earlierLogs}${running.log()}${issuerLog()}`,
      stop: () => {
        stopped ??= cleanUp();
        return stopped;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
