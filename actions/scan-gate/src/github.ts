import { createOctokit, githubContext } from '@digestline/action-kit';
import {
  type GateOutcome,
  type GitHubRequest,
  type IssueSync,
  syncIssues,
  type UploadResult,
  uploadSarif,
} from '@digestline/scan';
import { ISSUE_LABEL } from './constants.js';
import type { Inputs } from './inputs.js';

/**
 * The SARIF upload and the issues: loaded only when asked for, so that a run that talks to no one does
 * not load octokit and its HTTP client first.
 */
export async function publish(
  outcome: GateOutcome,
  inputs: Inputs,
): Promise<{ upload?: UploadResult; issues?: IssueSync }> {
  const octokit = createOctokit(inputs.token ?? '');
  const request = octokit.request as unknown as GitHubRequest;
  const context = githubContext();
  const upload = inputs.uploadSarif
    ? await uploadSarif(request, {
        ...context.repo,
        commitSha: context.sha,
        ref: context.ref,
        // Made beside the file because `gzip` was asked for with the upload.
        gzipped: outcome.sarif.gzipped as Buffer,
      })
    : undefined;
  const issues = inputs.createIssues
    ? await syncIssues(request, outcome.blocking, {
        ...context.repo,
        category: inputs.category,
        label: ISSUE_LABEL,
        runUrl: `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`,
      })
    : undefined;
  return { upload, issues };
}
