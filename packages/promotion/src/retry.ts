import type { Logger } from '@digestline/base';
import { RegistryError } from '@digestline/oci';

export interface WriteRetry {
  /** Tries in all, the first included; default 3. */
  attempts?: number;
  /** Wait before the second try, doubled before each later one; default 500 ms. */
  delayMs?: number;
}

/** A registry that did not answer, answered 5xx or 429: worth another try of a write that is idempotent. */
function transient(error: unknown): boolean {
  return error instanceof RegistryError && error.fault === 'environment';
}

/**
 * Runs an idempotent write until it succeeds, fails for a reason a retry cannot change, or the tries
 * are used up. Only for writes that leave the same result however often they run.
 */
export async function retryWrite<T>(
  what: string,
  write: () => Promise<T>,
  log: Logger,
  options: WriteRetry = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  let delay = options.delayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!transient(error) || attempt >= attempts) throw error;
      log.warning(
        `${what} failed (${(error as Error).message}); trying again in ${delay} ms (${attempt + 1} of ${attempts}).`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}
