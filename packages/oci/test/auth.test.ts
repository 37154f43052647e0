import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalRegistry } from '@digestline/local';
import { makeTempDir } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RegistryClient, RegistryError } from '../src/index.js';
import { pushSmallImage, resources } from './helpers.js';

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as RegistryError,
  );

describe('basic auth over TLS', () => {
  const owned = resources();
  let registry: LocalRegistry;
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  const writeConfig = async (name: string, config: unknown) => {
    const path = join(temp.path, name);
    await writeFile(path, JSON.stringify(config));
    return path;
  };
  const basicAuth = () => Buffer.from(`${registry.username}:${registry.password}`).toString('base64');

  beforeAll(async () => {
    registry = await owned.registry({ mode: 'basic' });
    temp = await makeTempDir('oci-auth');
    owned.onClose(() => temp.remove());
  });
  afterAll(() => owned.closeAll());

  test('names the registry and the user whose password was refused, never the password', async () => {
    const client = owned.client(registry, {
      credentials: { username: 'pusher', password: 'wrong-password' },
    });
    const error = await failure(client.ping());
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ status: 401, registry: registry.host });
    expect(error?.message).toBe(
      `checking the registry API of ${registry.host} failed: HTTP 401 UNAUTHORIZED (authentication required). ` +
        'Credentials used: user "pusher" from the credentials option. ' +
        `Fix: the registry refused them; check the username and the password or token for ${registry.host}.`,
    );
    expect(error?.message).not.toContain('wrong-password');
  });

  test('tells an anonymous client that the registry wants credentials and where none were found', async () => {
    const dockerConfig = await writeConfig('other-registry.json', {
      auths: { 'ghcr.io': { auth: basicAuth() } },
    });
    const client = owned.client(registry, { user: 'none', dockerConfig });
    const error = await failure(client.getManifest('team/app', 'v1'));
    expect(error).toMatchObject({ status: 401, repository: 'team/app' });
    expect(error?.message).toContain(
      `Credentials used: no credentials (none for ${registry.host} in ${dockerConfig}).`,
    );
    expect(error?.message).toContain(`Fix: ${registry.host} requires authentication`);
  });

  test('uses the base64 auth of a Docker config.json, keyed with or without a scheme', async () => {
    for (const key of [registry.host, `https://${registry.host}/v2/`]) {
      const dockerConfig = await writeConfig('config.json', { auths: { [key]: { auth: basicAuth() } } });
      const client = owned.client(registry, { user: 'none', dockerConfig });
      const image = await pushSmallImage(client, 'team/config', 'v1');
      await expect(client.headManifest('team/config', 'v1')).resolves.toMatchObject({ digest: image.digest });
    }
  });

  test('reads $DOCKER_CONFIG/config.json when no config is named', async () => {
    const dir = join(temp.path, 'docker');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth: basicAuth() } } }),
    );
    const saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dir;
    try {
      const client = new RegistryClient(registry.host, { tls: true, ca: registry.caCertPem });
      owned.onClose(() => client.close());
      await expect(client.ping()).resolves.toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
    }
  });

  test('explains that a credential helper named in the config is not run', async () => {
    const dockerConfig = await writeConfig('helper.json', {
      auths: {},
      credHelpers: { [registry.host]: 'secretservice' },
    });
    const error = await failure(owned.client(registry, { user: 'none', dockerConfig }).ping());
    expect(error?.message).toContain(
      `leaves ${registry.host} to docker-credential-secretservice, a credential helper digestline does not run`,
    );
  });

  test('refuses an unreadable auth entry with the file and the entry it came from', async () => {
    const dockerConfig = await writeConfig('broken.json', {
      auths: { [registry.host]: { auth: 'bm8tY29sb24=' } },
    });
    const error = await failure(owned.client(registry, { user: 'none', dockerConfig }).ping());
    expect(error?.message).toContain(
      `${dockerConfig} (auths["${registry.host}"]) has an "auth" that is not base64 of username:password`,
    );
  });

  test('says to pass the CA when the registry certificate is not trusted', async () => {
    const client = owned.client(registry, { ca: undefined });
    const error = await failure(client.ping());
    expect(error?.message).toContain(`checking the registry API of ${registry.host} failed:`);
    expect(error?.message).toContain(
      "Fix: pass the CA that signed the registry's certificate (the ca option)",
    );
  });
});

describe('bearer tokens', () => {
  const owned = resources();
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await owned.registry({ mode: 'token' });
  });
  afterAll(() => owned.closeAll());

  test('asks the token service once per scope and reuses the token', async () => {
    const client = owned.client(registry);
    const before = registry.tokenRequests?.().length ?? 0;
    const image = await pushSmallImage(client, 'team/cache', 'v1');
    await client.ping();
    for (let i = 0; i < 3; i++) await client.getManifest('team/cache', 'v1');
    await client.blobExists('team/cache', image.digest);
    await pushSmallImage(client, 'team/cache', 'v2');
    await client.getManifest('team/other', 'v1').catch(() => undefined);
    expect(registry.tokenRequests?.().slice(before)).toEqual([
      { username: 'pusher', scope: ['repository:team/cache:pull'] },
      { username: 'pusher', scope: ['repository:team/cache:pull,push'] },
      { username: 'pusher', scope: [] },
      { username: 'pusher', scope: ['repository:team/other:pull'] },
    ]);
  });

  test('names the token service and the user when it refuses the password', async () => {
    const client = owned.client(registry, { credentials: { username: 'pusher', password: 'not-it' } });
    const error = await failure(client.getManifest('team/app', 'v1'));
    expect(error).toMatchObject({ status: 401, registry: registry.host });
    expect(error?.message).toContain(
      `getting a token for repository:team/app:pull from ${registry.tokenRealm} for ${registry.host} failed: HTTP 401 (incorrect username or password).`,
    );
    expect(error?.message).toContain('Credentials used: user "pusher" from the credentials option.');
    expect(error?.message).not.toContain('not-it');
  });

  test('tells a read-only user that pushing needs push access, and lets it pull', async () => {
    const writer = owned.client(registry);
    const image = await pushSmallImage(writer, 'team/readonly', 'v1');
    const reader = owned.client(registry, { user: 'readOnly' });
    await expect(reader.getManifest('team/readonly', 'v1')).resolves.toMatchObject({ digest: image.digest });

    const error = await failure(reader.pushBlob('team/readonly', 'from a reader'));
    expect(error).toMatchObject({ status: 401, registryCode: 'UNAUTHORIZED', repository: 'team/readonly' });
    expect(error?.message).toContain(
      `starting an upload to ${registry.host}/team/readonly failed: HTTP 401 UNAUTHORIZED`,
    );
    expect(error?.message).toContain(
      `Credentials used: user "puller" from the credentials option. They are not allowed to push to team/readonly. ` +
        `Fix: use credentials with push access to ${registry.host}/team/readonly.`,
    );
  });

  test('pings anonymously but tells an anonymous puller to authenticate', async () => {
    const client = owned.client(registry, { user: 'none' });
    await expect(client.ping()).resolves.toBeUndefined();
    const error = await failure(client.getManifest('team/app', 'v1'));
    expect(error).toMatchObject({ status: 401 });
    expect(error?.message).toContain(`Fix: ${registry.host} requires authentication`);
  });
});
