import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mergeScopes, parseChallenges } from '../src/auth.js';
import { dockerConfigCredentials } from '../src/docker-config.js';
import { InvalidReferenceError, RegistryClient } from '../src/index.js';
import { backoffDelay, parseRetryAfter, retryPolicy } from '../src/retry.js';
import { isLoopback, registryOrigin } from '../src/transport/http.js';

describe('Retry-After and backoff', () => {
  test('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  test('doubles the delay per failure up to the cap, keeping at least half of each step', () => {
    const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, () => 0.999_999))).toEqual(
      [100, 200, 400, 800, 1000].map((step) => expect.closeTo(step, 2)),
    );
  });

  test('refuses a policy that cannot work', () => {
    expect(() => retryPolicy({ attempts: 0 })).toThrow('retry.attempts must be at least 1, got 0');
    expect(() => retryPolicy({ totalTimeoutMs: -1 })).toThrow(
      'retry.totalTimeoutMs must be a number ≥ 0, got -1',
    );
  });
});

describe('challenges and scopes', () => {
  test('parses Bearer parameters, quoted commas included', () => {
    expect(
      parseChallenges([
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error="insufficient_scope"',
      ]),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull,push',
          error: 'insufficient_scope',
        },
      },
    ]);
  });

  test('separates several challenges in one header and in several', () => {
    const challenges = parseChallenges([
      'Basic realm="r1", Bearer realm="https://t/x",service=s',
      'Negotiate',
    ]);
    expect(challenges).toEqual([
      { scheme: 'basic', params: { realm: 'r1' } },
      { scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } },
      { scheme: 'negotiate', params: {} },
    ]);
  });

  test('merges the actions of scopes on one resource', () => {
    expect(
      mergeScopes(['repository:a:pull', 'repository:b:pull'], ['repository:a:push', 'repository:a:pull']),
    ).toEqual(['repository:a:pull,push', 'repository:b:pull']);
    expect(mergeScopes(['repository:127.0.0.1:5000/x:pull'])).toEqual(['repository:127.0.0.1:5000/x:pull']);
  });
});

describe('Docker config.json', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  const config = async (content: unknown) => {
    const path = join(dir.path, `config-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(path, JSON.stringify(content));
    return path;
  };
  beforeAll(async () => {
    dir = await makeTempDir('oci-docker-config');
  });
  afterAll(() => dir.remove());

  test('finds Docker Hub credentials under the index URL Docker writes', async () => {
    const path = await config({
      auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:p:w').toString('base64') } },
    });
    await expect(dockerConfigCredentials('docker.io', path)).resolves.toEqual({
      credentials: { username: 'hubuser', password: 'p:w' },
      source: `user "hubuser" from the Docker config ${path} (auths["https://index.docker.io/v1/"])`,
    });
  });

  test('takes an identity token over a password, and username/password fields without auth', async () => {
    const path = await config({
      auths: {
        'ghcr.io': { auth: Buffer.from('u:p').toString('base64'), identitytoken: 'refresh' },
        'quay.io': { username: 'quser', password: 'qpass' },
      },
    });
    await expect(dockerConfigCredentials('ghcr.io', path)).resolves.toMatchObject({
      credentials: { username: '<token>', password: 'refresh' },
      source: expect.stringMatching(/^an identity token from the Docker config/),
    });
    await expect(dockerConfigCredentials('quay.io', path)).resolves.toMatchObject({
      credentials: { username: 'quser', password: 'qpass' },
    });
  });

  test('names a missing or broken file that was asked for', async () => {
    const missing = join(dir.path, 'absent.json');
    await expect(dockerConfigCredentials('ghcr.io', missing)).rejects.toThrow(
      `could not read the Docker config ${missing}`,
    );
    const broken = join(dir.path, 'broken.json');
    await writeFile(broken, '{"auths":');
    await expect(dockerConfigCredentials('ghcr.io', broken)).rejects.toThrow(
      `the Docker config ${broken} is not valid JSON`,
    );
  });
});

describe('transport choices', () => {
  test('uses plain HTTP only on this machine or when told the registry is insecure', () => {
    expect(registryOrigin('ghcr.io', {}).href).toBe('https://ghcr.io/');
    expect(registryOrigin('127.0.0.1:5000', {}).href).toBe('http://127.0.0.1:5000/');
    expect(registryOrigin('127.9.9.9:5000', {}).protocol).toBe('http:');
    expect(registryOrigin('localhost:5000', {}).protocol).toBe('http:');
    expect(registryOrigin('[::1]:5000', {}).protocol).toBe('http:');
    expect(registryOrigin('localhost:5000', { tls: true }).protocol).toBe('https:');
    expect(registryOrigin('registry.internal:5000', { insecure: true }).protocol).toBe('http:');
    expect(registryOrigin('128.0.0.1', {}).protocol).toBe('https:');
    expect(isLoopback('localhost.example.com')).toBe(false);
  });

  test('checks the registry, repository and reference before building a URL from them', async () => {
    expect(() => new RegistryClient('https://ghcr.io')).toThrow(InvalidReferenceError);
    expect(() => new RegistryClient('ghcr.io/org')).toThrow('invalid registry "ghcr.io/org"');
    const client = new RegistryClient('127.0.0.1:1');
    await expect(client.getManifest('team/../admin', 'v1')).rejects.toThrow(
      'invalid repository: repository path component ".." must be lower-case letters and digits',
    );
    await expect(client.getManifest('team/app', 'v1?n=1')).rejects.toThrow(
      'invalid manifest reference: tag "v1?n=1"',
    );
    await expect(client.blobExists('team/app', 'sha256:abc')).rejects.toThrow(
      'invalid digest: digest "sha256:abc"',
    );
    await client.close();
  });
});
