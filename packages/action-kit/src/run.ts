import module from 'node:module';
import { join } from 'node:path';
import { describeStacks, faultOf, reportError } from '@digestline/base';
import * as core from './runner.js';
import { IS_POST_STATE, isPost } from './state.js';

/**
 * The entry point of every action: `void run(main, post)`. The one place an error turns into a failed
 * step, so it never rejects; the exit code becomes 1 through `setFailed`.
 */
export async function run(main: () => Promise<void>, post?: () => Promise<void>): Promise<void> {
  // The chunks an action loads once its inputs are read compile from V8's code cache (keyed by their
  // content and Node's version) when the same bundle ran before in this job: a second step with the
  // action, the post step. In RUNNER_TEMP, which the runner empties after every job, so nothing piles up.
  const runnerTemp = process.env.RUNNER_TEMP;
  (module as { enableCompileCache?: (directory?: string) => unknown }).enableCompileCache?.(
    runnerTemp ? join(runnerTemp, 'digestline-compile-cache') : undefined,
  );
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

/**
 * A user's mistake (bad input, a refused gate) is reported by its message alone: a stack would point at
 * our code when the fix belongs in the workflow. Anything else carries its causes, and its stacks go to
 * the debug log.
 */
function fail(error: unknown): void {
  if (faultOf(error) !== 'user') for (const stack of describeStacks(error)) core.debug(stack);
  core.setFailed(reportError(error));
}
