import type { Annotation, GitHubClaims } from '@digestline/local';
import type { Permissions } from './permissions.js';

export type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

/** The secrets, variables and URL of one GitHub environment. */
export interface EnvironmentSettings {
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
}

export interface ApprovalRequest {
  environment: string;
  /** The job's key, e.g. `staging/promote`. */
  job: string;
  workflow: string;
  run: number;
}

export interface ApprovalDecision {
  approved: boolean;
  reviewer: string;
}

export type Approval = ApprovalRequest & ApprovalDecision;

/** What a run is started by: `push`, `pull_request`, `schedule`, `workflow_dispatch`. */
export interface WorkflowEvent {
  name: string;
  /** workflow_dispatch inputs, as the form or the API sends them. */
  inputs?: Record<string, string | number | boolean>;
  /** Merged over the event payload this executor makes (github.event). */
  payload?: Record<string, unknown>;
  /** Default `refs/heads/<default branch>` (for pull_request `refs/pull/<n>/merge`). */
  ref?: string;
  /** Default the fixture repository's HEAD commit. */
  sha?: string;
  actor?: string;
}

/** Progress of a run, as it happens (the demo prints it; tests wait on it). */
export type Progress =
  | { type: 'job-started'; run: number; job: string }
  | { type: 'job-finished'; run: number; job: string; result: Result }
  | { type: 'waiting-for-concurrency'; run: number; job: string; group: string }
  | { type: 'waiting-for-approval'; run: number; job: string; environment: string };

/** The request a keyless step makes for an OIDC token (`id-token: write`). */
export interface IdTokenRequest {
  audience: string;
  job: string;
  /** GitHub's claims for the job (`sub`, `repository`, `job_workflow_ref`, `environment` …). */
  claims: GitHubClaims;
}

export interface ExecutorOptions {
  /** The repository the workflows run for: its name and a local git repository that checkout copies. */
  repository: { name: string; path: string; defaultBranch?: string };
  /** Where `uses: <ownRepository>/<action>@ref` and `<ownRepository>/.github/workflows/<file>@ref` resolve. */
  ownRepository?: string;
  actionsDir?: string;
  workflowsDir?: string;
  /** The Node 24 binary our action bundles run on. */
  node?: string;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  environments?: Record<string, EnvironmentSettings>;
  /** Decides every `environment:` a job names; without it every environment is approved. */
  approve?: (request: ApprovalRequest) => ApprovalDecision | Promise<ApprovalDecision>;
  /** The GitHub API the jobs' tokens reach, through a gate that enforces each job's `permissions:`. */
  github?: { url: string; token: string };
  /** Programs the setup-* stand-ins put on PATH: `node`, `pnpm`, `trivy`. */
  tools?: Record<string, string>;
  /**
   * A directory every job's home starts as a copy of: what the runner image keeps there (a self-hosted
   * runner's warm caches, such as Trivy's database under `.cache/trivy`).
   */
  home?: string;
  /** Variables every step sees, as a runner image's environment. */
  env?: Record<string, string>;
  /** PATH entries every step sees after the machine's own. */
  path?: string[];
  /** The permissions a job gets when neither it nor its workflow names any. */
  defaultPermissions?: Permissions;
  /** Answers `ACTIONS_ID_TOKEN_REQUEST_URL` for jobs granted `id-token: write`. */
  idToken?: (request: IdTokenRequest) => Promise<string>;
  progress?: (event: Progress) => void;
}

export interface StepRun {
  name: string;
  id: string;
  kind: 'run' | 'action' | 'stand-in';
  post: boolean;
  outcome: Result;
  conclusion: Result;
  outputs: Record<string, string>;
  log: string;
  annotations: Annotation[];
}

export interface JobRun {
  /** `id`, `id (matrix values)`, or `caller/callee` for a job of a called workflow. */
  key: string;
  id: string;
  name: string;
  result: Result;
  outputs: Record<string, string>;
  runsOn?: string;
  environment?: string;
  matrix?: Record<string, unknown>;
  permissions?: Permissions;
  steps: StepRun[];
  summary: string;
  /** Why the job failed before or between its steps (rejected approval, timeout, bad input). */
  error?: string;
}

export interface RunResult {
  id: number;
  workflow: string;
  conclusion: Result;
  /** A called workflow's outputs (`on.workflow_call.outputs`). */
  outputs: Record<string, string>;
  jobs: JobRun[];
  approvals: Approval[];
  artifactsDir: string;
  job(key: string): JobRun;
  /** Every job and step with its log, for a failing test's message. */
  log(): string;
}
