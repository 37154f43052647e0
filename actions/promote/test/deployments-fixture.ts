import type { GitHubFixture, RecordedRequest } from '../../../test/harness/github.js';

/** The commit the fixture's runner context names (GITHUB_SHA in runAction's default environment). */
export const SHA = 'ffac537e6cbbf934b08745a378932722df287a53';

let nextId = 100;

/** The id the last deployment answered by `expectDeployment` got. */
export const lastDeploymentId = () => nextId;

/** A deployment as GitHub answers create-deployment (and lists it), built from the request that made it. */
export function deployment(id: number, req: RecordedRequest) {
  const body = req.body as { ref: string; environment: string; payload: unknown; description?: string };
  const url = `https://api.github.com/repos/octo-org/octo-repo/deployments/${id}`;
  return {
    url,
    id,
    node_id: `DE_${id}`,
    sha: SHA,
    ref: body.ref,
    task: 'deploy',
    payload: body.payload,
    environment: body.environment,
    description: body.description ?? null,
    creator: null,
    created_at: '2025-01-02T03:04:05Z',
    updated_at: '2025-01-02T03:04:05Z',
    statuses_url: `${url}/statuses`,
    repository_url: 'https://api.github.com/repos/octo-org/octo-repo',
  };
}

export function deploymentStatus(req: RecordedRequest) {
  const body = req.body as { state: string; description?: string; environment?: string; log_url?: string };
  const url = `${req.path}/1`;
  return {
    url: `https://api.github.com${url}`,
    id: 1,
    node_id: 'DES_1',
    state: body.state,
    creator: null,
    description: body.description ?? '',
    environment: body.environment ?? '',
    target_url: 'https://github.com/octo-org/octo-repo/actions/runs/1658821493',
    created_at: '2025-01-02T03:04:05Z',
    updated_at: '2025-01-02T03:04:05Z',
    deployment_url: 'https://api.github.com/repos/octo-org/octo-repo/deployments/1',
    repository_url: 'https://api.github.com/repos/octo-org/octo-repo',
    log_url: body.log_url ?? '',
  };
}

/** The deployment the action is expected to create, and its one status. */
export function expectDeployment(github: GitHubFixture): void {
  github.on('repos/create-deployment', (req) => ({ status: 201, body: deployment(++nextId, req) }));
  github.on('repos/create-deployment-status', (req) => ({ status: 201, body: deploymentStatus(req) }));
}

/** The states of every deployment status sent so far, oldest first. */
export const statusesSent = (github: GitHubFixture) =>
  github.requests
    .filter((r) => r.operationId === 'repos/create-deployment-status')
    .map((r) => (r.body as { state: string }).state);

/** A new deployment id without answering anything: for fixtures that build their own answers. */
export const newDeploymentId = () => ++nextId;
