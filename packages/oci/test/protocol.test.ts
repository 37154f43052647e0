/**
 * Protocol paths distribution 2.8 cannot show (the referrers API, tag pages, blob redirects,
 * OAuth2 identity tokens), against small servers that implement just the endpoint under test.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import {
  type Descriptor,
  type ImageManifest,
  MediaType,
  RegistryClient,
  RegistryError,
  sha256Digest,
} from '../src/index.js';
import { emptyDockerConfig } from './helpers.js';

interface LocalServer {
  host: string;
  url: string;
  seen: { method: string; path: string; authorization?: string; body: string }[];
}

const servers: { close(): void; closeAllConnections(): void }[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** An HTTP server on 127.0.0.1 that records each request (with its body) before `handle` answers it. */
async function localServer(
  handle: (request: IncomingMessage, body: string, response: ServerResponse) => void,
) {
  const seen: LocalServer['seen'] = [];
  const listener: RequestListener = (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: request.method ?? '',
        path: request.url ?? '',
        body,
        ...(request.headers.authorization === undefined
          ? {}
          : { authorization: request.headers.authorization }),
      });
      handle(request, body, response);
    });
  };
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, url: `http://${host}`, seen } satisfies LocalServer;
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

function client(host: string, options: ConstructorParameters<typeof RegistryClient>[1] = {}) {
  const created = new RegistryClient(host, { dockerConfig: emptyDockerConfig, ...options });
  clients.push(created);
  return created;
}

describe('a registry with the referrers API', () => {
  /** Stores manifests, confirms a subject with OCI-Subject and lists referrers one per page, ignoring filters. */
  async function referrersRegistry() {
    const manifests = new Map<string, { bytes: string; mediaType: string }>();
    return localServer((request, body, response) => {
      const url = new URL(request.url ?? '/', 'http://local');
      const put = /^\/v2\/team\/app\/manifests\/(.+)$/.exec(url.pathname);
      if (request.method === 'HEAD' && url.pathname.startsWith('/v2/team/app/blobs/')) {
        response.writeHead(200).end();
      } else if (request.method === 'PUT' && put?.[1] !== undefined) {
        const digest = sha256Digest(body);
        manifests.set(digest, { bytes: body, mediaType: request.headers['content-type'] ?? '' });
        const subject = (JSON.parse(body) as ImageManifest).subject?.digest;
        response.writeHead(201, {
          'docker-content-digest': digest,
          ...(subject ? { 'oci-subject': subject } : {}),
        });
        response.end();
      } else if (request.method === 'GET' && url.pathname.startsWith('/v2/team/app/referrers/')) {
        const subject = url.pathname.split('/').at(-1);
        const all: Descriptor[] = [...manifests]
          .map(([digest, { bytes, mediaType }]) => ({
            digest,
            mediaType,
            manifest: JSON.parse(bytes) as ImageManifest,
            size: bytes.length,
          }))
          .filter((m) => m.manifest.subject?.digest === subject)
          .map((m) => ({
            mediaType: m.mediaType,
            digest: m.digest,
            size: m.size,
            artifactType: m.manifest.artifactType,
          }))
          .sort((a, b) => a.digest.localeCompare(b.digest));
        const page = Number(url.searchParams.get('page') ?? 0);
        const next: Record<string, string> =
          page + 1 < all.length ? { link: `<${url.pathname}?page=${page + 1}>; rel="next"` } : {};
        json(
          response,
          200,
          { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: all.slice(page, page + 1) },
          next,
        );
      } else {
        json(response, 404, {
          errors: [{ code: 'NOT_FOUND', message: `${request.method} ${url.pathname}` }],
        });
      }
    });
  }

  const subject = { mediaType: MediaType.ociManifest, digest: sha256Digest('subject'), size: 7 };
  const artifact = (artifactType: string): ImageManifest => ({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: { mediaType: MediaType.ociEmpty, digest: sha256Digest('{}'), size: 2 },
    layers: [],
    subject,
  });

  test('pushes referrers without a fallback tag and lists them over every page, filtered', async () => {
    const server = await referrersRegistry();
    const registry = client(server.host);
    const signature = await registry.pushReferrer('team/app', artifact('application/vnd.example.sig'));
    const sbom = await registry.pushReferrer('team/app', artifact('application/spdx+json'));
    expect(server.seen.some((r) => r.path.includes('sha256-'))).toBe(false);

    const all = await registry.referrers('team/app', subject.digest);
    expect(all.map((d) => d.digest).sort()).toEqual([signature.digest, sbom.digest].sort());
    const sboms = await registry.referrers('team/app', subject.digest, {
      artifactType: 'application/spdx+json',
    });
    expect(sboms).toEqual([
      expect.objectContaining({ digest: sbom.digest, artifactType: 'application/spdx+json' }),
    ]);
    const listed = server.seen.filter((r) => r.path.includes('/referrers/')).map((r) => r.path);
    expect(listed).toEqual([
      `/v2/team/app/referrers/${subject.digest}`,
      `/v2/team/app/referrers/${subject.digest}?page=1`,
      `/v2/team/app/referrers/${subject.digest}?artifactType=application%2Fspdx%2Bjson`,
      `/v2/team/app/referrers/${subject.digest}?page=1`,
    ]);
  });

  test('refuses a referrer without a subject before sending anything', async () => {
    const server = await referrersRegistry();
    const { subject: _none, ...orphan } = artifact('application/vnd.example.sig');
    await expect(client(server.host).pushReferrer('team/app', orphan)).rejects.toThrow(
      'a referrer needs a subject',
    );
    expect(server.seen).toEqual([]);
  });
});

describe('tag pages', () => {
  const tags = ['a', 'b', 'c', 'd', 'e'];

  /** Serves `n` tags after `last`, with a Link to the next page while there is one. */
  async function pagingRegistry(nextOrigin = '') {
    return localServer((request, _body, response) => {
      const url = new URL(request.url ?? '/', 'http://local');
      const n = Number(url.searchParams.get('n') ?? tags.length);
      const last = url.searchParams.get('last');
      const start = last === null ? 0 : tags.indexOf(last) + 1;
      const page = tags.slice(start, start + n);
      const more = start + n < tags.length;
      const link = `<${nextOrigin}/v2/team/app/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"`;
      json(response, 200, { name: 'team/app', tags: page }, more ? { link } : {});
    });
  }

  test('follows Link headers until the last page', async () => {
    const server = await pagingRegistry();
    await expect(client(server.host).listTags('team/app', { pageSize: 2 })).resolves.toEqual(tags);
    expect(server.seen.map((r) => r.path)).toEqual([
      '/v2/team/app/tags/list?n=2',
      '/v2/team/app/tags/list?n=2&last=b',
      '/v2/team/app/tags/list?n=2&last=d',
    ]);
  });

  test('does not follow a Link to another origin, which would receive the token', async () => {
    const server = await pagingRegistry('http://127.0.0.2:1');
    await expect(client(server.host).listTags('team/app', { pageSize: 2 })).resolves.toEqual(['a', 'b']);
    expect(server.seen).toHaveLength(1);
  });
});

describe('blob redirects', () => {
  test('follows a redirect to storage without sending it the registry credentials', async () => {
    const blob = Buffer.from('stored elsewhere');
    const digest = sha256Digest(blob);
    const storage = await localServer((_request, _body, response) => response.writeHead(200).end(blob));
    const registry = await localServer((request, _body, response) => {
      if (request.headers.authorization === undefined) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="local"' }).end();
      } else {
        response.writeHead(307, { location: `${storage.url}/signed/${digest}?sig=abc` }).end();
      }
    });
    const registryClient = client(registry.host, { credentials: { username: 'me', password: 'secret' } });
    await expect(registryClient.getBlob('team/app', digest)).resolves.toEqual(blob);
    expect(registry.seen.map((r) => r.authorization)).toEqual([undefined, expect.stringMatching(/^Basic /)]);
    expect(storage.seen).toEqual([{ method: 'GET', path: `/signed/${digest}?sig=abc`, body: '' }]);
  });
});

describe('token services', () => {
  test('exchanges an identity token for an access token instead of sending it as a password', async () => {
    const token = await localServer((request, body, response) => {
      const form = new URLSearchParams(body);
      if (request.method === 'POST' && form.get('refresh_token') === 'identity-123') {
        json(response, 200, { access_token: 'access-456', expires_in: 300 });
      } else {
        json(response, 401, { details: 'bad refresh token' });
      }
    });
    const registry = await localServer((request, _body, response) => {
      if (request.headers.authorization === 'Bearer access-456') json(response, 200, {});
      else
        response
          .writeHead(401, {
            'www-authenticate': `Bearer realm="${token.url}/token",service="local",scope="registry:catalog:*"`,
          })
          .end();
    });
    const registryClient = client(registry.host, {
      credentials: { username: '<token>', password: 'identity-123' },
    });
    await registryClient.ping();
    const exchange = token.seen[0];
    expect(exchange).toMatchObject({ method: 'POST', path: '/token' });
    expect(Object.fromEntries(new URLSearchParams(exchange?.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'identity-123',
      client_id: 'digestline',
      service: 'local',
      scope: 'registry:catalog:*',
    });
    expect(exchange?.authorization).toBeUndefined();
  });

  test('asks for a new token once the last one is about to expire', async () => {
    const lifetimes = [10, 300, 300];
    const token = await localServer((_request, _body, response) =>
      json(response, 200, { token: 'short-lived', expires_in: lifetimes.shift() }),
    );
    const registry = await localServer((request, _body, response) => {
      if (request.headers.authorization === 'Bearer short-lived') json(response, 200, {});
      else
        response
          .writeHead(401, { 'www-authenticate': `Bearer realm="${token.url}/token",service="local"` })
          .end();
    });
    const registryClient = client(registry.host);
    // Ten seconds is inside the renewal margin: the first token is used once, the second one kept.
    for (let i = 0; i < 4; i++) await registryClient.ping();
    expect(token.seen).toHaveLength(2);
  });

  test('retries a token request whose connection was reset', async () => {
    let resets = 1;
    const token = await localServer((request, _body, response) => {
      if (resets-- > 0) request.socket.destroy();
      else json(response, 200, { token: 'fresh', expires_in: 300 });
    });
    const registry = await localServer((request, _body, response) => {
      if (request.headers.authorization === 'Bearer fresh') json(response, 200, {});
      else
        response
          .writeHead(401, { 'www-authenticate': `Bearer realm="${token.url}/token",service="local"` })
          .end();
    });
    await client(registry.host, { retry: { baseDelayMs: 10 } }).ping();
    expect(token.seen).toHaveLength(2);
    // The second try already knows the challenge: it fetches the token before asking the registry.
    expect(registry.seen.map((r) => r.authorization)).toEqual([undefined, 'Bearer fresh']);
  });

  test('will not send credentials to a token service on plain HTTP away from this machine', async () => {
    const registry = await localServer((_request, _body, response) => {
      response
        .writeHead(401, {
          'www-authenticate': 'Bearer realm="http://auth.example.invalid/token",service="x"',
        })
        .end();
    });
    const error = await client(registry.host, { credentials: { username: 'me', password: 'secret' } })
      .ping()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(
      `${registry.host} sent its token service as http://auth.example.invalid, plain HTTP on the network: digestline will not send credentials there. Fix: use the registry over HTTPS, or set insecure if this registry really is plain HTTP.`,
    );
  });
});
