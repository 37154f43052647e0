// Canary analysis, simulated with a short interval (100 ms instead of 10 s) against local sample apps
// (real HTTP servers) polled by the built-in probe, with the registry-tag provider on a local registry
// for (a) and (b). Set CANARY_BENCH_RUNS to change the number of runs of (c) and (d).

import { startRegistry } from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import {
  type AnalysisConfig,
  DEFAULT_ANALYSIS,
  inspectImage,
  Probe,
  RegistryTagProvider,
  runCanary,
  type TrafficProvider,
} from '../../packages/canary/src/index.js';
import { pushRandomImage } from '../harness/images.js';
import { type SampleApp, startSampleApp } from '../harness/sample-app.js';
import { type BenchTable, percentile, round } from './lib.js';

const INTERVAL_MS = 100;
const REQUESTS_PER_INTERVAL = 50;
const STATISTICAL_RUNS = Number(process.env.CANARY_BENCH_RUNS ?? 40);
const CONCURRENT_RUNS = 1;
const TIMING_RUNS = 5;
const analysis: AnalysisConfig = { ...DEFAULT_ANALYSIS, minSamples: 10 };

/** The statistics runs judge the analysis, not a traffic split: their provider does nothing. */
const noTraffic: TrafficProvider = {
  name: 'none',
  deploy: async () => {},
  setWeight: async () => {},
  promote: async () => {},
  rollback: async () => {},
};

const probe = (canary: SampleApp, stable: SampleApp) =>
  new Probe({
    healthUrl: `${canary.url}/api/health`,
    baselineUrl: `${stable.url}/api/health`,
    intervalMs: INTERVAL_MS,
    requestsPerInterval: REQUESTS_PER_INTERVAL,
    timeoutMs: 2000,
  });

async function batches<T>(count: number, each: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let done = 0; done < count; done += CONCURRENT_RUNS) {
    const size = Math.min(CONCURRENT_RUNS, count - done);
    results.push(...(await Promise.all(Array.from({ length: size }, each))));
  }
  return results;
}

export default async function canaryBench(): Promise<BenchTable> {
  const registry = await startRegistry();
  const client = new RegistryClient(registry.host);
  const apps: SampleApp[] = [];
  try {
    const repository = 'bench/app';
    await pushRandomImage(registry, { repository, tag: 'production', layers: 1, totalBytes: 1024, seed: 1 });
    const next = await pushRandomImage(registry, {
      repository,
      tag: 'build',
      layers: 1,
      totalBytes: 1024,
      seed: 2,
    });
    const image = { client, repository };

    // (a) + (b): the canary turns bad 500 ms in; time from then to the rollback start, and the rollback itself.
    const stable = await startSampleApp('stable');
    const canary = await startSampleApp('canary');
    apps.push(stable, canary);
    const detection: number[] = [];
    const rollback: number[] = [];
    for (let run = 0; run < TIMING_RUNS; run++) {
      canary.set({ errorRate: 0 });
      const { previousDigest } = await inspectImage(image, next.digest, {
        canaryTag: 'canary',
        stableTag: 'production',
      });
      const provider = new RegistryTagProvider(image, {
        canaryTag: 'canary',
        digest: next.digest,
        ...(previousDigest === undefined ? {} : { previousDigest }),
      });
      let onset = 0;
      const turnBad = setTimeout(() => {
        onset = Date.now();
        canary.set({ errorRate: 0.5 });
      }, 500);
      const result = await runCanary({
        provider,
        metrics: probe(canary, stable),
        analysis,
        steps: [5],
        intervalMs: INTERVAL_MS,
        durationMs: 5000,
      });
      clearTimeout(turnBad);
      if (result.result !== 'rolled-back' || result.rollback === undefined)
        throw new Error(`run ${run} was not rolled back: ${result.reason}`);
      detection.push(result.rollback.startedAt - onset);
      rollback.push(result.rollback.durationMs);
    }
    const target = (analysis.failureThreshold + 1) * INTERVAL_MS;

    // (c) healthy canary, noisy latency, 1 % errors on both sides; (d) canary errors 1 % → 10 %.
    const noisy = { latencyMs: 5, jitterMs: 60 };
    const stableNoisy = await startSampleApp('stable', { ...noisy, errorRate: 0.01 });
    const healthy = await startSampleApp('canary', { ...noisy, errorRate: 0.01 });
    const regressed = await startSampleApp('canary', { ...noisy, errorRate: 0.1 });
    apps.push(stableNoisy, healthy, regressed);
    const statisticalRun = (canaryApp: SampleApp) => () =>
      runCanary({
        provider: noTraffic,
        metrics: probe(canaryApp, stableNoisy),
        analysis,
        steps: [5],
        intervalMs: INTERVAL_MS,
        durationMs: 1000,
      });
    const healthyRuns = await batches(STATISTICAL_RUNS, statisticalRun(healthy));
    const regressedRuns = await batches(STATISTICAL_RUNS, statisticalRun(regressed));
    const falseRollbacks = healthyRuns.filter((r) => r.result === 'rolled-back').length;
    const detected = regressedRuns.filter((r) => r.result === 'rolled-back').length;

    detection.sort((a, b) => a - b);
    rollback.sort((a, b) => a - b);
    return {
      name: 'canary',
      title: `Canary analysis, simulated: interval ${INTERVAL_MS} ms (not 10 s), failure-threshold ${analysis.failureThreshold}, probe ${REQUESTS_PER_INTERVAL} requests/interval to canary and to stable`,
      columns: ['measure', 'result', 'target', 'runs'],
      rows: [
        [
          '(a) failure onset → rollback start, p50 / max',
          `${round(percentile(detection, 50), 0)} / ${round(detection.at(-1) ?? Number.NaN, 0)} ms`,
          `≤ ${target} ms`,
          TIMING_RUNS,
        ],
        [
          '(b) rollback duration (registry-tag, local registry), p50 / max',
          `${round(percentile(rollback, 50), 0)} / ${round(rollback.at(-1) ?? Number.NaN, 0)} ms`,
          '≤ 1000 ms',
          TIMING_RUNS,
        ],
        [
          '(c) false rollbacks, healthy canary (1 % errors, 5–65 ms latency)',
          `${falseRollbacks} of ${STATISTICAL_RUNS}`,
          '0',
          STATISTICAL_RUNS,
        ],
        [
          '(d) detected 1 % → 10 % error regression',
          `${detected} of ${STATISTICAL_RUNS} (${round((detected / STATISTICAL_RUNS) * 100, 0)} %)`,
          '≥ 95 %',
          STATISTICAL_RUNS,
        ],
      ],
      notes: [
        '(c) and (d): 10 intervals per run, baseline comparison on (two-proportion z-test, Mann-Whitney U, α = 0.05), no traffic provider.',
        `(c) and (d) run ${CONCURRENT_RUNS} canaries at a time against the same sample apps.`,
      ],
    };
  } finally {
    await client.close();
    await Promise.all(apps.map((app) => app.stop()));
    await registry.stop();
  }
}
