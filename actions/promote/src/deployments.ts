import { createAtMostOnce, createOctokit, githubContext } from '@digestline/action-kit';
import type { DeploymentRecorder } from '@digestline/promotion';

/** GitHub Deployments on the commit this run built, so the environment page shows which digest runs where. */
export function githubDeployments(token: string): DeploymentRecorder {
  const octokit = createOctokit(token);
  const context = githubContext();
  const { owner, repo } = context.repo;
  const logUrl = `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`;
  const runMarker = `${context.runId}/${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  let environment = '';
  return {
    async create(request) {
      environment = request.environment;
      // Marks this run's deployment, so a look-up after an unanswered create finds this try's and no other.
      const payload = { ...request.payload, run: runMarker };
      return createAtMostOnce(
        async () => {
          const response = await octokit.rest.repos.createDeployment({
            owner,
            repo,
            ref: context.sha,
            environment: request.environment,
            payload,
            description: request.description.slice(0, 140),
            // The digest is what is deployed: neither a merge of the default branch nor commit statuses decide it.
            auto_merge: false,
            required_contexts: [],
            production_environment: request.production,
            transient_environment: false,
          });
          if (!('id' in response.data)) {
            throw new Error(
              `GitHub did not create the deployment: ${response.data.message ?? `status ${response.status}`}`,
            );
          }
          return response.data.id;
        },
        async () => {
          const { data } = await octokit.rest.repos.listDeployments({
            owner,
            repo,
            sha: context.sha,
            environment: request.environment,
            per_page: 30,
          });
          return data.find((d) => {
            const made = d.payload as { digest?: unknown; run?: unknown };
            return made.digest === payload.digest && made.run === runMarker && d.environment === environment;
          })?.id;
        },
      );
    },
    async setStatus(id, state, description) {
      await octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: id,
        state,
        environment,
        description: description.slice(0, 140),
        log_url: logUrl,
        auto_inactive: state === 'success',
      });
    },
  };
}
