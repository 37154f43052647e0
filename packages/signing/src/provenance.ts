import { PredicateType, type Statement, StatementError, type Subject, statement } from './intoto.js';

/** GitHub's SLSA build type for a workflow run; it fixes what the parameters below mean. */
export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';

/**
 * What provenance needs to know about the run, as plain values: the action layer reads them from the
 * runner (GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_REF, GITHUB_WORKFLOW_REF, …).
 */
export interface GitHubBuildContext {
  /** `https://github.com` */
  serverUrl: string;
  /** `owner/repo` */
  repository: string;
  /** The commit built (40 hex). */
  sha: string;
  /** `refs/heads/main` */
  ref: string;
  /**
   * The workflow file: its path (`.github/workflows/build.yml`) or GITHUB_WORKFLOW_REF
   * (`owner/repo/.github/workflows/build.yml@refs/heads/main`), which also names the workflow's own ref.
   */
  workflow: string;
  runId: string | number;
  runAttempt: string | number;
  /** Who ran the build, e.g. `https://github.com/actions/runner/github-hosted`. */
  builderId: string;
  eventName?: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  /** `github-hosted` or `self-hosted` */
  runnerEnvironment?: string;
}

export interface ProvenanceOptions {
  startedOn?: Date;
  finishedOn?: Date;
}

function workflowOf(context: GitHubBuildContext): { path: string; ref: string } {
  const prefix = `${context.repository}/`;
  const at = context.workflow.lastIndexOf('@');
  if (context.workflow.startsWith(prefix) && at > prefix.length) {
    return { path: context.workflow.slice(prefix.length, at), ref: context.workflow.slice(at + 1) };
  }
  if (/^\.github\/workflows\/[^@]+\.ya?ml$/.test(context.workflow))
    return { path: context.workflow, ref: context.ref };
  throw new StatementError(
    `workflow ${JSON.stringify(context.workflow)} is neither a workflow file path (.github/workflows/build.yml) ` +
      `nor a GITHUB_WORKFLOW_REF of ${context.repository}`,
  );
}

function check(context: GitHubBuildContext): void {
  if (!/^[a-f0-9]{40}$/.test(context.sha))
    throw new StatementError(`sha ${JSON.stringify(context.sha)} is not a 40-hex commit`);
  if (!/^[\w.-]+\/[\w.-]+$/.test(context.repository)) {
    throw new StatementError(`repository ${JSON.stringify(context.repository)} is not owner/repo`);
  }
  for (const [name, value] of Object.entries({
    serverUrl: context.serverUrl,
    ref: context.ref,
    runId: String(context.runId),
    runAttempt: String(context.runAttempt),
    builderId: context.builderId,
  })) {
    if (value.trim() === '') throw new StatementError(`the build context has an empty ${name}`);
  }
}

/** A SLSA v1 provenance predicate for a GitHub Actions workflow run. */
export function provenancePredicate(context: GitHubBuildContext, options: ProvenanceOptions = {}) {
  check(context);
  const serverUrl = context.serverUrl.replace(/\/+$/, '');
  const workflow = workflowOf(context);
  const github = Object.fromEntries(
    Object.entries({
      event_name: context.eventName,
      repository_id: context.repositoryId,
      repository_owner_id: context.repositoryOwnerId,
      runner_environment: context.runnerEnvironment,
    }).filter(([, value]) => value !== undefined),
  );
  const metadata: Record<string, string> = {
    invocationId: `${serverUrl}/${context.repository}/actions/runs/${context.runId}/attempts/${context.runAttempt}`,
  };
  if (options.startedOn !== undefined) metadata.startedOn = options.startedOn.toISOString();
  if (options.finishedOn !== undefined) metadata.finishedOn = options.finishedOn.toISOString();
  return {
    buildDefinition: {
      buildType: GITHUB_WORKFLOW_BUILD_TYPE,
      externalParameters: {
        workflow: {
          ref: workflow.ref,
          repository: `${serverUrl}/${context.repository}`,
          path: workflow.path,
        },
      },
      internalParameters: { github },
      resolvedDependencies: [
        { uri: `git+${serverUrl}/${context.repository}@${context.ref}`, digest: { gitCommit: context.sha } },
      ],
    },
    runDetails: { builder: { id: context.builderId }, metadata },
  };
}

export type ProvenancePredicate = ReturnType<typeof provenancePredicate>;

export function provenanceStatement(
  subject: Subject | Subject[],
  context: GitHubBuildContext,
  options?: ProvenanceOptions,
): Statement<ProvenancePredicate> {
  return statement(subject, PredicateType.slsaProvenance, provenancePredicate(context, options));
}
