import { DigestlineError } from '@digestline/base';

export interface RegistryErrorDetails {
  registry: string;
  repository?: string;
  status?: number;
  /** The registry's error code, e.g. `MANIFEST_UNKNOWN`, `DENIED`. */
  registryCode?: string;
  cause?: unknown;
}

export type RegistryErrorCode = 'REGISTRY_REFUSED' | 'REGISTRY_UNAVAILABLE' | 'DIGEST_MISMATCH';

/**
 * A 4xx other than 429 is the registry refusing what it was asked (credentials, permissions, a name that
 * does not exist): the user fixes it. No answer, 429 and 5xx are the registry's trouble.
 */
function refused(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}

/** A registry refused or failed a request, or answered something that cannot be trusted. */
export class RegistryError extends DigestlineError<RegistryErrorCode> {
  override name = 'RegistryError';
  readonly registry: string;
  readonly repository?: string;
  readonly status?: number;
  readonly registryCode?: string;

  constructor(message: string, details: RegistryErrorDetails, code?: RegistryErrorCode) {
    const isRefusal = refused(details.status);
    super(message, {
      code: code ?? (isRefusal ? 'REGISTRY_REFUSED' : 'REGISTRY_UNAVAILABLE'),
      fault: code === undefined && isRefusal ? 'user' : 'environment',
      cause: details.cause,
    });
    this.registry = details.registry;
    this.repository = details.repository;
    this.status = details.status;
    this.registryCode = details.registryCode;
  }
}

/** Content whose sha256 is not the digest it was fetched or announced under: never used. */
export class DigestMismatchError extends RegistryError {
  override name = 'DigestMismatchError';
  readonly expected: string;
  readonly actual: string;

  constructor(message: string, details: RegistryErrorDetails & { expected: string; actual: string }) {
    super(message, details, 'DIGEST_MISMATCH');
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
