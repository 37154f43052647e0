import { githubContext } from '@digestline/action-kit';
import type { RunContext } from '@digestline/promotion';

/** The run that moved the tag, for the promotion record. */
export function runContext(): RunContext {
  const context = githubContext();
  return {
    repository: `${context.repo.owner}/${context.repo.repo}`,
    runId: String(context.runId),
    runAttempt: process.env.GITHUB_RUN_ATTEMPT ?? '1',
    sha: context.sha,
    workflow: context.workflow,
    actor: context.actor,
    serverUrl: context.serverUrl,
  };
}
