import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type ActionResult,
  freePort,
  type LocalPostgres,
  type LocalRegistry,
  makeTempDir,
  type RunActionOptions,
  runAction,
  startPostgres,
  startRegistry,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SPDX, WORKFLOW_REF, writeProject } from '../../actions/build-and-sign/test/helpers.js';
import { expectDeployment } from '../../actions/promote/test/deployments-fixture.js';
import { makeKeys, pushSignedImage, type TestKeys } from '../../packages/promotion/test/helpers.js';
import { corpusPath } from '../harness/corpus.js';
import { startFaultProxy } from '../harness/fault-proxy.js';
import { type GitHubFixture, startGitHub } from '../harness/github.js';
import { pushRandomImage } from '../harness/images.js';
import { type SampleApp, startSampleApp } from '../harness/sample-app.js';
import { type ChildCall, type ChildRecorder, recordChildren, runnerVariables } from './children.js';
import { findLeaks, type Places, Secrets } from './leaks.js';

/*
 * Issue 13, "Fuzz and sweep": every action runs with each secret input set to a value of its own (and a
 * multi-line PEM key) through its success path and its main failure paths. No secret may show up in
 * stdout or stderr (except the ::add-mask:: line that registers it), the job summary, outputs, state,
 * the files the run wrote (reports, SARIF, the analysis), what it pushed to the registry, what it sent to
 * GitHub or a webhook, or the arguments of a process it started; and no process it started may get an
 * INPUT_, ACTIONS_ or STATE_ variable.
 */

const secrets = new Secrets();
/** The runner's own tokens, present in every run's environment like on a runner. */
const RUNNER = {
  ACTIONS_RUNTIME_TOKEN: secrets.marker('ACTIONS_RUNTIME_TOKEN'),
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: secrets.marker('ACTIONS_ID_TOKEN_REQUEST_TOKEN'),
};
const GITHUB_TOKEN = secrets.marker('github-token');

let registry: LocalRegistry;
let github: GitHubFixture;
let runnerTemps: { path: string; remove(): Promise<void> };
let keys: TestKeys;
let credentials: { 'registry-username': string; 'registry-password': string };

beforeAll(async () => {
  [registry, github, keys, runnerTemps] = await Promise.all([
    startRegistry({ mode: 'token' }),
    startGitHub({ token: GITHUB_TOKEN }),
    makeKeys(secrets.marker('cosign-password')),
    makeTempDir('sweep-runner-temp'),
  ]);
  secrets.add('cosign-private-key', keys.encryptedPem);
  credentials = {
    'registry-username': registry.username ?? '',
    'registry-password': secrets.add('registry-password', registry.password ?? ''),
  };
});

afterAll(async () => {
  await Promise.all([registry?.stop(), github?.stop(), runnerTemps?.remove()]);
});

/** One run of an action with a RUNNER_TEMP of its own that outlives it, so what it wrote there can be searched. */
async function sweepRun(
  action: string,
  options: RunActionOptions & { workspace: string },
): Promise<{ result: ActionResult; runnerTemp: string }> {
  const runnerTemp = await mkdtemp(join(runnerTemps.path, `${action}-`));
  const result = await runAction(action, {
    ...options,
    env: { ...RUNNER, RUNNER_TEMP: runnerTemp, GITHUB_API_URL: github.url, ...options.env },
  });
  return { result, runnerTemp };
}

/** Every leak of a run, and every runner variable a process it started got. */
async function expectClean(places: Places): Promise<void> {
  expect(await findLeaks(secrets, places)).toEqual([]);
  const exposed = (places.calls ?? []).flatMap((call: ChildCall) =>
    runnerVariables(call).map((name) => `${call.tool} got ${name}`),
  );
  expect([...new Set(exposed)]).toEqual([]);
}

const errorsOf = (result: ActionResult) =>
  result.annotations.filter((a) => a.level === 'error').map((a) => a.message);

const storage = () => join(registry.dir, 'storage');

describe('the sweep itself', () => {
  test('finds a secret in the log, in files (plain, base64 in JSON, gzipped), in sent bodies and in arguments, but not where it is registered', async () => {
    const own = new Secrets();
    const token = own.marker('token');
    const pem = own.add('key', `-----BEGIN KEY-----\n${'A'.repeat(40)}\n-----END KEY-----`);
    const dir = await makeTempDir('sweep-self');
    try {
      await writeFile(join(dir.path, 'plain.txt'), `x ${token} y`);
      const payload = Buffer.from(`{"tt":"${token}"}`).toString('base64');
      await writeFile(join(dir.path, 'bundle.json'), JSON.stringify({ payload }));
      await writeFile(join(dir.path, 'layer.gz'), gzipSync(`line\n${pem.split('\n')[1]}\n`));
      const result = {
        stdout: `::add-mask::${token}\nclean\n`,
        stderr: `failed: ${token}\n`,
        summary: '',
        outputs: {},
        state: {},
        exportedEnv: {},
      } as unknown as ActionResult;
      const leaks = await findLeaks(own, {
        result,
        dirs: { workspace: dir.path },
        values: { 'GitHub requests': { sarif: gzipSync(`{"uri":"${token}"}`).toString('base64') } },
        calls: [{ tool: 'sh', args: ['-c', `deploy --token ${token}`], env: {} }],
      });
      expect(leaks.sort()).toEqual(
        [
          'stderr: token',
          'workspace/plain.txt: token',
          'workspace/bundle.json: token',
          'workspace/layer.gz: key',
          'GitHub requests: token',
          'arguments of sh: token',
        ].sort(),
      );
    } finally {
      await dir.remove();
    }
  });
});

describe('build-and-sign', () => {
  let workspace: { path: string; remove(): Promise<void> };
  let children: ChildRecorder;

  beforeAll(async () => {
    workspace = await makeTempDir('sweep-build');
    await writeProject(workspace.path);
    children = await recordChildren({
      buildah: 'exec /usr/bin/buildah "$@"',
      // syft's stand-in: the SBOM goes where `-o spdx-json=<path>` says.
      syft: `for arg in "$@"; do case "$arg" in spdx-json=*) printf '%s' '${SPDX}' > "\${arg#spdx-json=}";; esac; done`,
    });
  });
  afterAll(async () => {
    await Promise.all([workspace?.remove(), children?.remove()]);
  });

  const build = (inputs: Record<string, string>, image = `${registry.host}/sweep/build`) =>
    sweepRun('build-and-sign', {
      workspace: workspace.path,
      env: { GITHUB_WORKFLOW_REF: WORKFLOW_REF, PATH: children.path },
      inputs: {
        image,
        builder: 'buildah',
        sbom: 'auto',
        'cosign-private-key': keys.encryptedPem,
        'cosign-password': keys.password,
        'github-token': GITHUB_TOKEN,
        ...credentials,
        ...inputs,
      },
    });

  test('success, a wrong key password, refused credentials and a failure after the push leak nothing', async () => {
    const success = await build({});
    expect(errorsOf(success.result)).toEqual([]);
    expect(success.result.exitCode).toBe(0);
    expect(success.result.outputs['sbom-path']).not.toBe('');

    const wrongPassword = await build({ 'cosign-password': secrets.marker('wrong cosign-password') });
    expect(errorsOf(wrongPassword.result)).toEqual([expect.stringContaining('cosign-password')]);

    const refused = await build({ 'registry-password': secrets.marker('wrong registry-password') });
    expect(errorsOf(refused.result)).toEqual([expect.stringContaining('refused')]);

    const proxy = await startFaultProxy({ url: registry.url });
    let halfway: Awaited<ReturnType<typeof build>>;
    try {
      proxy.fault({ method: 'PUT', path: /\/manifests\/sha-/, respond: { status: 400, body: '{}' } });
      halfway = await build({}, `${proxy.host}/sweep/halfway`);
    } finally {
      await proxy.close();
    }
    expect(errorsOf(halfway.result)).toEqual([expect.stringContaining('not tagged')]);

    const calls = await children.calls();
    expect(calls.map((c) => c.tool)).toEqual(expect.arrayContaining(['buildah', 'syft']));
    for (const run of [success, wrongPassword, refused, halfway]) {
      await expectClean({ result: run.result, dirs: { RUNNER_TEMP: run.runnerTemp } });
    }
    await expectClean({
      dirs: { workspace: workspace.path, registry: storage() },
      calls,
    });
  });
});

describe('scan-gate', () => {
  let workspace: { path: string; remove(): Promise<void> };
  let children: ChildRecorder;

  beforeAll(async () => {
    workspace = await makeTempDir('sweep-scan');
    await mkdir(join(workspace.path, 'reports'));
    await copyFile(
      corpusPath('trivy/trivy-image-alpine-310.json'),
      join(workspace.path, 'reports/pass.json'),
    );
    children = await recordChildren({
      // Trivy's stand-in: the juice-shop report goes where `--output` says.
      trivy: `previous=; for arg in "$@"; do [ "$previous" = --output ] && cp '${corpusPath('trivy/trivy-image-juice-shop-LARGE.json')}' "$arg"; previous=$arg; done`,
    });
  });
  afterAll(async () => {
    await Promise.all([workspace?.remove(), children?.remove()]);
  });

  const gate = (inputs: Record<string, string>) =>
    sweepRun('scan-gate', {
      workspace: workspace.path,
      env: { PATH: children.path },
      inputs: { 'github-token': GITHUB_TOKEN, ...inputs },
    });

  test('a passing gate with an upload, a blocking Trivy scan and a refused upload leak nothing', async () => {
    const first = github.requests.length;
    github.on('code-scanning/upload-sarif', {
      status: 202,
      body: {
        id: '47177e22-5596-11eb-80a1-c1e54ef945c6',
        url: 'https://api.github.com/repos/octo-org/octo-repo/code-scanning/sarifs/47177e22-5596-11eb-80a1-c1e54ef945c6',
      },
    });
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'complete', analyses_url: null },
    });
    const passed = await gate({ reports: 'reports/pass.json', 'upload-sarif': 'true' });
    expect(errorsOf(passed.result)).toEqual([]);
    expect(passed.result.exitCode).toBe(0);

    const blocked = await gate({ 'scan-image': 'team/app:1', sarif: 'out/blocked.sarif' });
    expect(blocked.result.exitCode).toBe(1);
    expect(blocked.result.outputs.passed).toBe('false');

    github.on('code-scanning/upload-sarif', {
      status: 403,
      body: {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest',
      },
    });
    const refused = await gate({
      reports: 'reports/pass.json',
      'upload-sarif': 'true',
      sarif: 'out/refused.sarif',
    });
    expect(refused.result.exitCode).toBe(1);
    github.assertDone();

    const calls = await children.calls();
    expect(calls.map((c) => c.tool)).toEqual(['trivy']);
    for (const run of [passed, blocked, refused]) {
      await expectClean({ result: run.result, dirs: { RUNNER_TEMP: run.runnerTemp } });
    }
    await expectClean({
      dirs: { workspace: workspace.path },
      values: {
        'GitHub requests': github.requests.slice(first).map((r) => ({ path: r.path, body: r.body })),
      },
      calls,
    });
  });
});

describe('promote', () => {
  let workspace: { path: string; remove(): Promise<void> };
  let client: RegistryClient;
  let signed: string;
  let unsigned: string;

  beforeAll(async () => {
    workspace = await makeTempDir('sweep-promote');
    client = new RegistryClient(registry.host, {
      credentials: { username: registry.username ?? '', password: registry.password ?? '' },
    });
    signed = await pushSignedImage(registry, client, 'sweep/promote', 41, keys.privateKey);
    unsigned = await pushSignedImage(registry, client, 'sweep/promote', 42, undefined);
  });
  afterAll(async () => {
    await client?.close();
    await workspace?.remove();
  });

  const promote = (inputs: Record<string, string>) =>
    sweepRun('promote', {
      workspace: workspace.path,
      inputs: {
        image: `${registry.host}/sweep/promote`,
        'public-key': keys.publicPem,
        'cosign-private-key': keys.encryptedPem,
        'cosign-password': keys.password,
        'github-token': GITHUB_TOKEN,
        ...credentials,
        ...inputs,
      },
    });

  test('a promotion, a step off the ladder, an unsigned digest and a wrong key password leak nothing', async () => {
    const first = github.requests.length;
    expectDeployment(github);
    const success = await promote({ digest: signed, 'target-env': 'dev' });
    expect(errorsOf(success.result)).toEqual([]);
    expect(success.result.exitCode).toBe(0);
    github.assertDone();

    const plain = { 'record-deployment': 'false' };
    const offLadder = await promote({
      ...plain,
      digest: signed,
      'source-env': 'dev',
      'target-env': 'production',
    });
    expect(offLadder.result.exitCode).toBe(1);
    const notSigned = await promote({ ...plain, digest: unsigned, 'target-env': 'dev' });
    expect(notSigned.result.exitCode).toBe(1);
    const wrongPassword = await promote({
      ...plain,
      digest: signed,
      'source-env': 'dev',
      'target-env': 'staging',
      'cosign-password': secrets.marker('wrong promote cosign-password'),
    });
    expect(wrongPassword.result.exitCode).toBe(1);

    for (const run of [success, offLadder, notSigned, wrongPassword]) {
      expect(errorsOf(run.result).length).toBeLessThanOrEqual(1);
      await expectClean({ result: run.result, dirs: { RUNNER_TEMP: run.runnerTemp } });
    }
    await expectClean({
      dirs: { workspace: workspace.path, registry: storage() },
      values: {
        'GitHub requests': github.requests.slice(first).map((r) => ({ path: r.path, body: r.body })),
      },
    });
  });
});

describe('canary-deploy', () => {
  let workspace: { path: string; remove(): Promise<void> };
  let children: ChildRecorder;
  let stable: SampleApp;
  let canary: SampleApp;
  let canaryDigest: string;
  let hook: { server: Server; url: string; received: string[] };

  beforeAll(async () => {
    [workspace, stable, canary] = await Promise.all([
      makeTempDir('sweep-canary'),
      startSampleApp('stable'),
      startSampleApp('canary'),
    ]);
    await pushRandomImage(registry, {
      repository: 'sweep/canary',
      tag: 'production',
      layers: 1,
      totalBytes: 256,
      seed: 51,
    });
    canaryDigest = (
      await pushRandomImage(registry, {
        repository: 'sweep/canary',
        tag: 'build-2',
        layers: 1,
        totalBytes: 256,
        seed: 52,
      })
    ).digest;
    children = await recordChildren({ sh: 'exec /bin/sh "$@"' });
    const received: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push(body);
        response.writeHead(200);
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const path = secrets.marker('webhook-url');
    hook = {
      server,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${path}`,
      received,
    };
  });
  afterAll(async () => {
    await Promise.all([workspace?.remove(), children?.remove(), stable?.stop(), canary?.stop()]);
    await new Promise((resolve) => hook?.server.close(resolve));
  });

  const deploy = (inputs: Record<string, string>) =>
    sweepRun('canary-deploy', {
      workspace: workspace.path,
      env: { PATH: children.path },
      inputs: {
        image: `${registry.host}/sweep/canary`,
        digest: canaryDigest,
        'health-url': `${canary.url}/api/health`,
        'baseline-url': `${stable.url}/api/health`,
        interval: '100ms',
        duration: '600ms',
        'min-samples': '1',
        steps: '50',
        'webhook-url': hook.url,
        ...credentials,
        ...inputs,
      },
    });
  const commands = {
    provider: 'command',
    'deploy-command': 'true',
    'set-weight-command': 'true',
    'promote-command': 'true',
    'rollback-command': 'true',
  };

  test('a promoted and a rolled-back canary (command provider) and an nginx reload leak nothing', async () => {
    canary.set({ errorRate: 0 });
    const promoted = await deploy(commands);
    expect(errorsOf(promoted.result)).toEqual([]);
    expect(promoted.result.outputs.result).toBe('promoted');

    canary.set({ errorRate: 1 });
    const rolledBack = await deploy({ ...commands, duration: '3s' });
    expect(rolledBack.result.exitCode).toBe(1);
    expect(rolledBack.result.outputs.result).toBe('rolled-back');

    canary.set({ errorRate: 0 });
    const nginx = await deploy({
      provider: 'nginx',
      'nginx-config': join(workspace.path, 'upstream.conf'),
      'nginx-reload-command': 'true',
      'nginx-stable-server': stable.address,
      'nginx-canary-server': canary.address,
    });
    expect(errorsOf(nginx.result)).toEqual([]);
    expect(nginx.result.outputs.result).toBe('promoted');

    const calls = await children.calls();
    expect(calls.filter((c) => c.tool === 'sh').length).toBeGreaterThanOrEqual(5);
    for (const run of [promoted, rolledBack, nginx]) {
      await expectClean({ result: run.result, dirs: { RUNNER_TEMP: run.runnerTemp } });
    }
    await expectClean({
      dirs: { workspace: workspace.path },
      values: { 'webhook bodies': hook.received },
      calls,
    });
  });
});

describe('migration-check', () => {
  let workspace: { path: string; remove(): Promise<void> };
  let postgres: LocalPostgres;

  beforeAll(async () => {
    [workspace, postgres] = await Promise.all([makeTempDir('sweep-migrations'), startPostgres()]);
    secrets.add('database-url', postgres.url);
    secrets.add('database-url password', postgres.password);
  });
  afterAll(async () => {
    await Promise.all([workspace?.remove(), postgres?.stop()]);
  });

  async function project(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(workspace.path, name);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    return dir;
  }

  test('a clean dry-run, a failing migration and an unreachable database leak nothing', async () => {
    const good = await project('good', {
      'migrations/V1__users.sql': 'CREATE TABLE users (id bigint PRIMARY KEY, email text);\n',
    });
    const bad = await project('bad', {
      'migrations/V1__users.sql': 'ALTER TABLE missing ADD COLUMN note text;\n',
    });
    const check = (dir: string, databaseUrl: string) =>
      sweepRun('migration-check', {
        workspace: dir,
        inputs: { 'database-url': databaseUrl, sarif: 'out.sarif' },
      });

    const clean = await check(good, postgres.url);
    expect(errorsOf(clean.result)).toEqual([]);
    expect(clean.result.exitCode).toBe(0);

    const failing = await check(bad, postgres.url);
    expect(failing.result.exitCode).toBe(1);

    const unreachable = new URL(postgres.url);
    unreachable.port = String(await freePort());
    const down = await check(good, unreachable.toString());
    expect(down.result.exitCode).not.toBe(0);

    for (const run of [clean, failing, down]) {
      await expectClean({ result: run.result, dirs: { RUNNER_TEMP: run.runnerTemp } });
    }
    await expectClean({ dirs: { workspace: workspace.path } });
  });
});
