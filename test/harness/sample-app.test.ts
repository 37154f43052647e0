import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type SampleApp, startSampleApp } from './sample-app.js';

let app: SampleApp;
beforeAll(async () => {
  app = await startSampleApp('canary');
});
afterAll(async () => {
  await app.stop();
});

test('answers with its version, fails at the configured error rate, and counts by status', async () => {
  app.set({ errorRate: 1 });
  const failed = await fetch(`${app.url}/api/health`);
  app.set({ errorRate: 0 });
  const ok = await fetch(`${app.url}/anything`);
  expect([failed.status, ok.status]).toEqual([500, 200]);
  expect(await ok.text()).toBe('canary\n');
  expect(app.served()).toEqual({ 200: 1, 500: 1 });
});

test('exposes a request counter by status and a latency histogram in the Prometheus text format', async () => {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  expect(text).toContain('# TYPE sample_app_requests_total counter');
  expect(text).toContain('sample_app_requests_total{version="canary",status="500"} 1');
  expect(text).toContain('# TYPE sample_app_request_duration_seconds histogram');
  expect(text).toMatch(/sample_app_request_duration_seconds_bucket\{version="canary",le="\+Inf"\} 2\n/);
  expect(text).toMatch(/sample_app_request_duration_seconds_count\{version="canary"\} 2\n/);
});

test('adds the configured latency', async () => {
  app.set({ latencyMs: 60 });
  const started = performance.now();
  await (await fetch(`${app.url}/`)).text();
  app.set({ latencyMs: 0 });
  expect(performance.now() - started).toBeGreaterThanOrEqual(55);
});
