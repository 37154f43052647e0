import * as core from '@actions/core';
import { ConfigurationError, describeError, describeStacks } from './errors.js';
import { IS_POST_STATE, isPost } from './state.js';

/**
 * The entry point of every action: `void run(main, post)`. The one place an error turns into a failed
 * step, so it never rejects; the exit code becomes 1 through `setFailed`.
 */
export async function run(main: () => Promise<void>, post?: () => Promise<void>): Promise<void> {
  try {
    if (isPost()) {
      if (post) await post();
      return;
    }
    // Saved before main runs, so the post step is recognised even when main fails half-way.
    core.saveState(IS_POST_STATE, 'true');
    await main();
  } catch (error) {
    fail(error);
  }
}

function fail(error: unknown): void {
  if (error instanceof ConfigurationError) {
    core.setFailed(error.message);
    return;
  }
  for (const stack of describeStacks(error)) core.debug(stack);
  core.setFailed(describeError(error));
}
