import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

/** An answer the proxy gives itself instead of asking the registry. */
export interface FaultResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** What the proxy does with a request a rule matches, after waiting `delayMs` if given. */
export interface Fault {
  method?: string;
  /** Tested against the path with its query, e.g. `/v2/team/app/manifests/v1`. */
  path: RegExp;
  /** How many matching requests the rule applies to; default 1. */
  times?: number;
  delayMs?: number;
  /** Answer this instead of asking the registry; a function answers each matching request on its own. */
  respond?: FaultResponse | ((request: { method: string; path: string }) => FaultResponse);
  /**
   * Destroy the client's connection without an answer: `before` the registry sees the request, or
   * `after` it has answered (the registry acted, the client never hears of it).
   */
  reset?: 'before' | 'after';
  /** Pass through, but hand the client these bytes instead of the registry's body. */
  rewriteBody?: (body: Buffer) => Buffer;
  /** Pass through, but change the registry's headers (lower-case names) on the way back. */
  rewriteHeaders?: (headers: http.IncomingHttpHeaders) => http.IncomingHttpHeaders;
}

export interface RecordedRequest {
  method: string;
  /** With the query. */
  path: string;
  /** What the client got: a status, or `reset`. */
  status: number | 'reset';
  /** True when a fault rule shaped the answer. */
  faulted: boolean;
  /** `Date.now()` when the request arrived. */
  at: number;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`: use it as the registry host; it speaks plain HTTP (or HTTPS with `tls`) whatever the registry speaks. */
  host: string;
  url: string;
  /** Queues a rule; the first rule that matches and has uses left applies. */
  fault(rule: Fault): void;
  /** Every request so far, oldest first. */
  requests(): RecordedRequest[];
  /** Forgets recorded requests and unused rules. */
  clear(): void;
  close(): Promise<void>;
}

/**
 * A reverse proxy on 127.0.0.1 in front of a registry (`upstream.url`, trusting `upstream.ca` for
 * HTTPS) that injects scripted faults. The registry is told the proxy's address through
 * `X-Forwarded-Host`/`-Proto`, so upload locations it hands out lead back through the proxy. With
 * `options.tls` (a server certificate for 127.0.0.1) the proxy itself speaks HTTPS.
 */
export async function startFaultProxy(
  upstream: { url: string; ca?: string },
  options: { tls?: { certPem: string; keyPem: string } } = {},
): Promise<FaultProxy> {
  const target = new URL(upstream.url);
  const secure = target.protocol === 'https:';
  const scheme = options.tls === undefined ? 'http' : 'https';
  let rules: { fault: Fault; left: number }[] = [];
  let recorded: RecordedRequest[] = [];
  let host = '';
  const delays = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        delays.delete(timer);
        resolve();
      }, ms);
      delays.add(timer);
    });

  const take = (method: string, path: string): Fault | undefined => {
    const rule = rules.find(
      (r) =>
        r.left > 0 && (r.fault.method === undefined || r.fault.method === method) && r.fault.path.test(path),
    );
    if (rule === undefined) return undefined;
    rule.left--;
    return rule.fault;
  };

  const forward = (request: http.IncomingMessage): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      const headers = {
        ...request.headers,
        host: target.host,
        'x-forwarded-host': host,
        'x-forwarded-proto': scheme,
      };
      const outgoing = (secure ? https : http).request(
        new URL(request.url ?? '/', target),
        { method: request.method, headers, agent: false, ...(secure ? { ca: upstream.ca } : {}) },
        resolve,
      );
      outgoing.on('error', reject);
      request.pipe(outgoing);
    });

  const handle = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    entry: RecordedRequest,
  ) => {
    const { method, path } = entry;
    const fault = take(method, path);
    entry.faulted = fault !== undefined;
    if (fault?.delayMs !== undefined) await sleep(fault.delayMs);

    if (fault?.reset === 'before') {
      request.socket.destroy();
      return;
    }
    if (fault?.respond !== undefined) {
      // Read what the client sent first, so it sees the answer rather than a broken pipe.
      request.resume();
      await new Promise((resolve) => request.on('end', resolve));
      const answer = typeof fault.respond === 'function' ? fault.respond({ method, path }) : fault.respond;
      const body = answer.body ?? '';
      response.writeHead(answer.status, {
        'content-length': String(Buffer.byteLength(body)),
        ...answer.headers,
      });
      response.end(body);
      entry.status = answer.status;
      return;
    }

    const answer = await forward(request);
    if (fault?.reset === 'after') {
      answer.resume();
      await new Promise((resolve) => answer.on('end', resolve));
      request.socket.destroy();
      return;
    }
    const headers = fault?.rewriteHeaders?.({ ...answer.headers }) ?? answer.headers;
    entry.status = answer.statusCode ?? 502;
    if (fault?.rewriteBody === undefined) {
      response.writeHead(entry.status, headers);
      answer.pipe(response);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    const body = fault.rewriteBody(Buffer.concat(chunks));
    response.writeHead(entry.status, { ...headers, 'content-length': String(body.length) });
    response.end(body);
  };

  const listener: http.RequestListener = (request, response) => {
    const entry: RecordedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      status: 'reset',
      faulted: false,
      at: Date.now(),
    };
    recorded.push(entry);
    handle(request, response, entry).catch((error: unknown) => {
      entry.status = 502;
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`fault proxy: ${(error as Error).message}`);
    });
  };
  const server =
    options.tls === undefined
      ? http.createServer(listener)
      : https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, listener);
  host = await listen(server);

  return {
    host,
    url: `${scheme}://${host}`,
    fault(rule) {
      rules.push({ fault: rule, left: rule.times ?? 1 });
    },
    requests: () => recorded.map((r) => ({ ...r })),
    clear() {
      rules = [];
      recorded = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        // A delayed request would otherwise hold the process open after its client gave up.
        for (const timer of delays) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Listens on a free port of 127.0.0.1 and returns `127.0.0.1:PORT`. */
async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export interface HostileRequest {
  method: string;
  /** With the query. */
  path: string;
  /** The Authorization header, when one came: the credentials the host could steal. */
  authorization?: string;
  /** For `/flood/…`: whether the whole flood was read (the client did not stop early). */
  drained?: boolean;
}

export interface HostileHost {
  /** `127.0.0.1:PORT`: another origin than any registry's, on plain HTTP. */
  host: string;
  url: string;
  /** The token service it names in its own challenges: `<url>/token`. */
  realm: string;
  /** Every request so far, oldest first. */
  requests(): HostileRequest[];
  /** Every Authorization header it was sent. */
  credentials(): string[];
  clear(): void;
  close(): Promise<void>;
}

/** How much `/flood/…` sends when nobody stops reading: far more than any descriptor in a test names. */
export const FLOOD_BYTES = 64 * 1024 * 1024;

/**
 * A host a hostile registry, storage backend or rewritten answer can point a client at. It records
 * every request with its Authorization header and answers like a thief would:
 * - `/token…`: a token for whatever credentials came (a token service that collects passwords);
 * - `/flood/…`: 200 and zero bytes without end (up to `FLOOD_BYTES`), for a client that reads whatever it is given;
 * - anything else: 401 with a Bearer challenge naming its own token service (`realm`).
 */
export async function startHostileHost(): Promise<HostileHost> {
  let recorded: HostileRequest[] = [];
  let realm = '';
  const server = http.createServer((request, response) => {
    const entry: HostileRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      ...(request.headers.authorization === undefined
        ? {}
        : { authorization: request.headers.authorization }),
    };
    recorded.push(entry);
    request.resume();
    if (entry.path.startsWith('/token')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ token: 'hostile-token', access_token: 'hostile-token', expires_in: 300 }),
      );
      return;
    }
    if (entry.path.startsWith('/flood/')) {
      entry.drained = false;
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      flood(response, entry);
      return;
    }
    response.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer realm="${realm}",service="hostile"`,
    });
    response.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
  });
  const host = await listen(server);
  realm = `http://${host}/token`;
  return {
    host,
    url: `http://${host}`,
    realm,
    requests: () => recorded.map((r) => ({ ...r })),
    credentials: () => recorded.flatMap((r) => (r.authorization === undefined ? [] : [r.authorization])),
    clear() {
      recorded = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes zeros as fast as the client reads them, until FLOOD_BYTES are out or the client goes away. */
function flood(response: http.ServerResponse, entry: HostileRequest): void {
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  let gone = false;
  response.on('close', () => {
    gone = true;
  });
  const more = () => {
    while (!gone && sent < FLOOD_BYTES) {
      sent += chunk.length;
      if (!response.write(chunk)) {
        response.once('drain', more);
        return;
      }
    }
    if (!gone) {
      entry.drained = true;
      response.end();
    }
  };
  more();
}
