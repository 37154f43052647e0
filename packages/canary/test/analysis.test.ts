import { describe, expect, test } from '@jest/globals';
import {
  type AnalysisConfig,
  Analyzer,
  DEFAULT_ANALYSIS,
  evaluate,
  mannWhitneyPValue,
  normalCdf,
  type Observation,
  summarize,
  twoProportionPValue,
} from '../src/index.js';

const config: AnalysisConfig = { ...DEFAULT_ANALYSIS, minSamples: 10 };

function target(requests: number, errors: number, latencyMs = 10) {
  return summarize(
    Array.from({ length: requests }, (_, i) => ({ ok: i >= errors, latencyMs: latencyMs + (i % 7) })),
  );
}
const healthy: Observation = { canary: target(100, 1) };
const failing: Observation = { canary: target(100, 20) };
const empty: Observation = { canary: target(0, 0) };

describe('statistics', () => {
  test('the normal CDF matches known quantiles', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 5);
  });

  test('two-proportion test: 10/100 errors against 1/100 is significant, 2/100 against 1/100 is not', () => {
    // z = 0.09 / sqrt(0.055 · 0.945 · 0.02) = 2.79 → one-sided p ≈ 0.0026
    expect(twoProportionPValue({ errors: 10, total: 100 }, { errors: 1, total: 100 })).toBeCloseTo(0.0026, 3);
    expect(twoProportionPValue({ errors: 2, total: 100 }, { errors: 1, total: 100 })).toBeGreaterThan(0.2);
    expect(twoProportionPValue({ errors: 0, total: 50 }, { errors: 0, total: 50 })).toBe(1);
  });

  test('Mann-Whitney U: a clearly slower canary is significant, the same distribution is not', () => {
    const stable = Array.from({ length: 40 }, (_, i) => 10 + (i % 10));
    const slower = stable.map((v) => v + 8);
    expect(mannWhitneyPValue(slower, stable)).toBeLessThan(0.001);
    expect(mannWhitneyPValue(stable, stable)).toBeGreaterThan(0.4);
    // one-sided: a faster canary is never "worse"
    expect(mannWhitneyPValue(stable, slower)).toBeGreaterThan(0.99);
  });

  test('Mann-Whitney U matches the textbook value for small samples without ties', () => {
    // every canary value is larger: U = n1·n2 = 20
    const p = mannWhitneyPValue([6, 7, 8, 9], [1, 2, 3, 4, 5]);
    // mean 10, sd sqrt(20·10/12) = 4.08, z = (20 − 10 − 0.5)/4.08 = 2.32 → p ≈ 0.0101
    expect(p).toBeCloseTo(0.0101, 3);
  });
});

describe('evaluate', () => {
  test('passes a healthy interval and fails one over the error-rate threshold', () => {
    expect(evaluate(healthy, config).outcome).toBe('pass');
    const verdict = evaluate(failing, config);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons[0]).toMatch(/error rate 20\.0 % > 5\.0 %/);
  });

  test('fails on p99 over the latency threshold', () => {
    const verdict = evaluate({ canary: target(100, 0, 2500) }, config);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons[0]).toMatch(/p99 25\d\d ms > 2000 ms/);
  });

  test('fails when the health probe failed, whatever the sample count', () => {
    expect(evaluate({ canary: target(1, 1), health: false }, config).outcome).toBe('fail');
  });

  test('too few samples is no data, not a pass or a failure', () => {
    expect(evaluate({ canary: target(5, 0) }, config).outcome).toBe('no-data');
    expect(evaluate(empty, config).outcome).toBe('no-data');
    expect(
      evaluate({ canary: target(100, 0), unavailable: 'Prometheus unavailable: refused' }, config),
    ).toMatchObject({
      outcome: 'no-data',
      reasons: ['Prometheus unavailable: refused'],
    });
  });

  test('with a baseline that breaches too, a canary no worse than stable passes', () => {
    const verdict = evaluate({ canary: target(100, 7), stable: target(100, 6) }, config);
    expect(verdict.outcome).toBe('pass');
    expect(verdict.errorPValue).toBeGreaterThan(0.05);
  });

  test('with a healthy baseline, a canary over the threshold fails without needing a test', () => {
    const verdict = evaluate({ canary: target(100, 8), stable: target(100, 1) }, config);
    expect(verdict).toMatchObject({
      outcome: 'fail',
      reasons: ["error rate 8.0 % > 5.0 % while stable's is 1.0 %"],
    });
    expect(verdict.errorPValue).toBeUndefined();
  });

  test('with a baseline that breaches too, only a canary significantly worse than stable fails', () => {
    const verdict = evaluate({ canary: target(100, 20), stable: target(100, 7) }, config);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.errorPValue).toBeLessThan(0.01);
  });

  test('with a baseline, slow latency shared by stable does not fail the canary', () => {
    expect(evaluate({ canary: target(100, 0, 2500), stable: target(100, 0, 2500) }, config).outcome).toBe(
      'pass',
    );
    expect(evaluate({ canary: target(100, 0, 2500), stable: target(100, 0, 100) }, config).outcome).toBe(
      'fail',
    );
  });

  test('with rates only (Prometheus), the canary fails over the threshold only when worse than stable', () => {
    const rates = (errorRate: number, p99Ms: number) => ({
      requests: undefined,
      errors: undefined,
      errorRate,
      p99Ms,
    });
    expect(evaluate({ canary: rates(0.08, 10), stable: rates(0.09, 10) }, config).outcome).toBe('pass');
    expect(evaluate({ canary: rates(0.08, 10), stable: rates(0.01, 10) }, config).outcome).toBe('fail');
    expect(evaluate({ canary: rates(0.01, 3000), stable: rates(0.01, 100) }, config).outcome).toBe('fail');
  });
});

describe('Analyzer', () => {
  const run = (analyzer: Analyzer, observations: Observation[]) =>
    observations.map((o) => {
      analyzer.record(o);
      return analyzer.shouldRollBack;
    });

  test('rolls back after failure-threshold consecutive failures, not after failures in total', () => {
    const analyzer = new Analyzer(config);
    expect(run(analyzer, [failing, failing, healthy, failing, failing, healthy, failing])).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(analyzer.failedChecks).toBe(5);
    expect(run(analyzer, [failing, failing])).toEqual([false, true]);
  });

  test('no-data "wait" waits failure-threshold intervals, then counts no data as failures', () => {
    const analyzer = new Analyzer({ ...config, noData: 'wait' });
    expect(run(analyzer, [empty, empty, empty, empty, empty, empty])).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(analyzer.checks.map((c) => c.counted)).toEqual([
      'waited',
      'waited',
      'waited',
      'fail',
      'fail',
      'fail',
    ]);
  });

  test('no-data "wait" neither resets nor adds to a failure streak', () => {
    const analyzer = new Analyzer({ ...config, noData: 'wait' });
    expect(run(analyzer, [failing, failing, empty, failing])).toEqual([false, false, false, true]);
  });

  test('no-data "fail" counts no data as failures at once', () => {
    const analyzer = new Analyzer({ ...config, noData: 'fail' });
    expect(run(analyzer, [empty, empty, empty])).toEqual([false, false, true]);
  });

  test('no-data "pass" counts no data as passes, resetting the failure streak', () => {
    const analyzer = new Analyzer({ ...config, noData: 'pass' });
    expect(run(analyzer, [failing, failing, empty, failing, failing, empty, empty, empty])).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
