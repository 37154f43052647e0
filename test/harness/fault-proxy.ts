import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

/** What the proxy does with a request a rule matches, after waiting `delayMs` if given. */
export interface Fault {
  method?: string;
  /** Tested against the path with its query, e.g. `/v2/team/app/manifests/v1`. */
  path: RegExp;
  /** How many matching requests the rule applies to; default 1. */
  times?: number;
  delayMs?: number;
  /** Answer this instead of asking the registry. */
  respond?: { status: number; headers?: Record<string, string>; body?: string | Buffer };
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
  /** `127.0.0.1:PORT`: use it as the registry host; it speaks plain HTTP whatever the registry speaks. */
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
 * `X-Forwarded-Host`/`-Proto`, so upload locations it hands out lead back through the proxy.
 */
export async function startFaultProxy(upstream: { url: string; ca?: string }): Promise<FaultProxy> {
  const target = new URL(upstream.url);
  const secure = target.protocol === 'https:';
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
        'x-forwarded-proto': 'http',
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
      const body = fault.respond.body ?? '';
      response.writeHead(fault.respond.status, {
        'content-length': String(Buffer.byteLength(body)),
        ...fault.respond.headers,
      });
      response.end(body);
      entry.status = fault.respond.status;
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

  const server = http.createServer((request, response) => {
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    host,
    url: `http://${host}`,
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
