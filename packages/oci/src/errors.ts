export interface RegistryErrorDetails {
  registry: string;
  repository?: string;
  status?: number;
  /** The registry's error code, e.g. `MANIFEST_UNKNOWN`, `DENIED`. */
  code?: string;
  cause?: unknown;
}

/** A registry refused or failed a request, or answered something that cannot be trusted. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly registry: string;
  readonly repository?: string;
  readonly status?: number;
  readonly code?: string;

  constructor(message: string, details: RegistryErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.registry = details.registry;
    this.repository = details.repository;
    this.status = details.status;
    this.code = details.code;
  }
}

/** Content whose sha256 is not the digest it was fetched or announced under: never used. */
export class DigestMismatchError extends RegistryError {
  override name = 'DigestMismatchError';
  readonly expected: string;
  readonly actual: string;

  constructor(message: string, details: RegistryErrorDetails & { expected: string; actual: string }) {
    super(message, details);
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/**
 * Whether a failure may be retried, kept off the public error: callers decide on status and code,
 * only the client's retry loop needs this.
 */
const retryable = new WeakMap<Error, { retryAfterMs?: number }>();

export function markRetryable<E extends Error>(error: E, retryAfterMs?: number): E {
  retryable.set(error, { retryAfterMs });
  return error;
}

export function retryInfo(error: unknown): { retryAfterMs?: number } | undefined {
  return typeof error === 'object' && error !== null ? retryable.get(error as Error) : undefined;
}
