import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { type Access, type Authenticator, authAdvice, challengesOf, repositoryScope } from './auth.js';
import { isDigest } from './digest.js';
import { markRetryable, RegistryError, retryInfo } from './errors.js';
import { type GiveUpReason, parseRetryAfter, type RetryPolicy, withRetry } from './retry.js';
import {
  BodyTooLargeError,
  errorCodes,
  type HttpRequest,
  type HttpTransport,
  header,
  isTransientNetworkError,
  type ResponseBody,
  readBody,
} from './transport/http.js';

export interface Operation {
  /** What was being done, for errors: `getting manifest 127.0.0.1:5000/team/app:v1`. */
  what: string;
  method: HttpRequest['method'];
  /** Below the registry's origin, or an absolute URL the registry handed out (upload locations, pages). */
  path: string | URL;
  repository?: string;
  access?: Access;
  /** Scopes beyond `access` on `repository`, e.g. pull on the source of a mount. */
  extraScopes?: string[];
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Statuses handed back to the caller; any other one is an error. */
  expect: number[];
  idempotent: boolean;
  /** Keep the body of an expected answer a stream (a blob) instead of reading it. */
  stream?: boolean;
  /** Most bytes read from an expected answer. */
  limit?: number;
  /** Where `limit` comes from, for the error when a body runs past it: `the size its descriptor gives`. */
  limitReason?: string;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  /** The body, read (empty for a stream). */
  bytes: Buffer;
  /** With `stream` and an expected status: the unread body. */
  body?: ResponseBody;
}

const MAX_ERROR_BODY_BYTES = 64 * 1024;
/**
 * A list the registry pages (tags, referrers) ends within this many pages: a registry that keeps handing
 * out new `next` links would otherwise be followed for ever.
 */
export const MAX_LIST_PAGES = 1000;
/** One page of a list is JSON of names or descriptors: bounded like a manifest. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** `127.0.0.1:5000/team/app:v1` or `…/team/app@sha256:…`. */
export function displayName(registry: string, repository: string, reference: string): string {
  return `${registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
}

/**
 * Sends operations to one registry: authorization, retries of idempotent requests under one
 * overall deadline, and errors that say what was being done where and what the registry answered.
 */
export class Requester {
  constructor(
    readonly registry: string,
    readonly origin: URL,
    private readonly transport: HttpTransport,
    readonly auth: Authenticator,
    readonly retry: RetryPolicy,
  ) {}

  send(operation: Operation): Promise<Answer> {
    return this.retrying(
      operation.what,
      operation.repository,
      (_attempt, deadline) => this.attempt(operation, deadline),
      operation.idempotent,
    );
  }

  /**
   * Runs `step` until it succeeds or fails for good. With `idempotent` false it runs once; a
   * multi-request step (an upload session) passes true when starting it over from scratch is safe.
   */
  retrying<T>(
    what: string,
    repository: string | undefined,
    step: (attempt: number, deadline: number) => Promise<T>,
    idempotent = true,
  ): Promise<T> {
    const deadline = Date.now() + this.retry.totalTimeoutMs;
    return withRetry(
      idempotent ? this.retry : { ...this.retry, attempts: 1 },
      deadline,
      (attempt) => step(attempt, deadline),
      (error) => {
        const info = retryInfo(error);
        return info === undefined ? { retry: false } : { retry: true, retryAfterMs: info.retryAfterMs };
      },
      (error, attempts, reason) => this.gaveUp(what, repository, error, attempts, reason),
    );
  }

  /**
   * Where the registry wants the next request of an upload session to go. Another origin gets the upload
   * without our credentials (see `attempt`); plain HTTP handed out by a registry on HTTPS is refused, as
   * the upload and anything sent along would cross the network readable.
   */
  location(answer: Answer): URL {
    const location = header(answer.headers, 'location');
    if (location === undefined) {
      throw new RegistryError(
        `${this.registry} answered ${answer.status} without the Location of the upload`,
        {
          registry: this.registry,
          status: answer.status,
        },
      );
    }
    const url = new URL(location, answer.url);
    if (this.origin.protocol === 'https:' && url.protocol !== 'https:') {
      throw new RegistryError(
        `${this.registry} handed out the upload location ${url.origin}, ${url.protocol === 'http:' ? 'plain HTTP' : url.protocol} where the registry speaks HTTPS: digestline will not send the upload there. Fix: configure the registry (or the proxy in front of it) to hand out https:// upload locations.`,
        { registry: this.registry },
      );
    }
    return url;
  }

  /**
   * GETs `first` and every page its `Link: <…>; rel="next"` headers lead to. Returns 'absent' when
   * the first page is a 404 the caller accepted (an API the registry does not have).
   */
  async paginate(
    first: { what: string; repository: string; path: string; expect: number[] },
    onPage: (bytes: Buffer) => void,
  ): Promise<'done' | 'absent'> {
    let next: string | URL = first.path;
    const seen = new Set<string>();
    for (let page = 1; ; page++) {
      const answer = await this.send({
        what: page === 1 ? first.what : `${first.what} (page ${page})`,
        method: 'GET',
        path: next,
        repository: first.repository,
        access: 'pull',
        expect: page === 1 ? first.expect : [200],
        idempotent: true,
        limit: MAX_PAGE_BYTES,
        limitReason: 'the most one page of a list may hold',
      });
      if (answer.status === 404) return 'absent';
      onPage(answer.bytes);
      const link = nextLink(answer.headers, answer.url);
      // Another origin would receive our token; a page seen before would loop forever.
      if (link === undefined || link.origin !== this.origin.origin || seen.has(link.href)) return 'done';
      if (page >= MAX_LIST_PAGES) {
        throw new RegistryError(
          `${first.what} failed: ${this.registry} still had a next page after ${MAX_LIST_PAGES} pages; digestline stops there rather than follow a list without end. Fix: check the registry, or remove what fills the list.`,
          { registry: this.registry, repository: first.repository },
        );
      }
      seen.add(link.href);
      next = link;
    }
  }

  /**
   * Credentials go to the registry's own origin only: an absolute URL the registry handed out (an upload
   * on storage elsewhere) is sent without them, and a 401 that did not come from the registry itself (a
   * redirect target, that other host) is never answered, or its realm would get the registry's password.
   */
  private async attempt(operation: Operation, deadline: number): Promise<Answer> {
    const own =
      operation.repository !== undefined && operation.access !== undefined
        ? [repositoryScope(operation.repository, operation.access)]
        : [];
    const scopes = [...own, ...(operation.extraScopes ?? [])];
    const url = typeof operation.path === 'string' ? new URL(operation.path, this.origin) : operation.path;
    const ours = url.origin === this.origin.origin;
    const authorization = ours ? await this.auth.authorization(scopes, deadline) : undefined;
    let answer = await this.exchange(operation, url, authorization, deadline);
    // A consumed stream cannot be sent twice; streams only follow a request that already authenticated.
    if (
      answer.status === 401 &&
      ours &&
      answer.url.origin === this.origin.origin &&
      !(operation.body instanceof Readable)
    ) {
      const retryWith = await this.auth.reauthorize(answer.headers, scopes, authorization, deadline);
      if (retryWith !== undefined) answer = await this.exchange(operation, url, retryWith, deadline);
    }
    if (operation.expect.includes(answer.status)) return answer;
    throw await this.failure(operation, answer);
  }

  /** One HTTP exchange; the deadline covers it up to the last byte, or for a stream up to its headers. */
  private async exchange(
    operation: Operation,
    url: URL,
    authorization: string | undefined,
    deadline: number,
  ): Promise<Answer> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
    try {
      const response = await this.transport.send({
        method: operation.method,
        url,
        headers: { ...operation.headers, ...(authorization === undefined ? {} : { authorization }) },
        body: operation.body,
        signal: controller.signal,
      });
      const { status, headers } = response;
      const expected = operation.expect.includes(status);
      if (operation.stream === true && expected) {
        return { status, headers, url: response.url, bytes: Buffer.alloc(0), body: response.body };
      }
      const bytes = await readBody(response.body, expected ? operation.limit : MAX_ERROR_BODY_BYTES);
      return { status, headers, url: response.url, bytes };
    } catch (error) {
      throw this.networkFailure(operation, error, controller.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }

  private networkFailure(operation: Operation, error: unknown, timedOut: boolean): Error {
    if (error instanceof RegistryError) return error;
    const details = { registry: this.registry, repository: operation.repository, cause: error };
    if (error instanceof BodyTooLargeError) {
      const bound = operation.limitReason === undefined ? '' : `, ${operation.limitReason}`;
      return new RegistryError(
        `${operation.what} failed: the registry sent more than ${error.limit} bytes${bound}; the rest was not read`,
        details,
      );
    }
    if (timedOut) {
      return new RegistryError(
        `${operation.what} failed: no answer within the overall timeout of ${this.retry.totalTimeoutMs} ms`,
        details,
      );
    }
    const failure = new RegistryError(`${operation.what} failed: ${describeNetworkError(error)}`, details);
    return isTransientNetworkError(error) ? markRetryable(failure) : failure;
  }

  private async failure(operation: Operation, answer: Answer): Promise<RegistryError> {
    const { status, headers } = answer;
    if (status === 401 && answer.url.origin !== this.origin.origin) {
      return new RegistryError(
        `${operation.what} failed: ${answer.url.origin}, which is not ${this.registry}, asked for credentials (HTTP 401); digestline sends the registry's credentials only to the registry and the token service it named first. Fix: the registry's storage or upload location must accept the request without them (a signed URL); check the registry's storage settings.`,
        { registry: this.registry, repository: operation.repository, status },
        'REGISTRY_REFUSED',
      );
    }
    const problem = registryProblem(answer.bytes);
    let message = `${operation.what} failed: HTTP ${status}`;
    if (problem.code !== undefined) message += ` ${problem.code}`;
    if (problem.message !== undefined) message += ` (${problem.message})`;
    message += '.';
    if (status === 401 || status === 403) {
      const insufficientScope = challengesOf(headers).some((c) => c.params.error === 'insufficient_scope');
      message += ` ${authAdvice({
        status,
        resolved: await this.auth.resolve(),
        registry: this.registry,
        repository: operation.repository,
        access: operation.access,
        insufficientScope,
      })}`;
    }
    const error = new RegistryError(message, {
      registry: this.registry,
      repository: operation.repository,
      status,
      registryCode: problem.code,
    });
    if (status === 429 || status >= 500)
      markRetryable(error, parseRetryAfter(header(headers, 'retry-after')));
    return error;
  }

  private gaveUp(
    what: string,
    repository: string | undefined,
    error: unknown,
    attempts: number,
    reason: GiveUpReason,
  ): RegistryError {
    const last = error instanceof RegistryError ? error : undefined;
    const why =
      reason === 'attempts'
        ? `gave up after ${attempts} attempts`
        : `gave up after ${attempts} attempts: the next would start past the overall timeout of ${this.retry.totalTimeoutMs} ms`;
    return new RegistryError(`${last?.message ?? `${what} failed: ${String(error)}`} (${why})`, {
      registry: this.registry,
      repository,
      status: last?.status,
      registryCode: last?.registryCode,
      cause: error,
    });
  }
}

function nextLink(headers: IncomingHttpHeaders, base: URL): URL | undefined {
  const link = header(headers, 'link');
  const target = link === undefined ? undefined : /<([^>]*)>\s*;\s*rel="?next"?/i.exec(link)?.[1];
  return target === undefined ? undefined : new URL(target, base);
}

/** The distribution spec's error body: `{"errors":[{"code","message","detail"}]}`. */
function registryProblem(bytes: Buffer): { code?: string; message?: string } {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    return { code: first?.code, message: first?.message };
  } catch {
    const text = bytes.toString('utf8').trim();
    return text === '' ? {} : { message: text.slice(0, 200) };
  }
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

function describeNetworkError(error: unknown): string {
  const message = (error as { message?: unknown })?.message;
  const text = typeof message === 'string' ? message : String(error);
  const codes = errorCodes(error);
  if (codes.some((code) => TLS_TRUST_CODES.has(code))) {
    return `${text}. Fix: pass the CA that signed the registry's certificate (the ca option)`;
  }
  return text;
}
