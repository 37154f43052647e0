import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type LocalPrometheus,
  type LocalRegistry,
  makeTempDir,
  runAction,
  startPrometheus,
  startRegistry,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { pushRandomImage } from '../harness/images.js';

/**
 * Issue 13, item 11: the built canary-deploy action against a real registry, a real Prometheus and a
 * health endpoint on 127.0.0.1 that the test scripts.
 */
let registry: LocalRegistry;
let client: RegistryClient;
let prometheus: LocalPrometheus;
let stableDigest: string;
let canaryDigest: string;
let otherDigest: string;
const repository = 'sec/app';

/** A health endpoint: answers `status`, records each request's headers, and runs `onRequest` first. */
const health = {
  server: undefined as Server | undefined,
  url: '',
  status: 200,
  seen: [] as IncomingHttpHeaders[],
  onRequest: undefined as ((n: number) => Promise<void>) | undefined,
};
/** A webhook receiver: keeps every body as text. */
const hook = { server: undefined as Server | undefined, url: '', bodies: [] as string[] };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  [registry, prometheus] = await Promise.all([startRegistry(), startPrometheus({ targets: [] })]);
  client = new RegistryClient(registry.host);
  const push = async (seed: number, tag: string) =>
    (await pushRandomImage(registry, { repository, tag, layers: 1, totalBytes: 256, seed })).digest;
  stableDigest = await push(41, 'production');
  canaryDigest = await push(42, 'build-42');
  otherDigest = await push(43, 'build-43');
  health.server = createServer((request, response) => {
    health.seen.push(request.headers);
    const run = health.onRequest?.(health.seen.length) ?? Promise.resolve();
    run.then(() => {
      response.writeHead(health.status, health.status === 302 ? { location: '/login' } : {});
      response.end('ok');
    });
  });
  health.url = await listen(health.server);
  hook.server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      hook.bodies.push(body);
      response.writeHead(200);
      response.end();
    });
  });
  hook.url = `${await listen(hook.server)}/hooks/team`;
});
afterAll(async () => {
  await client?.close();
  for (const server of [health.server, hook.server]) {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
  await Promise.all([registry?.stop(), prometheus?.stop()]);
});
beforeEach(async () => {
  health.status = 200;
  health.seen.length = 0;
  health.onRequest = undefined;
  hook.bodies.length = 0;
  const manifest = await client.getManifest(repository, stableDigest);
  await client.putManifest(repository, 'canary', manifest.bytes, manifest.mediaType);
});

/** What the action wrote, less its own ::add-mask:: commands (which name the secret to the runner). */
const printed = (result: Awaited<ReturnType<typeof runAction>>) =>
  `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');

const tagDigest = async (tag: string) => (await client.headManifest(repository, tag))?.digest;

const inputs = (extra: Record<string, string> = {}) => ({
  image: `${registry.host}/${repository}`,
  digest: canaryDigest,
  'health-url': `${health.url}/healthz`,
  interval: '100ms',
  duration: '500ms',
  'min-samples': '1',
  ...extra,
});

describe('canary-deploy: rollback and health', () => {
  test('a rollback leaves the canary tag alone when another run moved it after this one deployed', async () => {
    health.status = 500;
    // The first request is the preflight, before the deploy; at the second the canary is out, and
    // another run puts its own digest on the canary tag.
    health.onRequest = async (n) => {
      if (n !== 2) return;
      const other = await client.getManifest(repository, otherDigest);
      await client.putManifest(repository, 'canary', other.bytes, other.mediaType);
    };
    const result = await runAction('canary-deploy', { inputs: inputs({ duration: '3s' }) });
    expect(result.outputs.result).toBe('rolled-back');
    expect(result.exitCode).not.toBe(0);
    expect(await tagDigest('canary')).toBe(otherDigest);
    expect(result.annotations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warning',
          message: expect.stringMatching(
            new RegExp(`canary as it is: it points to ${otherDigest}, not to ${canaryDigest}`),
          ),
        }),
      ]),
    );
  });

  test('a redirect is not a healthy answer: a canary that only redirects is rolled back', async () => {
    health.status = 302;
    const result = await runAction('canary-deploy', { inputs: inputs({ duration: '3s' }) });
    expect(result.outputs.result).toBe('rolled-back');
    expect(result.exitCode).not.toBe(0);
    expect(await tagDigest('canary')).toBe(stableDigest);
  });
});

describe('canary-deploy: credentials in URLs', () => {
  test('userinfo of the health URL is masked, sent as Basic auth, and never in messages, the analysis or the webhook', async () => {
    const temp = await makeTempDir('canary-userinfo');
    try {
      const url = new URL(`${health.url}/healthz`);
      url.username = 'probe-user';
      url.password = 'pr0be-s3cret';
      const result = await runAction('canary-deploy', {
        inputs: inputs({ 'health-url': url.href, 'webhook-url': hook.url }),
        env: { RUNNER_TEMP: temp.path },
      });
      expect(result.masks).toContain('pr0be-s3cret');
      expect(result.exitCode).toBe(0);
      expect(printed(result)).not.toContain('pr0be-s3cret');
      expect(result.summary).not.toContain('pr0be-s3cret');
      expect(await readFile(result.outputs.analysis as string, 'utf8')).not.toContain('pr0be-s3cret');
      expect(hook.bodies.join('\n')).not.toContain('pr0be-s3cret');
      const basic = `Basic ${Buffer.from('probe-user:pr0be-s3cret').toString('base64')}`;
      expect(health.seen.length).toBeGreaterThan(0);
      expect(health.seen.every((h) => h.authorization === basic)).toBe(true);
    } finally {
      await temp.remove();
    }
  });

  test('a health URL with userinfo that cannot be reached: the error names it without the password', async () => {
    const result = await runAction('canary-deploy', {
      inputs: inputs({ 'health-url': 'http://probe-user:pr0be-s3cret@127.0.0.1:9/healthz' }),
    });
    expect(result.exitCode).not.toBe(0);
    const error = result.annotations.find((a) => a.level === 'error')?.message ?? '';
    expect(error).toMatch(/^The health URL http:\/\/probe-user@127\.0\.0\.1:9\/healthz cannot be reached/);
    expect(printed(result)).not.toContain('pr0be-s3cret');
  });

  test('userinfo of the Prometheus URL is masked and never in messages, the analysis or the webhook', async () => {
    const temp = await makeTempDir('canary-prometheus');
    try {
      const url = new URL(prometheus.url);
      url.username = 'prom-user';
      url.password = 'pr0m-s3cret';
      const always = (value: string) => `(sum(up{job="{canary}"}) or vector(0)) * 0 + ${value}`;
      const result = await runAction('canary-deploy', {
        inputs: inputs({
          metrics: 'prometheus',
          'health-url': '',
          'prometheus-url': url.href,
          'error-rate-query': always('0'),
          'latency-query': always('0.01'),
          'no-data': 'fail',
          'webhook-url': hook.url,
        }),
        env: { RUNNER_TEMP: temp.path },
      });
      expect(result.masks).toContain('pr0m-s3cret');
      expect(printed(result) + result.summary).not.toContain('pr0m-s3cret');
      const analysis = await readFile(result.outputs.analysis as string, 'utf8');
      expect(analysis).not.toContain('pr0m-s3cret');
      expect(hook.bodies.join('\n')).not.toContain('pr0m-s3cret');
      expect(analysis).not.toContain('unavailable');
      expect(result.outputs.result).toBe('promoted');
    } finally {
      await temp.remove();
    }
  });
});

describe('canary-deploy: nginx inputs cannot inject configuration', () => {
  test.each([
    [
      'nginx-stable-server',
      '127.0.0.1:8080; } server { listen 9999; location / { return 200; } } upstream x {',
    ],
    ['nginx-canary-server', '127.0.0.1:8081\n  server 10.0.0.1:80'],
    ['nginx-upstream', 'app { server 127.0.0.1:1; } #'],
  ])('refuses %s with nginx syntax in it, before the config file is written', async (input, value) => {
    const temp = await makeTempDir('canary-nginx');
    try {
      const configPath = join(temp.path, 'upstream.conf');
      const original = '# owned by digestline\n';
      await writeFile(configPath, original);
      const result = await runAction('canary-deploy', {
        inputs: inputs({
          provider: 'nginx',
          'nginx-config': configPath,
          'nginx-reload-command': 'true',
          'nginx-stable-server': '127.0.0.1:8080',
          'nginx-canary-server': '127.0.0.1:8081',
          [input]: value,
        }),
      });
      expect(result.exitCode).not.toBe(0);
      const error = result.annotations.find((a) => a.level === 'error')?.message ?? '';
      expect(error).toMatch(new RegExp(`^Input "${input}" must be`));
      expect(await readFile(configPath, 'utf8')).toBe(original);
    } finally {
      await temp.remove();
    }
  });
});

describe('canary-deploy: kubeconfig credentials', () => {
  test('masks the secrets of exec plugins and auth providers before anything can print them', async () => {
    const temp = await makeTempDir('canary-kube');
    try {
      const kubeconfig = join(temp.path, 'config');
      await writeFile(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: test',
          'clusters:',
          '- name: test',
          '  cluster: {server: "https://127.0.0.1:9"}',
          'contexts:',
          '- name: test',
          '  context: {cluster: test, user: exec-user}',
          'users:',
          '- name: exec-user',
          '  user:',
          '    exec:',
          '      apiVersion: client.authentication.k8s.io/v1',
          '      command: /bin/false',
          '      args: ["--token=ex3c-arg-s3cret", "--region", "eu-west-1"]',
          '      env:',
          '      - {name: CLOUD_SECRET, value: ex3c-env-s3cret}',
          '      interactiveMode: Never',
          '- name: oidc-user',
          '  user:',
          '    auth-provider:',
          '      name: oidc',
          '      config:',
          '        client-id: digestline',
          '        client-secret: 0idc-client-s3cret',
          '        id-token: 0idc-id-t0ken',
          '        refresh-token: 0idc-refresh-t0ken',
          '        idp-issuer-url: https://issuer.example',
          '',
        ].join('\n'),
      );
      const result = await runAction('canary-deploy', {
        inputs: inputs({
          provider: 'kubernetes',
          kubeconfig,
          'canary-deployment': 'app-canary',
          container: 'app',
          'canary-ingress': 'app-canary',
        }),
      });
      for (const secret of [
        'ex3c-arg-s3cret',
        'ex3c-env-s3cret',
        '0idc-client-s3cret',
        '0idc-id-t0ken',
        '0idc-refresh-t0ken',
      ]) {
        expect(result.masks).toContain(secret);
        expect(result.log).not.toContain(secret);
      }
      expect(result.masks).not.toContain('eu-west-1');
      expect(result.masks).not.toContain('digestline');
    } finally {
      await temp.remove();
    }
  });
});
