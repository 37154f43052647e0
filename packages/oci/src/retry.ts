export interface RetryOptions {
  /** Tries of one idempotent request, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Bounds one operation from its first try until its response has arrived, waits included. */
  totalTimeoutMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

const defaultRetryPolicy: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 300,
  maxDelayMs: 10_000,
  totalTimeoutMs: 120_000,
};

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...defaultRetryPolicy, ...options };
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`retry.${name} must be a number ≥ 0, got ${value}`);
  }
  if (policy.attempts < 1) throw new Error(`retry.attempts must be at least 1, got ${policy.attempts}`);
  return policy;
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Exponential backoff with "equal jitter": never less than half the step, so a herd of clients
 * spreads out without any of them hammering the registry again at once.
 */
export function backoffDelay(policy: RetryPolicy, failedAttempts: number, random = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempts - 1));
  return step / 2 + random() * (step / 2);
}

export interface RetryDecision {
  retry: boolean;
  /** The server's own `Retry-After`: waited for even when longer than the backoff. */
  retryAfterMs?: number;
}

export type GiveUpReason = 'attempts' | 'deadline';

/**
 * Runs `attempt` until it succeeds, `classify` calls its failure final, the attempts are used up,
 * or the next wait would end past the deadline. `giveUp` turns the last failure of a retried
 * operation into the error the caller sees, so it can say how often and why it stopped.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  deadline: number,
  attempt: (attemptNumber: number) => Promise<T>,
  classify: (error: unknown) => RetryDecision,
  giveUp: (error: unknown, attempts: number, reason: GiveUpReason) => unknown,
): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const decision = classify(error);
      // A single-try operation hands its failure up unchanged, so an enclosing retry loop (a whole
      // upload session) can still decide to start over.
      if (!decision.retry || policy.attempts === 1) throw error;
      if (attemptNumber >= policy.attempts) throw giveUp(error, attemptNumber, 'attempts');
      const wait = Math.max(backoffDelay(policy, attemptNumber), decision.retryAfterMs ?? 0);
      if (Date.now() + wait >= deadline) throw giveUp(error, attemptNumber, 'deadline');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
