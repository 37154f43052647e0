import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv';
import ajvFormats from 'ajv-formats';
import { OpenAPIBackend, type Operation } from 'openapi-backend';
import { listenOnLoopback } from './util.js';

/** A request the fixture accepted, as the test sees it: header names lower-cased, JSON bodies parsed. */
export interface RecordedRequest {
  operationId: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body: unknown;
}

export interface FixtureResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface GitHubFixture {
  /** http://127.0.0.1:PORT — what GITHUB_API_URL is set to. */
  url: string;
  /**
   * Registers the answer for the next matching request to `operationId`; `times` defaults to 1.
   * Throws now if the operation is unknown or `response` does not match the operation's documented
   * response for that status; a function response is checked when it is called.
   */
  on(
    operationId: string,
    response: FixtureResponse | ((req: RecordedRequest) => FixtureResponse),
    options?: { times?: number; when?: (req: RecordedRequest) => boolean },
  ): void;
  /** Every request that was valid and answered with a registered response. */
  requests: RecordedRequest[];
  /** Every rejected or unexpected request, human readable. */
  problems: string[];
  /**
   * Throws with all problems and every registered response that was never used, then forgets both,
   * so a fixture shared by several tests reports each test's mistakes once.
   */
  assertDone(): void;
  stop(): Promise<void>;
}

const DOCUMENTATION_URL = 'https://docs.github.com/rest';

let description: Promise<OpenAPIBackend> | undefined;

/** Parsing and dereferencing the 13 MB description is the slow part, so every fixture in a process shares it. */
function loadDescription(): Promise<OpenAPIBackend> {
  description ??= (async () => {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    const definition = JSON.parse(await readFile(file, 'utf8'));
    allowNullWithoutType(definition);
    const api = new OpenAPIBackend({
      definition,
      // Validators are compiled on first use of an operation instead of all ~1100 up front.
      quick: true,
      ajvOpts: { allErrors: true },
      customizeAjv: (ajv) => {
        // ajv-formats ships CommonJS with an `exports.default` that TypeScript's NodeNext view does not unwrap.
        (ajvFormats as unknown as typeof ajvFormats.default)(ajv);
        // Formats GitHub invented: declared so Ajv knows them, not checked.
        ajv.addFormat('repo.nwo', true);
        ajv.addFormat('timestamp', true);
        return ajv;
      },
    });
    return api.init();
  })();
  return description;
}

const ANNOTATIONS = new Set([
  'title',
  'description',
  'example',
  'examples',
  'readOnly',
  'writeOnly',
  'deprecated',
]);

/**
 * GitHub marks about 135 schemas `nullable: true` without a `type` (e.g. issues/create's `milestone`, a
 * `oneOf`). OpenAPI 3.0.3 gives that no meaning and Ajv refuses to compile it, but GitHub means "or null"
 * and accepts null there, so it is rewritten as `anyOf: [null, the schema]`.
 */
function allowNullWithoutType(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    for (const item of node) allowNullWithoutType(item);
    return;
  }
  const schema = node as Record<string, unknown>;
  // for-in rather than Object.entries: this visits every node of the 13 MB description, and is 10x faster.
  for (const key in schema) {
    if (key !== 'example' && key !== 'examples') allowNullWithoutType(schema[key]);
  }
  if (schema.nullable !== true || 'type' in schema) return;
  delete schema.nullable;
  const constraints: Record<string, unknown> = {};
  for (const key of Object.keys(schema)) {
    if (ANNOTATIONS.has(key) || key.startsWith('x-')) continue;
    constraints[key] = schema[key];
    delete schema[key];
  }
  if (Object.keys(constraints).length > 0) schema.anyOf = [{ type: 'null' }, constraints];
}

interface Expectation {
  operationId: string;
  response: FixtureResponse | ((req: RecordedRequest) => FixtureResponse);
  remaining: number;
  registered: number;
  when?: (req: RecordedRequest) => boolean;
}

export interface GitHubOptions {
  /** The token every request must present (`token <t>` or `Bearer <t>`); any when undefined. */
  token?: string;
  /**
   * What a valid request with no registered response gets: `refuse` (a test's default: it is a problem)
   * or `example` (the demo's: the response GitHub's description documents for the operation, recorded).
   */
  unregistered?: 'refuse' | 'example';
}

export async function startGitHub(options: GitHubOptions = {}): Promise<GitHubFixture> {
  const api = await loadDescription();
  const expectations: Expectation[] = [];
  const requests: RecordedRequest[] = [];
  const problems: string[] = [];

  const operation = (operationId: string): Operation => {
    const found = api.router.getOperation(operationId);
    if (!found) {
      throw new Error(
        `GitHub fixture: "${operationId}" is not an operationId in GitHub's REST description (e.g. "issues/create")`,
      );
    }
    return found;
  };

  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    const raw = await readBody(incoming);
    const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
    const method = (incoming.method ?? 'GET').toUpperCase();
    const headers = flattenHeaders(incoming);
    const label = `${method} ${url.pathname}${url.search}`;
    const reject = (status: number, problem: string, body: Record<string, unknown>) => {
      problems.push(`${label}: ${problem}`);
      send(outgoing, {
        status,
        body: { ...body, documentation_url: DOCUMENTATION_URL, status: String(status) },
      });
    };

    if (options.token !== undefined) {
      const presented = /^(?:token|bearer)\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
      if (presented !== options.token) {
        const why = headers.authorization === undefined ? 'no Authorization header' : 'wrong credentials';
        reject(401, `401 ${why} (expected "token <token>" or "Bearer <token>")`, {
          message: headers.authorization === undefined ? 'Requires authentication' : 'Bad credentials',
        });
        return;
      }
    }

    const request = { method, path: url.pathname, query: url.search.slice(1), headers };
    const matched = api.router.matchOperation(request);
    if (!matched) {
      reject(404, '404 no operation in GitHub REST description matches this method and path', {
        message: 'Not Found',
      });
      return;
    }
    const operationId = matched.operationId as string;

    let body: unknown = raw.length > 0 ? raw : undefined;
    if (raw.length > 0 && takesJson(matched)) {
      try {
        body = JSON.parse(raw);
      } catch (error) {
        reject(400, `400 (${operationId}) body is not JSON: ${(error as Error).message}`, {
          message: 'Problems parsing JSON',
        });
        return;
      }
    }

    const validation = api.validator.validateRequest({ ...request, body }, matched);
    if (!validation.valid) {
      const errors = validation.errors ?? [];
      reject(
        422,
        `422 (${operationId}) request rejected: ${errors.map((error) => describeError(error)).join('; ')}`,
        {
          message: 'Validation Failed',
          errors: errors.map(toGitHubError),
        },
      );
      return;
    }

    const recorded: RecordedRequest = {
      operationId,
      method,
      path: url.pathname,
      query: queryRecord(url.searchParams),
      headers,
      body,
    };
    let declined = 0;
    let chosen: Expectation | undefined;
    try {
      chosen = expectations.find((expectation) => {
        if (expectation.operationId !== operationId || expectation.remaining === 0) return false;
        if (expectation.when === undefined || expectation.when(recorded)) return true;
        declined += 1;
        return false;
      });
    } catch (error) {
      reject(500, `500 (${operationId}) a \`when\` predicate threw: ${(error as Error).message}`, {
        message: 'Server Error',
      });
      return;
    }
    if (!chosen && options.unregistered === 'example') {
      const example = api.mockResponseForOperation(operationId);
      requests.push(recorded);
      send(outgoing, { status: example.status, body: example.mock });
      return;
    }
    if (!chosen) {
      const because = declined > 0 ? ` (${declined} registered with \`when\` did not match)` : '';
      reject(500, `500 unexpected request to ${operationId}: no registered response left${because}`, {
        message: `GitHub fixture: no response registered for ${operationId}`,
      });
      return;
    }
    chosen.remaining -= 1;

    let response: FixtureResponse;
    try {
      response = typeof chosen.response === 'function' ? chosen.response(recorded) : chosen.response;
    } catch (error) {
      reject(500, `500 (${operationId}) the response function threw: ${(error as Error).message}`, {
        message: 'Server Error',
      });
      return;
    }
    if (typeof chosen.response === 'function') {
      const mismatch = checkResponse(api, matched, response);
      if (mismatch.length > 0) {
        reject(500, `500 (${operationId}) the response function returned ${mismatch.join('; ')}`, {
          message: 'Server Error',
        });
        return;
      }
    }
    requests.push(recorded);
    send(outgoing, response);
  };

  const server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch((error: unknown) => {
      problems.push(`${incoming.method} ${incoming.url}: the fixture failed: ${String(error)}`);
      if (!outgoing.headersSent) send(outgoing, { status: 500, body: { message: 'GitHub fixture failed' } });
    });
  });
  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    problems,
    on(operationId, response, { times = 1, when } = {}) {
      const target = operation(operationId);
      if (!Number.isInteger(times) || times < 1) {
        throw new Error(`GitHub fixture: times must be a positive integer, got ${times}`);
      }
      if (typeof response !== 'function') {
        const mismatch = checkResponse(api, target, response);
        if (mismatch.length > 0) {
          throw new Error(`GitHub fixture: response for ${operationId} ${mismatch.join('; ')}`);
        }
      }
      expectations.push({ operationId, response, remaining: times, registered: times, when });
    },
    assertDone() {
      const unused = expectations
        .filter((expectation) => expectation.remaining > 0)
        .map(
          (e) =>
            `${e.operationId}: ${e.remaining} of ${e.registered} registered response(s) never requested` +
            (e.when ? ' (with a `when` condition)' : ''),
        );
      const all = [...problems, ...unused];
      problems.length = 0;
      expectations.length = 0;
      if (all.length > 0) {
        throw new Error(`GitHub fixture found ${all.length} problem(s):\n- ${all.join('\n- ')}`);
      }
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections from fetch/octokit would otherwise hold close() open.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Why `response` is not something GitHub documents for this operation; empty when it is. */
function checkResponse(api: OpenAPIBackend, operation: Operation, response: FixtureResponse): string[] {
  const { status, body } = response;
  if (!Number.isInteger(status) || status < 100 || status > 599) return [`has an invalid status ${status}`];
  const responses = (operation.responses ?? {}) as Record<string, { content?: Record<string, unknown> }>;
  const documented = responses[String(status)];
  if (!documented) {
    // GitHub answers any request with errors its description leaves out (401, rate limits, 5xx).
    if (status >= 400) return [];
    return [
      `has status ${status}, which is not documented (documented: ${Object.keys(responses).join(', ')})`,
    ];
  }
  if (!documented.content) {
    return body === undefined ? [] : [`has a body, but status ${status} is documented without one`];
  }
  if (!documented.content['application/json']) return [];
  const validation = api.validator.validateResponse(body ?? null, operation, status);
  if (validation.valid) return [];
  const errors = validation.errors ?? [];
  const shown = errors.slice(0, 10).map((error) => describeError(error, 'body'));
  const more = errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : '';
  return [`does not match the documented ${status} schema: ${shown.join('; ')}${more}`];
}

/** Whether GitHub would parse this operation's body as JSON (a few take text or octet streams). */
function takesJson(operation: Operation): boolean {
  const content = (operation.requestBody as { content?: Record<string, unknown> } | undefined)?.content;
  return content?.['application/json'] !== undefined;
}

/** "body.commit_sha: missing" from an Ajv error on the request or a response. */
function describeError(error: ErrorObject, root = 'request'): string {
  const where = errorField(error, root);
  let detail = error.keyword === 'required' ? 'missing' : (error.message ?? error.keyword);
  if (error.keyword === 'additionalProperties') detail += ` '${error.params.additionalProperty}'`;
  if (error.keyword === 'enum') detail += ` ${JSON.stringify(error.params.allowedValues)}`;
  return `${where}: ${detail}`;
}

function errorField(error: ErrorObject, root: string): string {
  const segments = error.instancePath.split('/').slice(1);
  if (root === 'request' && segments[0] === 'requestBody') segments[0] = 'body';
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  return [root === 'request' ? undefined : root, ...segments].filter(Boolean).join('.') || root;
}

function toGitHubError(error: ErrorObject): Record<string, string> {
  return {
    resource: 'Request',
    field: errorField(error, 'request'),
    code: error.keyword === 'required' ? 'missing_field' : 'invalid',
    message: error.message ?? error.keyword,
  };
}

function send(outgoing: ServerResponse, response: FixtureResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  let payload: string | undefined;
  if (response.body !== undefined) {
    const hasType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
    if (typeof response.body === 'string' && hasType) {
      payload = response.body;
    } else {
      payload = JSON.stringify(response.body);
      if (!hasType) headers['content-type'] = 'application/json; charset=utf-8';
    }
  }
  outgoing.writeHead(response.status, headers);
  outgoing.end(payload);
}

async function readBody(incoming: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function flattenHeaders(incoming: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name);
    query[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return query;
}
