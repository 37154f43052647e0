import { DigestlineError, errorClass, faultOf } from '@digestline/base';
import type { Credentials, ImageReference, RegistryError } from '@digestline/oci';
import { INPUT } from './options.js';

/** The digests given to merge cannot form an index (the user's input is at fault). */
export class MergeError extends errorClass('MergeError', 'MERGE', 'user') {}

/** The builder or the registry holds something other than what was built or pushed. */
export class BuildOutputError extends errorClass('BuildOutputError', 'BUILD_OUTPUT', 'environment') {}

/**
 * A run failed: the cause's message (with the fix, where one is known) and what had changed in the
 * registry by then. Code and fault are the cause's, so it is reported as the cause would be.
 */
export class BuildAndSignError extends DigestlineError {
  override name = 'BuildAndSignError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    const { cause } = options;
    super(message, {
      code: cause instanceof DigestlineError ? cause.code : 'BUILD_FAILED',
      fault: faultOf(cause),
      cause,
    });
  }
}

/**
 * A registry's refusal or silence in terms of the inputs that lead to it: which registry, which
 * credentials, which digests. Undefined where the registry's own message says it all.
 */
export function registryAdvice(
  error: RegistryError,
  run: { image: ImageReference; credentials?: Credentials; mergeDigests: string[] },
): string | undefined {
  const { registry } = run.image;
  if (error.status === 401 || error.status === 403) {
    const who =
      run.credentials === undefined
        ? `no credentials were given: set "${INPUT.registryUsername}" and "${INPUT.registryPassword}"`
        : `check "${INPUT.registryUsername}" and "${INPUT.registryPassword}"`;
    return `Registry ${registry} refused access (HTTP ${error.status}): ${who}. ${error.message}`;
  }
  if (error.status === undefined) {
    return `Registry ${registry} (from "${INPUT.image}") could not be reached or answered badly: ${error.message}. Check the registry host and port in "${INPUT.image}"; credentials come from "${INPUT.registryUsername}"/"${INPUT.registryPassword}".`;
  }
  if (error.status === 404 && run.mergeDigests.length > 0) {
    return `A digest in "${INPUT.mergeDigests}" is not in ${run.image.name}: ${error.message} Push every platform first.`;
  }
  return undefined;
}
