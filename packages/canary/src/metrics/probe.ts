import { describeError } from '@digestline/base';
import { summarize } from '../analysis.js';
import { endpoint } from '../endpoint.js';
import type { MetricsSource, Observation, Sample, Target } from '../types.js';

export interface ProbeOptions {
  healthUrl: string;
  baselineUrl?: string;
  intervalMs: number;
  /** Requests to each URL per interval, spread evenly over it. */
  requestsPerInterval: number;
  /** A request that takes longer counts as an error with this latency. */
  timeoutMs: number;
}

/**
 * Only a 2xx is a healthy answer. Redirects are not followed, and a 3xx is not health: a canary that
 * sends every request to a login page or a maintenance site serves nobody.
 */
const isOk = (status: number) => status >= 200 && status < 300;

/** One GET, timed; never throws (a refused connection is a sample with status 0). */
export async function probeOnce(url: string, target: Target, timeoutMs: number): Promise<Sample> {
  const at = Date.now();
  const started = performance.now();
  try {
    const server = endpoint(url);
    const response = await fetch(server.url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'digestline-canary-probe', ...server.headers },
    });
    // The body is read so the connection can be reused, and so latency includes it.
    await response.arrayBuffer();
    const latencyMs = performance.now() - started;
    return { target, at, status: response.status, ok: isOk(response.status), latencyMs };
  } catch (error) {
    return {
      target,
      at,
      status: 0,
      ok: false,
      latencyMs: performance.now() - started,
      error: describeError(error),
    };
  }
}

/**
 * The built-in metrics source: polls `health-url` (the canary) and `baseline-url` (stable) at a steady
 * rate in the background and reports, at each `observe()`, every request that finished since the last.
 */
export class Probe implements MetricsSource {
  private pending: Sample[] = [];
  private inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  readonly all: Sample[] = [];

  constructor(private readonly options: ProbeOptions) {}

  /** Makes one request to each URL first, unrecorded, so connection set-up does not count as latency. */
  async start(): Promise<void> {
    await Promise.all([
      probeOnce(this.options.healthUrl, 'canary', this.options.timeoutMs),
      ...(this.options.baselineUrl === undefined
        ? []
        : [probeOnce(this.options.baselineUrl, 'stable', this.options.timeoutMs)]),
    ]);
    const every = Math.max(1, this.options.intervalMs / this.options.requestsPerInterval);
    const fire = () => {
      this.request(this.options.healthUrl, 'canary');
      if (this.options.baselineUrl !== undefined) this.request(this.options.baselineUrl, 'stable');
    };
    fire();
    this.timer = setInterval(fire, every);
  }

  private request(url: string, target: Target): void {
    const done = probeOnce(url, target, this.options.timeoutMs).then((sample) => {
      this.pending.push(sample);
      this.all.push(sample);
      this.inFlight.delete(done);
    });
    this.inFlight.add(done);
  }

  async observe(): Promise<Observation> {
    const samples = this.pending;
    this.pending = [];
    const canary = samples.filter((s) => s.target === 'canary');
    const observation: Observation = {
      canary: summarize(canary),
      // Health fails only when the endpoint never answered well: partial failure is the error rate's job.
      health: canary.length === 0 ? undefined : canary.some((s) => s.ok),
      samples,
    };
    if (this.options.baselineUrl !== undefined) {
      observation.stable = summarize(samples.filter((s) => s.target === 'stable'));
    }
    if (observation.health === undefined) delete observation.health;
    return observation;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }
}
