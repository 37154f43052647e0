import { freePort } from '@digestline/local';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type SampleApp, startSampleApp } from '../../../test/harness/sample-app.js';
import { Probe, probeOnce } from '../src/index.js';

let app: SampleApp;
beforeAll(async () => {
  app = await startSampleApp('canary', { latencyMs: 20 });
});
afterAll(async () => {
  await app.stop();
});

test('records the status and latency of every request', async () => {
  const sample = await probeOnce(`${app.url}/api/health`, 'canary', 1000);
  expect(sample).toMatchObject({ target: 'canary', status: 200, ok: true });
  expect(sample.latencyMs).toBeGreaterThanOrEqual(19);
});

test('a refused connection is a failed sample with status 0, not an exception', async () => {
  const sample = await probeOnce(`http://127.0.0.1:${await freePort()}/api/health`, 'canary', 1000);
  expect(sample).toMatchObject({ status: 0, ok: false });
  expect(sample.error).toMatch(/ECONNREFUSED/);
});

test('a request slower than the timeout is a failed sample', async () => {
  app.set({ latencyMs: 300 });
  const sample = await probeOnce(`${app.url}/api/health`, 'canary', 50);
  app.set({ latencyMs: 20 });
  expect(sample).toMatchObject({ status: 0, ok: false });
});

test('each observation reports the requests made since the previous one, for canary and baseline', async () => {
  const baseline = await startSampleApp('stable');
  const probe = new Probe({
    healthUrl: `${app.url}/api/health`,
    baselineUrl: baseline.url,
    intervalMs: 100,
    requestsPerInterval: 10,
    timeoutMs: 1000,
  });
  try {
    await probe.start();
    await new Promise((r) => setTimeout(r, 250));
    const first = await probe.observe();
    app.set({ errorRate: 1 });
    // requests already in flight were answered under the old behaviour: let them land, then drop them
    await new Promise((r) => setTimeout(r, 50));
    await probe.observe();
    await new Promise((r) => setTimeout(r, 250));
    const second = await probe.observe();
    app.set({ errorRate: 0 });
    expect(first.canary.requests).toBeGreaterThan(0);
    expect(first.stable?.requests).toBeGreaterThan(0);
    expect(first.health).toBe(true);
    expect(second.canary.errorRate).toBe(1);
    expect(second.health).toBe(false);
    expect(second.stable?.errorRate).toBe(0);
    expect(second.samples?.length).toBe((second.canary.requests ?? 0) + (second.stable?.requests ?? 0));
  } finally {
    await probe.stop();
    await baseline.stop();
  }
});
