import { describeError, type Logger, silentLogger } from '@digestline/base';
import { type AnalysisConfig, Analyzer, type Check } from './analysis.js';
import type { MetricsSource, Observation, Sample, TrafficProvider } from './types.js';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** Where the run is, for the state a post step needs: anything before `finished` must be rolled back. */
export type Phase = 'deploying' | 'analysing' | 'promoting' | 'rolling-back' | 'finished';

export interface IntervalRecord {
  index: number;
  /** Milliseconds since the epoch at the end of the interval. */
  at: number;
  weight: number;
  check: Check;
  decision: 'continue' | 'next-step' | 'promote' | 'rollback';
  samples?: Sample[];
}

export interface CanaryOptions {
  provider: TrafficProvider;
  metrics: MetricsSource;
  analysis: AnalysisConfig;
  /** Canary weights in percent, in order; the last one is held until promotion. */
  steps: number[];
  intervalMs: number;
  /** Total analysis time, shared equally by the steps (each at least one interval). */
  durationMs: number;
  clock?: Clock;
  onPhase?: (phase: Phase) => void;
  onInterval?: (record: IntervalRecord) => void;
  logger?: Logger;
}

export interface CanaryResult {
  result: 'promoted' | 'rolled-back';
  reason: string;
  intervals: IntervalRecord[];
  failedChecks: number;
  rollback?: { startedAt: number; durationMs: number; error?: string };
}

export function intervalsPerStep(durationMs: number, intervalMs: number, steps: number): number {
  return Math.max(1, Math.round(durationMs / steps / intervalMs));
}

/**
 * Deploys the canary, walks the weight steps while checking every interval, and either promotes or
 * rolls back. A provider failure after deployment also rolls back, so nothing is left half-deployed.
 */
export async function runCanary(options: CanaryOptions): Promise<CanaryResult> {
  const clock = options.clock ?? realClock;
  const logger = options.logger ?? silentLogger;
  const analyzer = new Analyzer(options.analysis);
  const intervals: IntervalRecord[] = [];
  const perStep = intervalsPerStep(options.durationMs, options.intervalMs, options.steps.length);
  const { provider, metrics } = options;

  const rollBack = async (reason: string): Promise<CanaryResult> => {
    options.onPhase?.('rolling-back');
    const startedAt = clock.now();
    logger.info(`Rolling back: ${reason}`);
    let error: string | undefined;
    try {
      await provider.rollback();
    } catch (cause) {
      error = describeError(cause);
    }
    const rollback = {
      startedAt,
      durationMs: clock.now() - startedAt,
      ...(error === undefined ? {} : { error }),
    };
    if (error === undefined) options.onPhase?.('finished');
    return { result: 'rolled-back', reason, intervals, failedChecks: analyzer.failedChecks, rollback };
  };

  options.onPhase?.('deploying');
  const first = options.steps[0] as number;
  try {
    await provider.deploy(first);
  } catch (error) {
    await rollBack(`deploying the canary failed: ${describeError(error)}`);
    throw error;
  }
  options.onPhase?.('analysing');
  logger.info(
    `Canary deployed at ${first} %; checking every ${options.intervalMs} ms, ${perStep} interval(s) per step.`,
  );

  await metrics.start?.();
  try {
    const started = clock.now();
    let index = 0;
    for (let step = 0; step < options.steps.length; step++) {
      const weight = options.steps[step] as number;
      let passedWithData = false;
      for (let i = 0; i < perStep; i++) {
        index++;
        await clock.sleep(started + index * options.intervalMs - clock.now());
        const observation = await observeSafely(metrics);
        const check = analyzer.record(observation);
        if (check.outcome === 'pass') passedWithData = true;
        const last = i === perStep - 1;
        let decision: IntervalRecord['decision'] = 'continue';
        if (analyzer.shouldRollBack) decision = 'rollback';
        else if (last) decision = step === options.steps.length - 1 ? 'promote' : 'next-step';
        const record: IntervalRecord = { index, at: clock.now(), weight, check, decision };
        if (observation.samples !== undefined) record.samples = observation.samples;
        intervals.push(record);
        options.onInterval?.(record);
        if (decision === 'rollback') {
          return await rollBack(
            `${check.consecutiveFailures} consecutive failed checks at ${weight} % (${check.reasons.join('; ')})`,
          );
        }
      }
      if (!passedWithData && options.analysis.noData !== 'pass') {
        return await rollBack(
          `no check with enough data passed at ${weight} %; nothing shows the canary is healthy`,
        );
      }
      const next = options.steps[step + 1];
      if (next !== undefined) {
        try {
          await provider.setWeight(next);
        } catch (error) {
          return await rollBack(`setting the weight to ${next} % failed: ${describeError(error)}`);
        }
        logger.info(`Weight ${weight} % → ${next} %.`);
      }
    }
  } finally {
    await metrics.stop?.();
  }

  options.onPhase?.('promoting');
  try {
    await provider.promote();
  } catch (error) {
    return await rollBack(`promoting failed: ${describeError(error)}`);
  }
  options.onPhase?.('finished');
  return {
    result: 'promoted',
    reason: `${intervals.filter((i) => i.check.outcome === 'pass').length} of ${intervals.length} checks passed over ${options.steps.map((s) => `${s} %`).join(' → ')}, never ${options.analysis.failureThreshold} failures in a row`,
    intervals,
    failedChecks: analyzer.failedChecks,
  };
}

/** A metrics source that throws (a bug, or an outage it did not catch) yields no data, not a crash. */
async function observeSafely(metrics: MetricsSource): Promise<Observation> {
  try {
    return await metrics.observe();
  } catch (error) {
    return {
      canary: { requests: 0, errors: 0, errorRate: undefined, p99Ms: undefined },
      unavailable: `metrics unavailable: ${describeError(error)}`,
    };
  }
}
