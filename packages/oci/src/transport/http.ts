import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';

type IncomingHttpHeaders = http.IncomingHttpHeaders;
export type ResponseBody = http.IncomingMessage;

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
  /** Where the answer came from after redirects. */
  url: URL;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

/** Registries send blobs from object storage (S3, GCS, a CDN) through a redirect. */
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A socket silent this long is dead; a large blob may take long as a whole as long as bytes keep flowing. */
const IDLE_TIMEOUT_MS = 60_000;

/** Host without port: `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `::1`. */
function hostName(hostAndPort: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(hostAndPort);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  return hostAndPort.replace(/:\d+$/, '');
}

export function isLoopback(hostAndPort: string): boolean {
  const host = hostName(hostAndPort).toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export interface SchemeOptions {
  tls?: boolean;
  insecure?: boolean;
}

/**
 * HTTPS unless the registry is on this machine or the caller explicitly allowed plain HTTP: a
 * registry on the network must never see credentials or serve manifests over a readable channel.
 */
export function registryOrigin(endpointHost: string, options: SchemeOptions): URL {
  const plain = options.tls !== true && (isLoopback(endpointHost) || options.insecure === true);
  return new URL(`${plain ? 'http' : 'https'}://${endpointHost}`);
}

/** A plain-HTTP URL is acceptable only where the registry itself may be plain HTTP. */
export function allowsPlainHttp(url: URL, options: SchemeOptions): boolean {
  return url.protocol === 'https:' || isLoopback(url.host) || options.insecure === true;
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * One keep-alive connection pool per client, trusting the system CAs plus the caller's own.
 * Node's http rather than undici: undici closes the connection after every HEAD, and a copy
 * asks HEAD for every blob — over TLS that is a handshake per blob.
 */
export class HttpTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent: https.Agent;
  private readonly userAgent: string;

  constructor(options: { ca?: string | Buffer; userAgent: string }) {
    this.userAgent = options.userAgent;
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      // Giving Node a `ca` replaces its trust store: keep the public roots so a registry whose
      // token service sits on a public host still verifies.
      ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca.toString()] }),
    });
  }

  async send(input: HttpRequest): Promise<HttpResponse> {
    let url = input.url;
    let headers: Record<string, string> = { 'user-agent': this.userAgent, ...input.headers };
    for (let redirects = 0; ; redirects++) {
      const response = await this.exchange({ ...input, url, headers });
      const location = header(response.headers, 'location');
      const follow = (input.method === 'GET' || input.method === 'HEAD') && REDIRECTS.has(response.status);
      if (!follow || location === undefined || redirects >= MAX_REDIRECTS) return response;
      response.body.resume();
      const next = new URL(location, url);
      // The registry's credentials are for the registry: a storage backend gets a signed URL instead.
      if (next.origin !== url.origin) {
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      }
      url = next;
    }
  }

  close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    return Promise.resolve();
  }

  private exchange(input: HttpRequest & { headers: Record<string, string> }): Promise<HttpResponse> {
    const { url, body } = input;
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        url,
        {
          method: input.method,
          headers: Buffer.isBuffer(body)
            ? { ...input.headers, 'content-length': String(body.length) }
            : input.headers,
          agent: secure ? this.httpsAgent : this.httpAgent,
          signal: input.signal,
          timeout: IDLE_TIMEOUT_MS,
        },
        (response) =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response, url }),
      );
      request.on('timeout', () => {
        const error = new Error(`no data from ${url.host} for ${IDLE_TIMEOUT_MS / 1000} s`);
        request.destroy(Object.assign(error, { code: 'ETIMEDOUT' }));
      });
      request.on('error', reject);
      if (body === undefined || Buffer.isBuffer(body)) {
        request.end(body);
        return;
      }
      // A failing source fails the request; a request that ends early releases the source.
      body.on('error', (error) => request.destroy(error));
      request.on('close', () => {
        if (!body.readableEnded) body.destroy();
      });
      body.pipe(request);
    });
  }
}

/** A body that ran past the most bytes its reader would take; `code` lets the requester say whose bound it was. */
export class BodyTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`the response is larger than ${limit} bytes`);
  }
}

/**
 * Reads a whole body, refusing more than `limit` bytes so a hostile server cannot exhaust memory: the
 * connection is dropped as soon as the body runs past it.
 */
export async function readBody(body: ResponseBody, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * The `code`s of an error and its causes. Duck-typed: errors from Node's own modules can come from
 * another realm (a test sandbox, a bundle), where `instanceof Error` is false.
 */
export function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    current = cause;
  }
  return codes;
}

/** A dropped or refused connection, or a stalled socket: worth another try for an idempotent request. */
export function isTransientNetworkError(error: unknown): boolean {
  return errorCodes(error).some((code) => TRANSIENT_CODES.has(code));
}
