import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '@digestline/local';
import { allows, type Permissions, requiredPermission } from './permissions.js';

/** A call the gate refused, for the test to assert on. */
export interface Refusal {
  job: string;
  method: string;
  path: string;
  reason: string;
}

export interface TokenGate {
  /** What GITHUB_API_URL is set to in every job. */
  url: string;
  /** A fresh token for one job, holding exactly `permissions`. */
  issue(job: string, permissions: Permissions): string;
  /** Ends a token when its job ends, as GitHub does. */
  revoke(token: string): void;
  refusals: Refusal[];
  close(): Promise<void>;
}

/**
 * Stands between the jobs and the GitHub API (the fixture server in tests): each job's token carries
 * the job's `permissions:`, and a call the token was not granted is refused with GitHub's 403 before it
 * reaches the API. Granted calls are forwarded with the upstream's own token.
 */
export async function startTokenGate(upstream: { url: string; token: string }): Promise<TokenGate> {
  const tokens = new Map<string, { job: string; permissions: Permissions }>();
  const refusals: Refusal[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://gate');
    const method = (request.method ?? 'GET').toUpperCase();
    const presented = /^(?:token|bearer)\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const holder = presented === undefined ? undefined : tokens.get(presented);
    const refuse = (status: number, reason: string, message: string) => {
      refusals.push({ job: holder?.job ?? '(no job)', method, path: url.pathname, reason });
      send(response, status, { message, documentation_url: 'https://docs.github.com/rest' });
    };
    if (holder === undefined) {
      refuse(401, presented === undefined ? 'no token' : 'unknown or revoked token', 'Bad credentials');
      return;
    }
    const needed = requiredPermission(method, url.pathname);
    if (needed === undefined) {
      refuse(
        403,
        `no permission is known for ${method} ${url.pathname}; add the endpoint to requiredPermission()`,
        'Resource not accessible by integration',
      );
      return;
    }
    if (!allows(holder.permissions, needed.scope, needed.level)) {
      refuse(
        403,
        `needs ${needed.scope}: ${needed.level}, the job grants ${holder.permissions[needed.scope] ?? 'none'}`,
        'Resource not accessible by integration',
      );
      return;
    }
    const body = await readBody(request);
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers))
      if (value !== undefined && !['host', 'authorization', 'connection', 'content-length'].includes(name))
        headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    headers.set('authorization', `token ${upstream.token}`);
    const answer = await fetch(`${upstream.url}${url.pathname}${url.search}`, {
      method,
      headers,
      body: body.length > 0 ? new Uint8Array(body) : undefined,
    });
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name))
        out[name] = value;
    });
    response.writeHead(answer.status, out);
    response.end(Buffer.from(await answer.arrayBuffer()));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 502, { message: `token gate: ${String(error)}` });
      else response.end();
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    refusals,
    issue(job, permissions) {
      const token = `ghs_${randomBytes(18).toString('hex')}`;
      tokens.set(token, { job, permissions });
      return token;
    },
    revoke(token) {
      tokens.delete(token);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
