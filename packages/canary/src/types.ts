export type Target = 'canary' | 'stable';

/** What one interval's metrics say about one target (the canary, or stable as the baseline). */
export interface TargetMetrics {
  /** Requests observed in the interval; undefined when the source only has rates (Prometheus). */
  requests: number | undefined;
  errors: number | undefined;
  /** errors / requests; undefined when nothing was observed. */
  errorRate: number | undefined;
  p99Ms: number | undefined;
  /** Individual latencies, when the source has them (the probe does; Prometheus only has quantiles). */
  latenciesMs?: number[];
}

/** One interval's metrics. `health` is the probe's verdict on `health-url`; undefined when no probe runs. */
export interface Observation {
  canary: TargetMetrics;
  stable?: TargetMetrics;
  health?: boolean;
  /** Why the source could not observe (e.g. Prometheus unreachable): the interval is then "no data". */
  unavailable?: string;
  /** The individual requests behind the numbers, when the source made them (the probe). */
  samples?: Sample[];
}

/** Where the metrics come from: `observe()` reports what happened since the previous call. */
export interface MetricsSource {
  start?(): Promise<void>;
  observe(): Promise<Observation>;
  stop?(): Promise<void>;
}

/** One way of sending a share of traffic to the canary. */
export interface TrafficProvider {
  readonly name: string;
  /** Puts the canary in place (tag, upstream, route, user command) at `weight` percent. */
  deploy(weight: number): Promise<void>;
  setWeight(weight: number): Promise<void>;
  promote(): Promise<void>;
  /** Sends all traffic back to stable; must work from saved state alone, in a post step. */
  rollback(): Promise<void>;
}

/** What a provider needs to know about the images; saved before anything changes. */
export interface DeploymentTarget {
  /** `sha256:…` of the canary. */
  digest: string;
  /** What the canary tag (or else the stable tag) pointed to before; the rollback target. */
  previousDigest?: string;
}

/** One request the probe made. `status` is 0 when no HTTP response came back. */
export interface Sample {
  target: Target;
  /** Milliseconds since the epoch when the request started. */
  at: number;
  status: number;
  ok: boolean;
  latencyMs: number;
  error?: string;
}
