import type { IncomingHttpHeaders } from 'node:http';
import {
  type Credentials,
  dockerConfigCredentials,
  IDENTITY_TOKEN_USER,
  type ResolvedCredentials,
} from './docker-config.js';
import { markRetryable, RegistryError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import {
  allowsPlainHttp,
  type HttpTransport,
  header,
  headerValues,
  isTransientNetworkError,
  readBody,
  type SchemeOptions,
} from './transport/http.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (RFC 9110 §11.6.1). Several challenges
 * may share one header; they start where a token is followed by a space instead of `=`.
 */
export function parseChallenges(values: string[]): Challenge[] {
  const challenges: Challenge[] = [];
  const pattern = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?\s*,?/y;
  for (const value of values) {
    let current: Challenge | undefined;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(value); match !== null && match[0] !== ''; match = pattern.exec(value)) {
      const [, token = '', raw] = match;
      if (raw === undefined) {
        current = { scheme: token.toLowerCase(), params: {} };
        challenges.push(current);
      } else if (current !== undefined) {
        current.params[token.toLowerCase()] = raw.startsWith('"')
          ? raw.slice(1, -1).replace(/\\(.)/g, '$1')
          : raw;
      }
    }
  }
  return challenges;
}

export function challengesOf(headers: IncomingHttpHeaders): Challenge[] {
  return parseChallenges(headerValues(headers, 'www-authenticate'));
}

export type Access = 'pull' | 'push' | 'delete';

/** What to tell a user whose credentials were missing, wrong or not allowed to do this. */
export function authAdvice(options: {
  status: number;
  resolved: ResolvedCredentials;
  registry: string;
  repository?: string;
  access?: Access;
  insufficientScope?: boolean;
}): string {
  const { status, resolved, registry, repository, access } = options;
  const used = `Credentials used: ${resolved.source}.`;
  if (resolved.credentials === undefined) {
    return `${used} Fix: ${registry} requires authentication; pass a username and password (or token), or log in so the Docker config has an entry for ${registry}.`;
  }
  if (
    (status === 403 || options.insufficientScope === true) &&
    repository !== undefined &&
    access !== undefined
  ) {
    const verb = { pull: 'pull from', push: 'push to', delete: 'delete from' }[access];
    return `${used} They are not allowed to ${verb} ${repository}. Fix: use credentials with ${access} access to ${registry}/${repository}.`;
  }
  return `${used} Fix: the registry refused them; check the username and the password or token for ${registry}.`;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Tokens are renewed this long before they expire, so one is never sent in its last seconds. */
const TOKEN_EXPIRY_MARGIN_MS = 10_000;
/** The token spec's default when the issuer does not say. */
const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * Answers a registry's challenges: nothing until the registry asks, then Basic credentials or a
 * bearer token per set of scopes, which is cached until shortly before it expires. The first challenge
 * pins where the credentials may go: a later one naming a token service elsewhere is refused.
 */
export class Authenticator {
  private scheme: { type: 'basic' } | { type: 'bearer'; realm: string; service?: string } | undefined;
  /** The origin of the token service the first challenge named; null when it asked for Basic. */
  private pinnedRealm: string | null | undefined;
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private resolving: Promise<ResolvedCredentials> | undefined;

  constructor(
    private readonly options: {
      registry: string;
      transport: HttpTransport;
      scheme: SchemeOptions;
      credentials?: Credentials;
      dockerConfig?: string;
    },
  ) {}

  resolve(): Promise<ResolvedCredentials> {
    const { credentials, registry, dockerConfig } = this.options;
    this.resolving ??=
      credentials === undefined
        ? dockerConfigCredentials(registry, dockerConfig)
        : Promise.resolve({
            credentials,
            source: `${credentials.username === IDENTITY_TOKEN_USER ? 'an identity token' : `user ${JSON.stringify(credentials.username)}`} from the credentials option`,
          });
    return this.resolving;
  }

  /** The header for a request needing `scopes`; none until the registry has challenged once. */
  async authorization(scopes: string[], deadline: number): Promise<string | undefined> {
    if (this.scheme === undefined) return undefined;
    if (this.scheme.type === 'basic') return this.basic();
    return this.bearer(this.scheme, scopes, deadline);
  }

  /**
   * Learns from a registry's own 401 (never one from a host it redirected to) and returns the header to
   * try once more with, or undefined when another try cannot succeed (no credentials, or these exact
   * credentials were just refused).
   */
  async reauthorize(
    headers: IncomingHttpHeaders,
    scopes: string[],
    sent: string | undefined,
    deadline: number,
  ): Promise<string | undefined> {
    const challenges = challengesOf(headers);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined);
    if (bearer?.params.realm !== undefined) {
      this.pin(bearer.params.realm);
      this.scheme = { type: 'bearer', realm: bearer.params.realm, service: bearer.params.service };
      const wanted = mergeScopes(scopes, bearer.params.scope?.split(' ') ?? []);
      // A cached token the registry just refused must not be handed out again.
      this.tokens.delete(scopeKey(wanted));
      return this.bearer(this.scheme, wanted, deadline);
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (this.pinnedRealm === undefined) this.pinnedRealm = null;
      this.scheme = { type: 'basic' };
      const basic = await this.basic();
      return basic === sent ? undefined : basic;
    }
    return undefined;
  }

  /**
   * The token service is where the registry's password goes: only the one the registry named first may
   * get it, so a challenge slipped in later (by a proxy, a path of the registry someone else serves)
   * cannot redirect the password to a host of its choosing.
   */
  private pin(realm: string): void {
    const { registry } = this.options;
    let origin: string;
    try {
      origin = new URL(realm).origin;
    } catch {
      throw new RegistryError(
        `${registry} named its token service as ${JSON.stringify(realm.slice(0, 200))}, which is not a URL: digestline cannot ask it for a token. Fix: check the registry's token auth settings.`,
        { registry },
      );
    }
    if (this.pinnedRealm === undefined) this.pinnedRealm = origin;
    if (this.pinnedRealm === origin) return;
    const first =
      this.pinnedRealm === null ? 'asked for Basic credentials at first' : `first named ${this.pinnedRealm}`;
    throw new RegistryError(
      `${registry} named the token service ${origin}, but it ${first}: digestline sends the registry's credentials only where its first challenge pointed, so it asked ${origin} for nothing. Fix: check what answers for ${registry} (a proxy or another service in front of it may be injecting challenges).`,
      { registry },
    );
  }

  private async basic(): Promise<string | undefined> {
    const { credentials } = await this.resolve();
    if (credentials === undefined) return undefined;
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  private async bearer(
    scheme: { realm: string; service?: string },
    scopes: string[],
    deadline: number,
  ): Promise<string> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached !== undefined) {
      const token = await cached.catch(() => undefined);
      if (token !== undefined && token.expiresAt > Date.now()) return token.header;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
    }
    // Concurrent requests for one scope (parallel blob copies) share a single token request.
    const pending = this.fetchToken(scheme, scopes, deadline);
    this.tokens.set(key, pending);
    pending.catch(() => {
      if (this.tokens.get(key) === pending) this.tokens.delete(key);
    });
    return (await pending).header;
  }

  private async fetchToken(
    scheme: { realm: string; service?: string },
    scopes: string[],
    deadline: number,
  ): Promise<CachedToken> {
    const { registry, transport } = this.options;
    const resolved = await this.resolve();
    const realm = new URL(scheme.realm);
    if (!allowsPlainHttp(realm, this.options.scheme)) {
      throw new RegistryError(
        `${registry} sent its token service as ${realm.origin}, plain HTTP on the network: digestline will not send credentials there. Fix: use the registry over HTTPS, or set insecure if this registry really is plain HTTP.`,
        { registry },
      );
    }
    const { credentials } = resolved;
    const identityToken = credentials?.username === IDENTITY_TOKEN_USER ? credentials.password : undefined;
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: Buffer | undefined;
    let method: 'GET' | 'POST' = 'GET';
    if (identityToken !== undefined) {
      // An identity token is an OAuth2 refresh token: it is exchanged, never sent as a password.
      method = 'POST';
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: identityToken });
      form.set('client_id', 'digestline');
      if (scheme.service !== undefined) form.set('service', scheme.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      body = Buffer.from(form.toString());
    } else {
      if (scheme.service !== undefined) realm.searchParams.set('service', scheme.service);
      for (const scope of scopes) realm.searchParams.append('scope', scope);
      if (credentials !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      }
    }

    const what = `getting a token${scopes.length > 0 ? ` for ${scopes.join(' ')}` : ''} from ${scheme.realm}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
    try {
      const requestedAt = Date.now();
      const response = await transport.send({ method, url: realm, headers, body, signal: controller.signal });
      const bytes = await readBody(response.body, 1024 * 1024);
      if (response.status !== 200) {
        const detail = tokenErrorDetail(bytes);
        const advice =
          response.status === 401 || response.status === 403
            ? ` ${authAdvice({ status: response.status, resolved, registry })}`
            : '';
        const error = new RegistryError(
          `${what} for ${registry} failed: HTTP ${response.status}${detail === undefined ? '' : ` (${detail})`}.${advice}`,
          { registry, status: response.status },
        );
        if (response.status === 429 || response.status >= 500) {
          markRetryable(error, parseRetryAfter(header(response.headers, 'retry-after')));
        }
        throw error;
      }
      const answer = JSON.parse(bytes.toString('utf8')) as {
        token?: string;
        access_token?: string;
        expires_in?: number;
      };
      const token = answer.token ?? answer.access_token;
      if (!token) throw new RegistryError(`${what} for ${registry}: the answer held no token`, { registry });
      const lifetimeMs = (answer.expires_in ?? DEFAULT_TOKEN_LIFETIME_S) * 1000;
      return {
        header: `Bearer ${token}`,
        expiresAt: requestedAt + Math.max(0, lifetimeMs - TOKEN_EXPIRY_MARGIN_MS),
      };
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      const reason = controller.signal.aborted
        ? 'no answer within the overall timeout'
        : (error as Error).message;
      const failure = new RegistryError(`${what} for ${registry} failed: ${reason}`, {
        registry,
        cause: error,
      });
      throw isTransientNetworkError(error) && !controller.signal.aborted ? markRetryable(failure) : failure;
    } finally {
      clearTimeout(timer);
    }
  }
}

function tokenErrorDetail(bytes: Buffer): string | undefined {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as {
      details?: string;
      error_description?: string;
      errors?: { message?: string }[];
    };
    return body.details ?? body.error_description ?? body.errors?.[0]?.message;
  } catch {
    const text = bytes.toString('utf8').trim();
    return text === '' ? undefined : text.slice(0, 200);
  }
}

/** `repository:a:pull` and `repository:a:push` together become `repository:a:pull,push`. */
export function mergeScopes(...lists: string[][]): string[] {
  const actions = new Map<string, Set<string>>();
  for (const scope of lists.flat()) {
    const last = scope.lastIndexOf(':');
    const resource = last > 0 ? scope.slice(0, last) : scope;
    const set = actions.get(resource) ?? new Set<string>();
    if (last > 0) for (const action of scope.slice(last + 1).split(',')) if (action !== '') set.add(action);
    actions.set(resource, set);
  }
  return [...actions].map(([resource, set]) =>
    set.size === 0 ? resource : `${resource}:${[...set].sort().join(',')}`,
  );
}

function scopeKey(scopes: string[]): string {
  return mergeScopes(scopes).sort().join(' ');
}

export function repositoryScope(repository: string, access: Access): string {
  return `repository:${repository}:${access === 'push' ? 'pull,push' : access}`;
}
