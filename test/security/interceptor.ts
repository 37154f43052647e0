import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the interceptor does with a request a rule matches. */
export interface Interception {
  method?: string;
  /** Tested against the path with its query. */
  path: RegExp;
  /** How many matching requests the rule applies to; default 1. */
  times?: number;
  /** Runs before the request goes on (or is answered): another writer acting at exactly that moment. */
  before?: () => Promise<void>;
  /** Answer this instead of passing the request on. */
  respond?: { status: number; headers?: Record<string, string>; body?: string };
}

export interface Interceptor {
  /** `127.0.0.1:PORT`. */
  host: string;
  url: string;
  intercept(rule: Interception): void;
  close(): Promise<void>;
}

/**
 * A plain-HTTP front on 127.0.0.1 that passes every request on to `upstream` (a registry, or another
 * front such as the fault proxy) and lets a test act at the moment a chosen request arrives: another
 * writer moving a tag while this one is between two steps.
 */
export async function startInterceptor(upstream: string): Promise<Interceptor> {
  let rules: { rule: Interception; left: number }[] = [];

  const take = (method: string, path: string): Interception | undefined => {
    const found = rules.find(
      (r) =>
        r.left > 0 && (r.rule.method === undefined || r.rule.method === method) && r.rule.path.test(path),
    );
    if (found === undefined) return undefined;
    found.left--;
    return found.rule;
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    const rule = take(method, path);
    await rule?.before?.();
    if (rule?.respond !== undefined) {
      request.resume();
      await new Promise((resolve) => request.on('end', resolve));
      const answer = rule.respond;
      const body = answer.body ?? '';
      response.writeHead(answer.status, {
        'content-length': String(Buffer.byteLength(body)),
        ...answer.headers,
      });
      response.end(body);
      return;
    }
    const target = new URL(path, upstream);
    const forwarded = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const outgoing = http.request(
        target,
        { method, headers: { ...request.headers, host: target.host }, agent: false },
        resolve,
      );
      outgoing.on('error', reject);
      request.pipe(outgoing);
    });
    response.writeHead(forwarded.statusCode ?? 502, forwarded.headers);
    forwarded.pipe(response);
  };

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`interceptor: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    intercept(rule) {
      rules.push({ rule, left: rule.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        rules = [];
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
