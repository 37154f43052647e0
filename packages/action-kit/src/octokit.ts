import * as github from '@actions/github';
import { ConfigurationError } from '@digestline/base';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { secret } from './outputs.js';
import { annotation } from './runner.js';

export type Octokit = ReturnType<typeof github.getOctokit>;

export interface OctokitOptions {
  /** The REST API root; defaults to the runner's GITHUB_API_URL so GitHub Enterprise Server works unchanged. */
  baseUrl?: string;
  /** Retries of a request that failed with a server error (5xx and the like); the retry plugin's default is 3. */
  retries?: number;
}

// Rate-limit waits can run to the end of the hour; two waits are worth it, a third is a stuck job.
const RATE_LIMIT_RETRIES = 2;

/**
 * Calls that create something each time they run. GitHub can answer a 5xx after it created it, so a
 * blind retry makes a second issue, deployment or upload: these are never retried here, and their
 * callers look for what the first try made before creating again.
 */
const CREATES = new Set([
  'POST /repos/{owner}/{repo}/issues',
  'POST /repos/{owner}/{repo}/deployments',
  'POST /repos/{owner}/{repo}/code-scanning/sarifs',
]);

/** The one way the actions reach the GitHub API, so retries, throttling and token masking live here. */
export function createOctokit(token: string, options: OctokitOptions = {}): Octokit {
  if (token === '') {
    throw new ConfigurationError(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow expression for the user to copy
      'A GitHub token is required to call the GitHub API; got an empty one. Pass `github-token: ${{ github.token }}` or a token with the permissions the action lists.',
    );
  }
  secret(token);
  // Read now, not when @actions/github was imported: the environment may have changed since.
  const baseUrl = options.baseUrl ?? (process.env.GITHUB_API_URL || 'https://api.github.com');
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const what = `${request.method} ${request.url} hit the GitHub API ${kind}`;
      if (retryCount < RATE_LIMIT_RETRIES) {
        annotation(
          'warning',
          `${what}; retrying in ${retryAfter}s (retry ${retryCount + 1} of ${RATE_LIMIT_RETRIES}).`,
        );
        return true;
      }
      annotation('warning', `${what}; giving up after ${RATE_LIMIT_RETRIES} retries.`);
      return false;
    };
  const octokit = github.getOctokit(
    token,
    {
      baseUrl,
      retry: options.retries === undefined ? undefined : { retries: options.retries },
      throttle: { onRateLimit: onLimit('rate limit'), onSecondaryRateLimit: onLimit('secondary rate limit') },
    },
    retry,
    throttling,
  );
  octokit.hook.before('request', (request) => {
    // The retry plugin reads request.retries when a call fails; 0 hands a creating call's 5xx to its caller.
    if (CREATES.has(`${request.method} ${request.url}`)) request.request = { ...request.request, retries: 0 };
  });
  return octokit;
}

/**
 * Makes one of the CREATES calls at most once in effect: when a try ends without a clear answer (no
 * response, or a 5xx), `lookup` searches for what it may have created before the call is made again.
 */
export async function createAtMostOnce<T>(
  call: () => Promise<T>,
  lookup: () => Promise<T | undefined>,
  options: { tries?: number; pauseMs?: number } = {},
): Promise<T> {
  const tries = options.tries ?? 3;
  let attempt = 0;
  for (;;) {
    attempt++;
    let failure: unknown;
    try {
      return await call();
    } catch (error) {
      failure = error;
    }
    const status = (failure as { status?: unknown }).status;
    const unanswered = typeof status !== 'number' || status >= 500;
    if (!unanswered || attempt === tries) throw failure;
    await new Promise((resolve) => setTimeout(resolve, (options.pauseMs ?? 1000) * attempt));
    const earlier = await lookup();
    if (earlier !== undefined) return earlier;
  }
}
