import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type SampleApp, startSampleApp } from '../../../test/harness/sample-app.js';
import {
  type AnalysisConfig,
  DEFAULT_ANALYSIS,
  type MetricsSource,
  type Phase,
  Probe,
  runCanary,
  type TrafficProvider,
} from '../src/index.js';

/** Records what the controller asked for; the traffic itself is the sample apps'. */
class RecordingProvider implements TrafficProvider {
  readonly name = 'recording';
  calls: string[] = [];
  constructor(private readonly failOn?: string) {}
  private async call(what: string) {
    this.calls.push(what);
    if (this.failOn === what) throw new Error(`${what} refused`);
  }
  deploy(weight: number) {
    return this.call(`deploy ${weight}`);
  }
  setWeight(weight: number) {
    return this.call(`weight ${weight}`);
  }
  promote() {
    return this.call('promote');
  }
  rollback() {
    return this.call('rollback');
  }
}

// One request is enough here: these tests are about the loop, and a busy machine may answer few per 100 ms.
const analysis: AnalysisConfig = { ...DEFAULT_ANALYSIS, minSamples: 1 };
const intervalMs = 100;

let stable: SampleApp;
let canary: SampleApp;
beforeAll(async () => {
  stable = await startSampleApp('stable');
  canary = await startSampleApp('canary');
});
afterAll(async () => {
  await Promise.all([stable.stop(), canary.stop()]);
});

const probe = () =>
  new Probe({
    healthUrl: `${canary.url}/api/health`,
    baselineUrl: `${stable.url}/api/health`,
    intervalMs,
    requestsPerInterval: 20,
    timeoutMs: 1000,
  });

describe('runCanary against live sample apps at 100 ms intervals', () => {
  test('promotes a healthy canary through every step, in order', async () => {
    canary.set({ errorRate: 0 });
    const provider = new RecordingProvider();
    const phases: Phase[] = [];
    const result = await runCanary({
      provider,
      metrics: probe(),
      analysis,
      steps: [5, 50, 100],
      intervalMs,
      durationMs: 900,
      onPhase: (p) => phases.push(p),
    });
    expect(result.reason).toMatch(/checks passed over 5 % → 50 % → 100 %/);
    expect(result.result).toBe('promoted');
    expect(provider.calls).toEqual(['deploy 5', 'weight 50', 'weight 100', 'promote']);
    expect(result.intervals.map((i) => i.weight)).toEqual([5, 5, 5, 50, 50, 50, 100, 100, 100]);
    expect(result.intervals.filter((i) => i.check.outcome === 'fail')).toEqual([]);
    const requests = result.intervals.reduce(
      (sum, i) => sum + (i.check.canary.requests ?? 0) + (i.check.stable?.requests ?? 0),
      0,
    );
    expect(result.intervals.flatMap((i) => i.samples ?? [])).toHaveLength(requests);
    expect(phases).toEqual(['deploying', 'analysing', 'promoting', 'finished']);
  });

  test('rolls back a failing canary after failure-threshold consecutive failed checks', async () => {
    canary.set({ errorRate: 1 });
    const provider = new RecordingProvider();
    const result = await runCanary({
      provider,
      metrics: probe(),
      analysis,
      steps: [5],
      intervalMs,
      durationMs: 3000,
    });
    canary.set({ errorRate: 0 });
    expect(result.result).toBe('rolled-back');
    expect(provider.calls).toEqual(['deploy 5', 'rollback']);
    expect(result.intervals.at(-1)?.check).toMatchObject({ counted: 'fail', consecutiveFailures: 3 });
    expect(result.intervals.filter((i) => i.check.counted === 'pass')).toEqual([]);
    expect(result.reason).toMatch(/^3 consecutive failed checks at 5 % \(health check failed\)/);
    expect(result.rollback?.error).toBeUndefined();
  });

  test('metrics that cannot be read are no data: "wait" rolls back after 2 × failure-threshold intervals, without a crash', async () => {
    const down: MetricsSource = {
      observe: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:9090');
      },
    };
    const provider = new RecordingProvider();
    const result = await runCanary({
      provider,
      metrics: down,
      analysis,
      steps: [5],
      intervalMs,
      durationMs: 5000,
    });
    expect(result.result).toBe('rolled-back');
    expect(result.intervals.map((i) => i.check.counted)).toEqual([
      'waited',
      'waited',
      'waited',
      'fail',
      'fail',
      'fail',
    ]);
    expect(result.intervals[0]?.check.reasons[0]).toMatch(/metrics unavailable: connect ECONNREFUSED/);
  });

  test('a step that never had enough data is not promoted (unless no-data is "pass")', async () => {
    const quiet: MetricsSource = {
      observe: async () => ({ canary: { requests: 0, errors: 0, errorRate: undefined, p99Ms: undefined } }),
    };
    const waited = await runCanary({
      provider: new RecordingProvider(),
      metrics: quiet,
      analysis,
      steps: [5],
      intervalMs,
      durationMs: 200,
    });
    expect(waited.result).toBe('rolled-back');
    expect(waited.reason).toMatch(/no check with enough data passed at 5 %/);
    const passed = await runCanary({
      provider: new RecordingProvider(),
      metrics: quiet,
      analysis: { ...analysis, noData: 'pass' },
      steps: [5],
      intervalMs,
      durationMs: 200,
    });
    expect(passed.result).toBe('promoted');
  });

  test('a failing weight change rolls back instead of leaving the canary half-way', async () => {
    const provider = new RecordingProvider('weight 50');
    const result = await runCanary({
      provider,
      metrics: probe(),
      analysis,
      steps: [5, 50],
      intervalMs,
      durationMs: 200,
    });
    expect(result.result).toBe('rolled-back');
    expect(result.reason).toMatch(/setting the weight to 50 % failed: weight 50 refused/);
    expect(provider.calls).toEqual(['deploy 5', 'weight 50', 'rollback']);
  });

  test('a failed deployment is undone and reported', async () => {
    const provider = new RecordingProvider('deploy 5');
    await expect(
      runCanary({ provider, metrics: probe(), analysis, steps: [5], intervalMs, durationMs: 200 }),
    ).rejects.toThrow('deploy 5 refused');
    expect(provider.calls).toEqual(['deploy 5', 'rollback']);
  });
});
