import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  actionDir,
  freePort,
  inputEnvName,
  type LocalRegistry,
  makeTempDir,
  node24,
  parseCommandFile,
  runAction,
  startRegistry,
  waitUntil,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { pushRandomImage } from '../../../test/harness/images.js';
import { type SampleApp, startSampleApp } from '../../../test/harness/sample-app.js';

let registry: LocalRegistry;
let client: RegistryClient;
let stable: SampleApp;
let canary: SampleApp;
let stableDigest: string;
let canaryDigest: string;
let hook: { server: Server; url: string; status: number; received: unknown[] };
const repository = 'team/app';

beforeAll(async () => {
  [registry, stable, canary] = await Promise.all([
    startRegistry(),
    startSampleApp('stable'),
    startSampleApp('canary'),
  ]);
  client = new RegistryClient(registry.host);
  stableDigest = (
    await pushRandomImage(registry, { repository, tag: 'production', layers: 1, totalBytes: 256, seed: 11 })
  ).digest;
  canaryDigest = (
    await pushRandomImage(registry, { repository, tag: 'build-2', layers: 1, totalBytes: 256, seed: 12 })
  ).digest;
  const received: unknown[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    request.on('end', () => {
      received.push(JSON.parse(body));
      response.writeHead(hook.status);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook = {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/s3cr3t-token-123`,
    status: 200,
    received,
  };
});
afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), stable?.stop(), canary?.stop()]);
  await new Promise((resolve) => hook?.server.close(resolve));
});
beforeEach(async () => {
  canary.set({ errorRate: 0 });
  hook.status = 200;
  hook.received.length = 0;
  // every test starts from "canary tag = stable digest"
  const manifest = await client.getManifest(repository, stableDigest);
  await client.putManifest(repository, 'canary', manifest.bytes, manifest.mediaType);
});

const tagDigest = async (tag: string) => (await client.headManifest(repository, tag))?.digest;

const inputs = (extra: Record<string, string> = {}) => ({
  image: `${registry.host}/${repository}`,
  digest: canaryDigest,
  'health-url': `${canary.url}/api/health`,
  'baseline-url': `${stable.url}/api/health`,
  interval: '100ms',
  duration: '600ms',
  // a busy machine may answer only a few probe requests per 100 ms; the analysis itself is tested elsewhere
  'min-samples': '1',
  ...extra,
});

describe('canary-deploy through runAction', () => {
  test('promotes a healthy canary: canary tag on the digest, outputs, analysis file, summary with charts, webhook', async () => {
    const temp = await makeTempDir('canary-action');
    try {
      const result = await runAction('canary-deploy', {
        inputs: inputs({ steps: '10,50', 'webhook-url': hook.url }),
        env: { RUNNER_TEMP: temp.path },
      });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.outputs).toMatchObject({ result: 'promoted', 'previous-digest': stableDigest });
      expect(await tagDigest('canary')).toBe(canaryDigest);
      const analysis = JSON.parse(await readFile(result.outputs.analysis as string, 'utf8'));
      expect(analysis.result).toBe('promoted');
      expect(analysis.intervals.map((i: { weight: number }) => i.weight)).toEqual([10, 10, 10, 50, 50, 50]);
      expect(analysis.intervals[1].samples.length).toBeGreaterThan(0);
      expect(result.summary.indexOf('Canary promoted')).toBeLessThan(result.summary.indexOf('| # |'));
      expect(result.summary).toContain('xychart-beta');
      expect(result.summary.match(/```mermaid/g)).toHaveLength(2);
      expect(hook.received).toEqual([expect.objectContaining({ result: 'promoted', digest: canaryDigest })]);
      expect(result.masks).toContain(hook.url);
      expect(result.log).not.toContain('s3cr3t-token-123');
    } finally {
      await temp.remove();
    }
  });

  test('rolls back a failing canary, exits non-zero, and a broken webhook is only a warning', async () => {
    canary.set({ errorRate: 1 });
    hook.status = 500;
    const result = await runAction('canary-deploy', {
      inputs: inputs({ duration: '3s', 'webhook-url': hook.url, 'webhook-format': 'slack' }),
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.outputs.result).toBe('rolled-back');
    expect(Number(result.outputs['failed-checks'])).toBeGreaterThanOrEqual(3);
    expect(await tagDigest('canary')).toBe(stableDigest);
    expect(result.annotations).toEqual(
      expect.arrayContaining([
        {
          level: 'warning',
          message: 'The slack notification was not delivered: the webhook answered HTTP 500.',
        },
        expect.objectContaining({
          level: 'error',
          message: expect.stringMatching(/^The canary was rolled back: 3 consecutive failed checks at 5 %/),
        }),
      ]),
    );
    expect(hook.received).toHaveLength(1);
    expect(result.summary).toMatch(/^### ⛔ Canary rolled back\n\n\*\*3 consecutive failed checks/);
    expect(result.log).not.toContain('s3cr3t-token-123');
  });
});

describe('bad input: a clear error, a non-zero exit, nothing changed', () => {
  const refused = async (extra: Record<string, string>, message: RegExp) => {
    const result = await runAction('canary-deploy', { inputs: inputs(extra) });
    expect(result.exitCode).not.toBe(0);
    expect(result.annotations.filter((a) => a.level === 'error').map((a) => a.message)).toEqual([
      expect.stringMatching(message),
    ]);
    expect(await tagDigest('canary')).toBe(stableDigest);
    return result;
  };

  test('no health-url with metrics: probe', async () => {
    await refused({ 'health-url': '' }, /^Input "health-url" is required with metrics: probe/);
  });

  test('a health URL that cannot be reached fails fast, before deploying', async () => {
    const result = await refused(
      { 'health-url': `http://127.0.0.1:${await freePort()}/api/health` },
      /^The health URL .* cannot be reached .*nothing was deployed/,
    );
    expect(result.state.canary).toBeUndefined();
  });

  test.each([
    [{ 'error-rate-threshold': 'lots' }, /^Input "error-rate-threshold" must be a percentage/],
    [{ 'error-rate-threshold': '100%' }, /^Input "error-rate-threshold" must be below 100 %/],
    [{ 'failure-threshold': '0' }, /^Input "failure-threshold" must be a whole number of at least 1/],
    [{ 'latency-p99-threshold-ms': '-5' }, /^Input "latency-p99-threshold-ms" must be a whole number/],
    [{ interval: '10' }, /^Input "interval" must be a duration with a unit/],
    [{ steps: '50,25' }, /^Input "steps" must rise step by step/],
    [{ 'no-data': 'maybe' }, /^Input "no-data" must be one of "fail", "wait", "pass"/],
  ])('invalid threshold %j', async (extra, message) => {
    await refused(extra, message);
  });

  test('a digest the registry does not hold', async () => {
    await refused({ digest: `sha256:${'0'.repeat(64)}` }, /is not in the registry; push the image first/);
  });

  test('Prometheus unreachable during the run is no data, then a rollback, not a crash', async () => {
    const result = await runAction('canary-deploy', {
      inputs: inputs({
        metrics: 'prometheus',
        'prometheus-url': `http://127.0.0.1:${await freePort()}`,
        'error-rate-query': 'sum(rate(sample_app_requests_total{version="{canary}",status="500"}[1m]))',
        'latency-query':
          'histogram_quantile(0.99, sum by (le) (rate(sample_app_request_duration_seconds_bucket{version="{canary}"}[1m])))',
        duration: '2s',
      }),
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.outputs.result).toBe('rolled-back');
    expect(result.summary).toMatch(/Prometheus unavailable/);
    expect(result.summary).toMatch(/no-data \(waited\)/);
    expect(result.stderr).not.toMatch(/TypeError|at .*\.js/);
    expect(await tagDigest('canary')).toBe(stableDigest);
  });
});

/** Starts the built bundle the way a runner does, but keeps hold of the process so it can be killed. */
async function startMain(actionInputs: Record<string, string>, dir: string) {
  const action = actionDir('canary-deploy');
  const manifest = parseYaml(await readFile(join(action, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
  };
  const files = {
    GITHUB_OUTPUT: 'output',
    GITHUB_STEP_SUMMARY: 'summary.md',
    GITHUB_STATE: 'state',
    GITHUB_ENV: 'env',
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: dir,
    GITHUB_WORKSPACE: dir,
  };
  for (const [name, file] of Object.entries(files)) {
    env[name] = join(dir, file);
    await writeFile(env[name], '');
  }
  for (const [name, spec] of Object.entries(manifest.inputs))
    if (spec.default !== undefined) env[inputEnvName(name)] = spec.default;
  for (const [name, value] of Object.entries(actionInputs)) env[inputEnvName(name)] = value;
  const child = spawn(node24, [join(action, 'dist/index.js')], { cwd: dir, env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    exited,
    state: async () => parseCommandFile(await readFile(env.GITHUB_STATE as string, 'utf8')),
  };
}

describe('cancellation', () => {
  test.each(['SIGTERM', 'SIGKILL'] as const)(
    'killed with %s mid-canary, the post step restores the canary tag from the saved state',
    async (signal) => {
      const temp = await makeTempDir('canary-cancel');
      try {
        const longRun = inputs({ duration: '60s' });
        const main = await startMain(longRun, temp.path);
        await waitUntil('the canary to be deployed and under analysis', async () => {
          const state = await main.state();
          return state.canary !== undefined && JSON.parse(state.canary).phase === 'analysing';
        });
        expect(await tagDigest('canary')).toBe(canaryDigest);
        main.child.kill(signal);
        await main.exited;
        // the runner stopped the job: nothing has rolled back yet
        expect(await tagDigest('canary')).toBe(canaryDigest);

        const state = await main.state();
        expect(JSON.parse(state.canary as string)).toEqual({
          phase: 'analysing',
          digest: canaryDigest,
          previousDigest: stableDigest,
        });
        const post = await runAction('canary-deploy', { inputs: longRun, state });
        expect(post.exitCode).toBe(0);
        expect(await tagDigest('canary')).toBe(stableDigest);
        expect(post.annotations).toEqual([
          {
            level: 'warning',
            message:
              'The canary did not finish (the job was cancelled or crashed); the post step rolled it back.',
          },
        ]);
      } finally {
        await temp.remove();
      }
    },
  );

  test('after a finished canary the post step changes nothing', async () => {
    const post = await runAction('canary-deploy', {
      inputs: inputs(),
      state: {
        isPost: 'true',
        canary: JSON.stringify({ phase: 'finished', digest: canaryDigest, previousDigest: stableDigest }),
      },
    });
    expect(post.exitCode).toBe(0);
    expect(post.annotations).toEqual([]);
    expect(await tagDigest('canary')).toBe(stableDigest);
  });
});
