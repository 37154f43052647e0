import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import {
  createCertificateAuthority,
  type HttpResponse,
  httpRequest,
  issueCertificate,
  type LocalRegistry,
  makeTempDir,
  signToken,
  startRegistry,
  tokenClaims,
} from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

const run = promisify(execFile);

const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';
const ociConfigType = 'application/vnd.oci.image.config.v1+json';

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The smallest image distribution accepts: a config blob and a manifest without layers. */
function minimalImage(label = 'minimal') {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'org.opencontainers.image.title': label } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifestType,
      config: { mediaType: ociConfigType, digest: sha256(config), size: config.length },
      layers: [],
    }),
  );
  return { config, manifest, configDigest: sha256(config), manifestDigest: sha256(manifest) };
}

type Send = (
  method: string,
  path: string,
  options?: { headers?: Record<string, string>; body?: Buffer },
) => Promise<HttpResponse>;

/** Plain `fetch`: enough for a registry without TLS. */
function fetchClient(registry: LocalRegistry): Send {
  return async (method, path, options = {}) => {
    const response = await fetch(new URL(path, registry.url), {
      method,
      headers: options.headers,
      body: options.body,
    });
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: Buffer.from(await response.arrayBuffer()),
    };
  };
}

/** node:https trusting the registry's test CA. */
function caClient(registry: LocalRegistry): Send {
  return (method, path, options = {}) =>
    httpRequest(new URL(path, registry.url).toString(), { method, ...options, ca: registry.caCertPem });
}

function basicAuth(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

function header(response: HttpResponse, name: string): string {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** Monolithic upload (POST, then PUT with the digest), then the manifest by tag. */
async function pushImage(
  send: Send,
  repository: string,
  tag: string,
  image: ReturnType<typeof minimalImage>,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  const started = await send('POST', `/v2/${repository}/blobs/uploads/`, { headers });
  if (started.status !== 202) return started;
  const location = new URL(header(started, 'location'), 'http://base.invalid');
  location.searchParams.set('digest', image.configDigest);
  const uploaded = await send('PUT', `${location.pathname}${location.search}`, {
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: image.config,
  });
  if (uploaded.status !== 201) return uploaded;
  return send('PUT', `/v2/${repository}/manifests/${tag}`, {
    headers: { ...headers, 'content-type': ociManifestType },
    body: image.manifest,
  });
}

function pullManifest(
  send: Send,
  repository: string,
  reference: string,
  headers: Record<string, string> = {},
) {
  return send('GET', `/v2/${repository}/manifests/${reference}`, {
    headers: { ...headers, accept: ociManifestType },
  });
}

async function skopeo(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('skopeo', ['--insecure-policy', ...args], { timeout: 30_000 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`skopeo ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}

/** skopeo flags for one side of a copy (`src`/`dest`) or for inspect (`''`). */
function skopeoAccess(
  registry: LocalRegistry,
  side: 'src' | 'dest' | '',
  user?: { username: string; password: string },
) {
  const prefix = side === '' ? '--' : `--${side}-`;
  const args =
    registry.certDir === undefined
      ? [`${prefix}tls-verify=false`]
      : [`${prefix}cert-dir=${registry.certDir}`];
  if (user !== undefined) args.push(`${prefix}creds=${user.username}:${user.password}`);
  return args;
}

function mainUser(registry: LocalRegistry) {
  if (registry.username === undefined || registry.password === undefined)
    throw new Error('registry has no user');
  return { username: registry.username, password: registry.password };
}

function readOnlyUser(registry: LocalRegistry) {
  if (registry.readOnlyUser === undefined) throw new Error('registry has no read-only user');
  return registry.readOnlyUser;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Registries are stopped even when beforeAll fails halfway. */
function registries() {
  const started: LocalRegistry[] = [];
  return {
    async start(options: Parameters<typeof startRegistry>[0]) {
      const registry = await startRegistry(options);
      started.push(registry);
      return registry;
    },
    stopAll: () => Promise.all(started.map((r) => r.stop())),
  };
}

describe('open registry', () => {
  const owned = registries();
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await owned.start({ mode: 'open' });
  });
  afterAll(() => owned.stopAll());

  test('serves a pushed manifest back by tag with the same bytes and their digest', async () => {
    expect(registry).toMatchObject({ mode: 'open', tls: false, url: `http://${registry.host}` });
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const send = fetchClient(registry);
    const image = minimalImage();

    const pushed = await pushImage(send, 'team/app', 'v1', image);
    expect(pushed.status).toBe(201);
    expect(header(pushed, 'docker-content-digest')).toBe(image.manifestDigest);

    const pulled = await pullManifest(send, 'team/app', 'v1');
    expect(pulled.status).toBe(200);
    expect(pulled.body.equals(image.manifest)).toBe(true);
    expect(header(pulled, 'docker-content-digest')).toBe(sha256(pulled.body));
    expect(header(pulled, 'content-type')).toBe(ociManifestType);

    const blob = await send('GET', `/v2/team/app/blobs/${image.configDigest}`);
    expect(blob.body.equals(image.config)).toBe(true);
  });

  test('skopeo reads the manifest exactly as pushed', async () => {
    const image = minimalImage('skopeo-open');
    expect((await pushImage(fetchClient(registry), 'team/raw', 'v1', image)).status).toBe(201);

    const raw = await skopeo([
      'inspect',
      '--raw',
      ...skopeoAccess(registry, ''),
      `docker://${registry.host}/team/raw:v1`,
    ]);
    expect(Buffer.from(raw).equals(image.manifest)).toBe(true);
  });
});

describe('two registries started in parallel', () => {
  const owned = registries();
  let first: LocalRegistry;
  let second: LocalRegistry;
  beforeAll(async () => {
    [first, second] = await Promise.all([owned.start({ mode: 'open' }), owned.start({ mode: 'open' })]);
  });
  afterAll(() => owned.stopAll());

  test('have their own port and storage, and skopeo copies between them without changing the digest', async () => {
    expect(first.host).not.toBe(second.host);
    expect(first.dir).not.toBe(second.dir);
    const image = minimalImage('parallel');
    expect((await pushImage(fetchClient(first), 'team/app', 'v1', image)).status).toBe(201);
    expect((await pullManifest(fetchClient(second), 'team/app', 'v1')).status).toBe(404);

    await skopeo([
      'copy',
      ...skopeoAccess(first, 'src'),
      ...skopeoAccess(second, 'dest'),
      `docker://${first.host}/team/app:v1`,
      `docker://${second.host}/team/app:v1`,
    ]);

    const copied = await pullManifest(fetchClient(second), 'team/app', 'v1');
    expect(copied.status).toBe(200);
    expect(header(copied, 'docker-content-digest')).toBe(image.manifestDigest);
  });
});

describe('basic-auth registry over TLS', () => {
  const owned = registries();
  let registry: LocalRegistry;
  let send: Send;
  let auth: Record<string, string>;
  beforeAll(async () => {
    registry = await owned.start({ mode: 'basic' });
    send = caClient(registry);
    auth = basicAuth(mainUser(registry).username, mainUser(registry).password);
  });
  afterAll(() => owned.stopAll());

  test('defaults to TLS and hands out the CA as PEM, a file and a cert dir', () => {
    expect(registry).toMatchObject({ mode: 'basic', tls: true, url: `https://${registry.host}` });
    expect(registry.caCertPem).toContain('-----BEGIN CERTIFICATE-----');
    expect(registry.caCertPath !== undefined && existsSync(registry.caCertPath)).toBe(true);
    expect(existsSync(`${registry.certDir}/ca.crt`)).toBe(true);
  });

  test('challenges for Basic credentials, accepts the right ones and refuses a wrong password', async () => {
    const anonymous = await send('GET', '/v2/');
    expect(anonymous.status).toBe(401);
    expect(header(anonymous, 'www-authenticate')).toMatch(/^Basic realm="/);

    expect((await send('GET', '/v2/', { headers: auth })).status).toBe(200);
    const readOnly = readOnlyUser(registry);
    expect(
      (await send('GET', '/v2/', { headers: basicAuth(readOnly.username, readOnly.password) })).status,
    ).toBe(200);

    const wrong = await send('GET', '/v2/', {
      headers: basicAuth(mainUser(registry).username, 'not-the-password'),
    });
    expect(wrong.status).toBe(401);
  });

  test('is refused by clients that do not trust the test CA', async () => {
    await expect(httpRequest(`${registry.url}/v2/`)).rejects.toMatchObject({
      code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/),
    });
    await expect(
      skopeo([
        'inspect',
        '--raw',
        `--creds=${registry.username}:${registry.password}`,
        `docker://${registry.host}/x:v1`,
      ]),
    ).rejects.toThrow(/x509|certificate/);
  });

  test('takes a push and serves the pull with credentials only', async () => {
    const image = minimalImage('basic');
    expect((await pushImage(send, 'team/app', 'v1', image)).status).toBe(401);
    const pushed = await pushImage(send, 'team/app', 'v1', image, auth);
    expect(pushed.status).toBe(201);

    expect((await pullManifest(send, 'team/app', 'v1')).status).toBe(401);
    const pulled = await pullManifest(send, 'team/app', 'v1', auth);
    expect(pulled.status).toBe(200);
    expect(pulled.body.equals(image.manifest)).toBe(true);
  });

  test('works for skopeo with the cert dir and credentials', async () => {
    const image = minimalImage('basic-skopeo');
    expect((await pushImage(send, 'team/source', 'v1', image, auth)).status).toBe(201);
    const user = mainUser(registry);
    await skopeo([
      'copy',
      ...skopeoAccess(registry, 'src', user),
      ...skopeoAccess(registry, 'dest', user),
      `docker://${registry.host}/team/source:v1`,
      `docker://${registry.host}/team/copy:v1`,
    ]);
    const raw = await skopeo([
      'inspect',
      '--raw',
      ...skopeoAccess(registry, '', user),
      `docker://${registry.host}/team/copy:v1`,
    ]);
    expect(Buffer.from(raw).equals(image.manifest)).toBe(true);
  });
});

/** Reads the registry's Bearer challenge and asks the realm it names for a token. */
async function requestToken(
  registry: LocalRegistry,
  scopes: string[],
  user?: { username: string; password: string },
): Promise<{ response: HttpResponse; token?: string }> {
  const challenge = header(await caClient(registry)('GET', '/v2/'), 'www-authenticate');
  const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
  const service = /service="([^"]+)"/.exec(challenge)?.[1];
  if (realm === undefined || service === undefined) throw new Error(`not a Bearer challenge: ${challenge}`);
  const url = new URL(realm);
  url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const response = await httpRequest(url.toString(), {
    headers: user === undefined ? {} : basicAuth(user.username, user.password),
    ca: registry.caCertPem,
  });
  if (response.status !== 200) return { response };
  return { response, token: (JSON.parse(response.body.toString('utf8')) as { token: string }).token };
}

function claims(token: string): { access: { type: string; name: string; actions: string[] }[]; sub: string } {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

function bearer(token: string | undefined): Record<string, string> {
  if (token === undefined) throw new Error('no token was issued');
  return { authorization: `Bearer ${token}` };
}

describe('token-auth registry over plain HTTP', () => {
  const owned = registries();
  let registry: LocalRegistry;
  let send: Send;
  beforeAll(async () => {
    registry = await owned.start({ mode: 'token' });
    send = fetchClient(registry);
  });
  afterAll(() => owned.stopAll());

  test('challenges with a Bearer realm and service', async () => {
    expect(registry).toMatchObject({ mode: 'token', tls: false });
    const response = await send('GET', '/v2/');
    expect(response.status).toBe(401);
    expect(header(response, 'www-authenticate')).toBe(
      `Bearer realm="${registry.tokenRealm}",service="${registry.tokenService}"`,
    );
  });

  test('lets the main user push and pull with a token scoped to the repository', async () => {
    const image = minimalImage('token');
    const { token } = await requestToken(registry, ['repository:team/app:pull,push'], mainUser(registry));
    expect(claims(token ?? '').access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
    ]);

    const pushed = await pushImage(send, 'team/app', 'v1', image, bearer(token));
    expect(pushed.status).toBe(201);
    const pulled = await pullManifest(send, 'team/app', 'v1', bearer(token));
    expect(pulled.status).toBe(200);
    expect(pulled.body.equals(image.manifest)).toBe(true);

    // The token covers team/app only.
    expect((await pullManifest(send, 'team/other', 'v1', bearer(token))).status).toBe(401);
    expect(registry.tokenRequests?.()).toContainEqual({
      username: mainUser(registry).username,
      scope: ['repository:team/app:pull,push'],
    });
  });

  test('gives the read-only user pull but not push', async () => {
    const image = minimalImage('token-read-only');
    const full = await requestToken(registry, ['repository:team/shared:pull,push'], mainUser(registry));
    expect((await pushImage(send, 'team/shared', 'v1', image, bearer(full.token))).status).toBe(201);

    const { token } = await requestToken(
      registry,
      ['repository:team/shared:pull,push'],
      readOnlyUser(registry),
    );
    expect(claims(token ?? '').access).toEqual([
      { type: 'repository', name: 'team/shared', actions: ['pull'] },
    ]);
    const refused = await pushImage(send, 'team/shared', 'v2', image, bearer(token));
    expect([401, 403]).toContain(refused.status);
    expect(header(refused, 'www-authenticate')).toContain('error="insufficient_scope"');
    expect(header(refused, 'www-authenticate')).toMatch(/scope="repository:team\/shared:[a-z,]*push/);

    // The grant is in the signed claims: widening it by hand breaks the signature.
    const [head, , signature] = (token ?? '').split('.');
    const widened = Buffer.from(
      JSON.stringify({
        ...claims(token ?? ''),
        access: [{ type: 'repository', name: 'team/shared', actions: ['pull', 'push'] }],
      }),
    ).toString('base64url');
    const forged = await pushImage(
      send,
      'team/shared',
      'v2',
      image,
      bearer(`${head}.${widened}.${signature}`),
    );
    expect(forged.status).toBe(401);
    expect(header(forged, 'www-authenticate')).toContain('error="invalid_token"');

    const pulled = await pullManifest(send, 'team/shared', 'v1', bearer(token));
    expect(pulled.status).toBe(200);
    expect(pulled.body.equals(image.manifest)).toBe(true);
  });

  test('refuses a well-formed token whose signing certificate does not chain to the token CA', async () => {
    const rogueDir = await makeTempDir('rogue-token-ca');
    try {
      const rogueCa = await createCertificateAuthority(rogueDir.path, 'ca', 'rogue CA');
      const rogue = await issueCertificate(rogueCa, rogueDir.path, {
        name: 'signer',
        commonName: 'rogue',
        kind: 'signing',
      });
      const token = signToken(
        tokenClaims(mainUser(registry).username, [
          { type: 'repository', name: 'team/app', actions: ['pull'] },
        ]),
        rogue,
      );
      const refused = await pullManifest(send, 'team/app', 'v1', bearer(token));
      expect(refused.status).toBe(401);
      expect(header(refused, 'www-authenticate')).toContain('error="invalid_token"');
    } finally {
      await rogueDir.remove();
    }
  });

  test('gives an anonymous request a token without access, and refuses wrong credentials', async () => {
    const image = minimalImage('token-anonymous');
    const full = await requestToken(registry, ['repository:team/private:pull,push'], mainUser(registry));
    expect((await pushImage(send, 'team/private', 'v1', image, bearer(full.token))).status).toBe(201);

    const anonymous = await requestToken(registry, ['repository:team/private:pull']);
    expect(anonymous.response.status).toBe(200);
    expect(claims(anonymous.token ?? '').access).toEqual([]);
    expect((await pullManifest(send, 'team/private', 'v1', bearer(anonymous.token))).status).toBe(401);
    expect(registry.tokenRequests?.()).toContainEqual({ scope: ['repository:team/private:pull'] });

    const wrong = await requestToken(registry, ['repository:team/private:pull'], {
      username: mainUser(registry).username,
      password: 'not-the-password',
    });
    expect(wrong.response.status).toBe(401);
    expect(registry.log()).toContain('token issuer: 401');
  });

  test('works for skopeo over plain HTTP', async () => {
    const image = minimalImage('token-http-skopeo');
    const full = await requestToken(registry, ['repository:team/raw:pull,push'], mainUser(registry));
    expect((await pushImage(send, 'team/raw', 'v1', image, bearer(full.token))).status).toBe(201);
    const raw = await skopeo([
      'inspect',
      '--raw',
      ...skopeoAccess(registry, '', readOnlyUser(registry)),
      `docker://${registry.host}/team/raw:v1`,
    ]);
    expect(Buffer.from(raw).equals(image.manifest)).toBe(true);
  });
});

describe('token-auth registry over TLS', () => {
  const owned = registries();
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await owned.start({ mode: 'token', tls: true });
  });
  afterAll(() => owned.stopAll());

  test('serves the token realm over TLS too, and skopeo pushes, copies and pulls through it', async () => {
    expect(registry.url).toBe(`https://${registry.host}`);
    expect(registry.tokenRealm).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
    const image = minimalImage('token-tls');
    const full = await requestToken(registry, ['repository:team/source:pull,push'], mainUser(registry));
    expect((await pushImage(caClient(registry), 'team/source', 'v1', image, bearer(full.token))).status).toBe(
      201,
    );

    await skopeo([
      'copy',
      ...skopeoAccess(registry, 'src', mainUser(registry)),
      ...skopeoAccess(registry, 'dest', mainUser(registry)),
      `docker://${registry.host}/team/source:v1`,
      `docker://${registry.host}/team/copy:v1`,
    ]);
    const raw = await skopeo([
      'inspect',
      '--raw',
      ...skopeoAccess(registry, '', readOnlyUser(registry)),
      `docker://${registry.host}/team/copy:v1`,
    ]);
    expect(Buffer.from(raw).equals(image.manifest)).toBe(true);

    await expect(
      skopeo([
        'copy',
        ...skopeoAccess(registry, 'src', readOnlyUser(registry)),
        ...skopeoAccess(registry, 'dest', readOnlyUser(registry)),
        `docker://${registry.host}/team/source:v1`,
        `docker://${registry.host}/team/denied:v1`,
      ]),
    ).rejects.toThrow(/denied|unauthorized/i);

    const scopes = (registry.tokenRequests?.() ?? [])
      .filter((r) => r.username === mainUser(registry).username)
      .flatMap((r) => r.scope);
    expect(scopes).toContain('repository:team/copy:pull,push');
  });
});

describe('stop()', () => {
  // The combinations the other tests do not start: basic without TLS, token with TLS.
  test.each([
    { mode: 'open', tls: false },
    { mode: 'basic', tls: false },
    { mode: 'token', tls: true },
  ] as const)('removes the temporary directory and frees the ports ($mode, tls: $tls)', async (options) => {
    const registry = await startRegistry(options);
    expect(registry.url.startsWith(options.tls ? 'https://' : 'http://')).toBe(true);
    const ports = [
      registry.host,
      ...(registry.tokenRealm === undefined ? [] : [new URL(registry.tokenRealm).host]),
    ].map((host) => Number(host.split(':')[1]));
    expect(existsSync(registry.dir)).toBe(true);
    for (const port of ports) expect(await portIsFree(port)).toBe(false);

    await registry.stop();
    await registry.stop();

    expect(existsSync(registry.dir)).toBe(false);
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
  });
});
