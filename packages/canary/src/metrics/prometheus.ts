import { describeError, errorClass } from '@digestline/base';
import { endpoint } from '../endpoint.js';
import type { MetricsSource, Observation, TargetMetrics } from '../types.js';

export interface PrometheusOptions {
  /** e.g. `http://prometheus:9090` */
  url: string;
  /** PromQL giving the error rate as a fraction (0.05 = 5 %). */
  errorRateQuery: string;
  /** PromQL giving p99 latency in seconds (what `histogram_quantile` over `_seconds` buckets returns). */
  latencyQuery: string;
  /** What `{canary}` stands for in the queries (e.g. a label value). */
  canaryValue: string;
  /** What `{canary}` stands for in the baseline run of the same queries; undefined: no baseline. */
  stableValue?: string;
  timeoutMs?: number;
}

/**
 * The queries are written for the canary: every `{canary}` is replaced by the canary's value. For the
 * baseline the same query runs with the stable value in its place, so one query describes both sides;
 * `{stable}` always means the stable value.
 */
export function renderQuery(template: string, value: string, stableValue: string | undefined): string {
  return template.replaceAll('{canary}', value).replaceAll('{stable}', stableValue ?? '');
}

export class PrometheusError extends errorClass('PrometheusError', 'PROMETHEUS_FAILED', 'environment') {}

/** One instant query; the single sample value, or undefined when the result is empty or not a number. */
export async function instantQuery(
  url: string,
  query: string,
  timeoutMs = 5_000,
): Promise<number | undefined> {
  const server = endpoint(url);
  const api = new URL('api/v1/query', server.url.endsWith('/') ? server.url : `${server.url}/`);
  const response = await fetch(api, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...server.headers },
    body: new URLSearchParams({ query }).toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json().catch(() => undefined)) as
    | { status?: string; error?: string; data?: { resultType?: string; result?: unknown } }
    | undefined;
  if (!response.ok || body?.status !== 'success') {
    throw new PrometheusError(
      `Prometheus refused the query ${JSON.stringify(query)}: ${body?.error ?? `HTTP ${response.status}`}`,
    );
  }
  const { resultType, result } = body.data ?? {};
  let raw: unknown;
  if (resultType === 'scalar') raw = (result as [number, string])[1];
  else if (resultType === 'vector') {
    const vector = result as { value: [number, string] }[];
    if (vector.length > 1) {
      throw new PrometheusError(
        `the query ${JSON.stringify(query)} returned ${vector.length} series; aggregate it to one (e.g. with sum)`,
      );
    }
    raw = vector[0]?.value[1];
  } else
    throw new PrometheusError(
      `the query ${JSON.stringify(query)} returned a ${resultType}; an instant vector or scalar is needed`,
    );
  const value = raw === undefined ? Number.NaN : Number(raw);
  // 0/0 over a window without traffic is NaN: that is no data, not a 0 % error rate.
  return Number.isFinite(value) ? value : undefined;
}

/** Error rate and p99 for canary (and stable) from Prometheus, read at every interval. */
export class PrometheusMetrics implements MetricsSource {
  constructor(private readonly options: PrometheusOptions) {}

  private async target(value: string): Promise<TargetMetrics> {
    const { url, timeoutMs } = this.options;
    const [errorRate, p99Seconds] = await Promise.all([
      instantQuery(url, renderQuery(this.options.errorRateQuery, value, this.options.stableValue), timeoutMs),
      instantQuery(url, renderQuery(this.options.latencyQuery, value, this.options.stableValue), timeoutMs),
    ]);
    return {
      requests: undefined,
      errors: undefined,
      errorRate,
      p99Ms: p99Seconds === undefined ? undefined : p99Seconds * 1000,
    };
  }

  async observe(): Promise<Observation> {
    const empty: TargetMetrics = {
      requests: undefined,
      errors: undefined,
      errorRate: undefined,
      p99Ms: undefined,
    };
    try {
      const observation: Observation = { canary: await this.target(this.options.canaryValue) };
      if (this.options.stableValue !== undefined)
        observation.stable = await this.target(this.options.stableValue);
      return observation;
    } catch (error) {
      // Prometheus down or a query refused: the interval has no data; the no-data policy decides.
      return { canary: empty, unavailable: `Prometheus unavailable: ${describeError(error)}` };
    }
  }
}
