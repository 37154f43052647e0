import { existsSync, readFileSync } from 'node:fs';

/** A webhook event payload as the runner wrote it to GITHUB_EVENT_PATH. */
// biome-ignore lint/suspicious/noExplicitAny: the payload's shape depends on the event; callers narrow it
export type EventPayload = Record<string, any>;

/** The workflow run an action executes in, read from the runner's GITHUB_* variables and event file. */
export interface GitHubContext {
  payload: EventPayload;
  eventName: string;
  sha: string;
  ref: string;
  workflow: string;
  action: string;
  actor: string;
  job: string;
  runAttempt: number;
  runNumber: number;
  runId: number;
  apiUrl: string;
  serverUrl: string;
  graphqlUrl: string;
  /** `GITHUB_REPOSITORY` split, else the event's repository; throws when neither names one. */
  readonly repo: { owner: string; repo: string };
  readonly issue: { owner: string; repo: string; number: number };
}

function readPayload(path: string | undefined): EventPayload {
  if (!path) return {};
  if (!existsSync(path)) {
    process.stdout.write(`GITHUB_EVENT_PATH ${path} does not exist\n`);
    return {};
  }
  return JSON.parse(readFileSync(path, 'utf8')) as EventPayload;
}

/**
 * Read here rather than through @actions/github, whose import loads octokit: most runs never call the API,
 * and every run reads the context.
 */
export function githubContext(env: NodeJS.ProcessEnv = process.env): GitHubContext {
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  const repo = () => {
    if (env.GITHUB_REPOSITORY) {
      const [owner = '', name = ''] = env.GITHUB_REPOSITORY.split('/');
      return { owner, repo: name };
    }
    if (payload.repository) return { owner: payload.repository.owner.login, repo: payload.repository.name };
    throw new Error("context.repo needs a GITHUB_REPOSITORY environment variable such as 'owner/repo'");
  };
  return {
    payload,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    workflow: env.GITHUB_WORKFLOW ?? '',
    action: env.GITHUB_ACTION ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    job: env.GITHUB_JOB ?? '',
    runAttempt: Number.parseInt(env.GITHUB_RUN_ATTEMPT ?? '', 10),
    runNumber: Number.parseInt(env.GITHUB_RUN_NUMBER ?? '', 10),
    runId: Number.parseInt(env.GITHUB_RUN_ID ?? '', 10),
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    graphqlUrl: env.GITHUB_GRAPHQL_URL ?? 'https://api.github.com/graphql',
    get repo() {
      return repo();
    },
    get issue() {
      const source = payload.issue ?? payload.pull_request ?? payload;
      return { ...repo(), number: source.number };
    },
  };
}
