import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SampleAppBehaviour {
  /** Fraction of requests answered 500, 0..1. */
  errorRate: number;
  /** Added delay before answering: `latencyMs` plus a uniform random `0..jitterMs`. */
  latencyMs: number;
  jitterMs: number;
  /**
   * `random` (default) fails each request with probability `errorRate`, like real traffic; `even` spreads
   * the failures so every window of requests holds the rate to within one request, for tests that must
   * not depend on luck at low request counts.
   */
  errors: 'random' | 'even';
}

export interface SampleApp {
  /** The `version` label on its metrics and the body of every answer (`stable`, `canary`). */
  version: string;
  /** `127.0.0.1:PORT` */
  address: string;
  url: string;
  /** Requests answered (not counting /metrics), by status. */
  served(): Record<number, number>;
  /** Changes the behaviour from now on, e.g. to start failing mid-canary. */
  set(behaviour: Partial<SampleAppBehaviour>): void;
  stop(): Promise<void>;
}

/** Histogram buckets in seconds, from 1 ms to 10 s. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A stand-in for the service being canaried: every path but /metrics answers after the configured
 * latency, with 500 at the configured error rate, and /metrics exposes a request counter by status and
 * a latency histogram in the Prometheus text format.
 */
export async function startSampleApp(
  version: string,
  behaviour: Partial<SampleAppBehaviour> = {},
): Promise<SampleApp> {
  const current: SampleAppBehaviour = {
    errorRate: 0,
    latencyMs: 0,
    jitterMs: 0,
    errors: 'random',
    ...behaviour,
  };
  let owedErrors = 0;
  const counts = new Map<number, number>();
  const bucketCounts = BUCKETS.map(() => 0);
  let durationSum = 0;
  let durationCount = 0;

  const server: Server = createServer((request, response) => {
    if (request.url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(exposition());
      return;
    }
    const started = performance.now();
    let status = 200;
    if (current.errors === 'random') {
      if (Math.random() < current.errorRate) status = 500;
    } else {
      owedErrors += current.errorRate;
      if (owedErrors >= 1) {
        owedErrors -= 1;
        status = 500;
      }
    }
    const delay = current.latencyMs + Math.random() * current.jitterMs;
    const answer = () => {
      const seconds = (performance.now() - started) / 1000;
      counts.set(status, (counts.get(status) ?? 0) + 1);
      BUCKETS.forEach((le, i) => {
        if (seconds <= le) bucketCounts[i] = (bucketCounts[i] ?? 0) + 1;
      });
      durationSum += seconds;
      durationCount++;
      response.writeHead(status, { 'content-type': 'text/plain', 'x-version': version });
      response.end(`${version}\n`);
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });

  const exposition = () => {
    const label = `version="${version}"`;
    return [
      '# HELP sample_app_requests_total Requests answered, by status.',
      '# TYPE sample_app_requests_total counter',
      // Both series exist from the start, so rate() over a 5xx selector is 0 rather than absent.
      ...[200, 500].map(
        (status) => `sample_app_requests_total{${label},status="${status}"} ${counts.get(status) ?? 0}`,
      ),
      '# HELP sample_app_request_duration_seconds Time to answer a request.',
      '# TYPE sample_app_request_duration_seconds histogram',
      ...BUCKETS.map(
        (le, i) => `sample_app_request_duration_seconds_bucket{${label},le="${le}"} ${bucketCounts[i]}`,
      ),
      `sample_app_request_duration_seconds_bucket{${label},le="+Inf"} ${durationCount}`,
      `sample_app_request_duration_seconds_sum{${label}} ${durationSum}`,
      `sample_app_request_duration_seconds_count{${label}} ${durationCount}`,
      '',
    ].join('\n');
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    version,
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    served: () => Object.fromEntries(counts),
    set: (change) => Object.assign(current, change),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
