import { mannWhitneyPValue, percentile, twoProportionPValue } from './stats.js';
import type { Observation, TargetMetrics } from './types.js';

export type NoDataPolicy = 'fail' | 'wait' | 'pass';

export interface AnalysisConfig {
  /** Fraction, 0.05 for 5 %. */
  errorRateThreshold: number;
  latencyP99ThresholdMs: number;
  failureThreshold: number;
  noData: NoDataPolicy;
  /** Fewer canary requests than this in an interval is "no data". */
  minSamples: number;
  /** Significance level of the baseline comparison (one-sided). */
  alpha: number;
}

export const DEFAULT_ANALYSIS: AnalysisConfig = {
  errorRateThreshold: 0.05,
  latencyP99ThresholdMs: 2000,
  failureThreshold: 3,
  noData: 'wait',
  minSamples: 10,
  alpha: 0.05,
};

export type Outcome = 'pass' | 'fail' | 'no-data';

export interface Check {
  /** Raw verdict of the interval's metrics. */
  outcome: Outcome;
  /** How it counted after the no-data policy: a waited no-data interval counts as neither. */
  counted: 'pass' | 'fail' | 'waited';
  reasons: string[];
  canary: TargetMetrics;
  stable?: TargetMetrics;
  /** p-values of the baseline comparison, when one was made. */
  errorPValue?: number;
  latencyPValue?: number;
  consecutiveFailures: number;
  consecutiveNoData: number;
}

const pct = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;

/** The verdict on one interval's metrics alone, before the no-data policy and the failure count. */
export function evaluate(
  observation: Observation,
  config: AnalysisConfig,
): Pick<Check, 'outcome' | 'reasons' | 'errorPValue' | 'latencyPValue'> {
  const { canary, stable } = observation;
  // A failed health probe is evidence, not an absence of it: it fails even with few samples.
  if (observation.health === false) return { outcome: 'fail', reasons: ['health check failed'] };
  if (observation.unavailable !== undefined)
    return { outcome: 'no-data', reasons: [observation.unavailable] };
  if (canary.errorRate === undefined)
    return { outcome: 'no-data', reasons: ['no canary requests were observed'] };
  if (canary.requests !== undefined && canary.requests < config.minSamples) {
    return {
      outcome: 'no-data',
      reasons: [`${canary.requests} canary requests, fewer than the ${config.minSamples} needed`],
    };
  }
  const baseline =
    stable !== undefined &&
    stable.errorRate !== undefined &&
    (stable.requests ?? config.minSamples) >= config.minSamples
      ? stable
      : undefined;
  const reasons: string[] = [];
  const result: ReturnType<typeof evaluate> = { outcome: 'pass', reasons };

  if (canary.errorRate > config.errorRateThreshold) {
    const breach = `error rate ${pct(canary.errorRate)} > ${pct(config.errorRateThreshold)}`;
    const stableRate = baseline?.errorRate ?? 0;
    if (baseline === undefined || stableRate <= config.errorRateThreshold) {
      reasons.push(baseline === undefined ? breach : `${breach} while stable's is ${pct(stableRate)}`);
    } else if (
      canary.errors !== undefined &&
      canary.requests !== undefined &&
      baseline.errors !== undefined &&
      baseline.requests !== undefined
    ) {
      // Stable breaches too: the problem is shared, and only a canary significantly worse is to blame.
      result.errorPValue = twoProportionPValue(
        { errors: canary.errors, total: canary.requests },
        { errors: baseline.errors, total: baseline.requests },
      );
      if (result.errorPValue < config.alpha) {
        reasons.push(
          `${breach}, worse than stable's ${pct(stableRate)} (p=${result.errorPValue.toFixed(3)})`,
        );
      }
    } else if (canary.errorRate > stableRate) {
      // Only rates (Prometheus): no counts for a test, so the canary is to blame when it is the worse one.
      reasons.push(`${breach}, stable's is ${pct(stableRate)}`);
    }
  }
  if (canary.p99Ms !== undefined && canary.p99Ms > config.latencyP99ThresholdMs) {
    const breach = `p99 ${Math.round(canary.p99Ms)} ms > ${config.latencyP99ThresholdMs} ms`;
    const stableP99 = baseline?.p99Ms;
    const canaryLatencies = canary.latenciesMs;
    const stableLatencies = baseline?.latenciesMs;
    if (baseline === undefined || stableP99 === undefined || stableP99 <= config.latencyP99ThresholdMs) {
      reasons.push(
        stableP99 === undefined ? breach : `${breach} while stable's is ${Math.round(stableP99)} ms`,
      );
    } else if (canaryLatencies !== undefined && stableLatencies !== undefined) {
      result.latencyPValue = mannWhitneyPValue(canaryLatencies, stableLatencies);
      if (result.latencyPValue < config.alpha) {
        reasons.push(`${breach}, slower than stable (p=${result.latencyPValue.toFixed(3)})`);
      }
    } else if (canary.p99Ms > stableP99) {
      reasons.push(`${breach}, stable's is ${Math.round(stableP99)} ms`);
    }
  }
  if (reasons.length > 0) result.outcome = 'fail';
  return result;
}

/**
 * Counts consecutive failures across intervals. A pass resets the count (Flagger counts failures in
 * total, so one bad minute early on plus two later roll back a healthy canary). No data is counted on
 * its own streak: `wait` lets `failureThreshold` such intervals pass uncounted, then counts further
 * ones as failures, so a canary with no traffic neither stalls forever nor rolls back at once.
 */
export class Analyzer {
  private failures = 0;
  private noData = 0;
  readonly checks: Check[] = [];

  constructor(readonly config: AnalysisConfig) {}

  record(observation: Observation): Check {
    const verdict = evaluate(observation, this.config);
    let counted: Check['counted'];
    if (verdict.outcome === 'no-data') {
      this.noData++;
      if (this.config.noData === 'pass') counted = 'pass';
      else if (this.config.noData === 'fail') counted = 'fail';
      else counted = this.noData > this.config.failureThreshold ? 'fail' : 'waited';
    } else {
      this.noData = 0;
      counted = verdict.outcome;
    }
    if (counted === 'fail') this.failures++;
    else if (counted === 'pass') this.failures = 0;
    const check: Check = {
      ...verdict,
      counted,
      canary: observation.canary,
      consecutiveFailures: this.failures,
      consecutiveNoData: this.noData,
    };
    if (observation.stable !== undefined) check.stable = observation.stable;
    this.checks.push(check);
    return check;
  }

  get shouldRollBack(): boolean {
    return this.failures >= this.config.failureThreshold;
  }

  get failedChecks(): number {
    return this.checks.filter((c) => c.counted === 'fail').length;
  }
}

/** Builds target metrics from raw request results. */
export function summarize(results: { ok: boolean; latencyMs: number }[]): TargetMetrics {
  const latencies = results.map((r) => r.latencyMs);
  const errors = results.filter((r) => !r.ok).length;
  return {
    requests: results.length,
    errors,
    errorRate: results.length === 0 ? undefined : errors / results.length,
    p99Ms: percentile(latencies, 99),
    latenciesMs: latencies,
  };
}
