import { type LocalPrometheus, startPrometheus, waitUntil } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type SampleApp, startSampleApp } from '../../../test/harness/sample-app.js';
import { DEFAULT_ANALYSIS, evaluate, instantQuery, PrometheusMetrics } from '../src/index.js';

let stable: SampleApp;
let canary: SampleApp;
let prometheus: LocalPrometheus;
let load: NodeJS.Timeout;

const errorRateQuery =
  'sum(rate(sample_app_requests_total{version="{canary}",status="500"}[5s])) / sum(rate(sample_app_requests_total{version="{canary}"}[5s]))';
const latencyQuery =
  'histogram_quantile(0.99, sum by (le) (rate(sample_app_request_duration_seconds_bucket{version="{canary}"}[5s])))';

beforeAll(async () => {
  [stable, canary] = await Promise.all([
    startSampleApp('stable', { latencyMs: 2 }),
    startSampleApp('canary', { errorRate: 0.3, latencyMs: 300, errors: 'even' }),
  ]);
  prometheus = await startPrometheus({ targets: [stable.address, canary.address], scrapeIntervalMs: 200 });
  // steady traffic for both versions, as real users would send
  load = setInterval(() => {
    for (const app of [stable, canary])
      void fetch(`${app.url}/`)
        .then((r) => r.arrayBuffer())
        .catch(() => {});
  }, 10);
});
afterAll(async () => {
  clearInterval(load);
  await prometheus?.stop();
  await Promise.all([stable?.stop(), canary?.stop()]);
});

describe('prometheus metrics against a real Prometheus scraping the sample apps', () => {
  test('reads error rate and p99 for canary and stable, and the analysis fails the canary', async () => {
    const metrics = new PrometheusMetrics({
      url: prometheus.url,
      errorRateQuery,
      latencyQuery,
      canaryValue: 'canary',
      stableValue: 'stable',
    });
    // Each target is scraped on its own schedule: a rate needs two scrapes of both versions.
    await waitUntil(
      'two scrapes with traffic of both versions',
      async () => {
        for (const version of ['canary', 'stable']) {
          for (const query of [errorRateQuery, latencyQuery]) {
            if ((await instantQuery(prometheus.url, query.replaceAll('{canary}', version))) === undefined)
              return false;
          }
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const observation = await metrics.observe();
    expect(observation.unavailable).toBeUndefined();
    expect(observation.canary.errorRate).toBeGreaterThan(0.1);
    expect(observation.canary.errorRate).toBeLessThan(0.5);
    // the bucket the 300 ms answers land in is (0.25, 0.5]
    expect(observation.canary.p99Ms).toBeGreaterThan(250);
    expect(observation.canary.p99Ms).toBeLessThanOrEqual(500);
    expect(observation.stable?.errorRate).toBe(0);
    expect(observation.stable?.p99Ms).toBeLessThan(250);
    const verdict = evaluate(observation, { ...DEFAULT_ANALYSIS, latencyP99ThresholdMs: 200 });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons).toHaveLength(2);
  });

  test('a version without traffic is no data (empty or NaN), not a 0 % error rate', async () => {
    const metrics = new PrometheusMetrics({
      url: prometheus.url,
      errorRateQuery,
      latencyQuery,
      canaryValue: 'nobody',
    });
    const observation = await metrics.observe();
    expect(observation.canary.errorRate).toBeUndefined();
    expect(evaluate(observation, DEFAULT_ANALYSIS).outcome).toBe('no-data');
  });

  test('a query Prometheus refuses is reported as unavailable with its error', async () => {
    const metrics = new PrometheusMetrics({
      url: prometheus.url,
      errorRateQuery: 'sum(',
      latencyQuery,
      canaryValue: 'canary',
    });
    expect((await metrics.observe()).unavailable).toMatch(
      /^Prometheus unavailable: Prometheus refused the query "sum\(": .*parse error/,
    );
  });
});
