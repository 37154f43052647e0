import { ScanInputError } from './errors.js';
import { type Finding, fingerprint } from './finding.js';

/**
 * The slice of an Octokit client this package needs (`octokit.request`), so the domain stays free of
 * @actions/* and is tested against the GitHub fixture server through the real client.
 */
export type GitHubRequest = (
  route: string,
  parameters?: Record<string, unknown>,
) => Promise<{ status: number; data: unknown }>;

export interface Repository {
  owner: string;
  repo: string;
}

const statusOf = (error: unknown) => (error as { status?: unknown })?.status;

/** No answer, or a 5xx: GitHub may or may not have done what it was asked. */
function undecided(error: unknown): boolean {
  const status = statusOf(error);
  return typeof status !== 'number' || status >= 500;
}

/**
 * Creates something GitHub keeps (an issue, an upload) at most once. A 5xx or a lost answer can come
 * after GitHub created it, so before each new try `find` looks for what an earlier try made; only when
 * it finds nothing is the call made again. Other failures, and the last undecided one, are thrown.
 */
async function createOnce<T>(
  create: () => Promise<T>,
  find: () => Promise<T | undefined>,
  tries = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      if (!undecided(error) || attempt >= tries) throw error;
      await sleep(1000 * attempt);
      const made = await find();
      if (made !== undefined) return made;
    }
  }
}

export interface UploadOptions extends Repository {
  commitSha: string;
  ref: string;
  gzipped: Buffer;
  /** How long to wait for GitHub to process the upload before reporting it as still pending. */
  timeoutMs?: number;
  pollIntervalMs?: number;
}

export interface UploadResult {
  id: string;
  processingStatus: 'complete' | 'pending' | 'failed';
  errors: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TOOL_NAME = 'digestline scan-gate';
/** How far GitHub's clock may be behind ours when it dates an analysis of this upload. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The upload an earlier try made, found among the recent analyses of this ref by its commit and tool.
 * GitHub lists an upload only once it has processed it; one not listed yet is uploaded again, which for
 * the same commit, ref, tool and category replaces the analysis rather than adding one.
 */
async function findUpload(
  request: GitHubRequest,
  options: UploadOptions,
  startedAt: number,
): Promise<string | undefined> {
  const { data } = await request('GET /repos/{owner}/{repo}/code-scanning/analyses', {
    owner: options.owner,
    repo: options.repo,
    ref: options.ref,
    tool_name: TOOL_NAME,
    per_page: 20,
  });
  const found = (data as { commit_sha?: string; created_at?: string; sarif_id?: string }[]).find(
    (analysis) =>
      analysis.commit_sha === options.commitSha &&
      Date.parse(analysis.created_at ?? '') >= startedAt - CLOCK_SKEW_MS &&
      typeof analysis.sarif_id === 'string',
  );
  return found?.sarif_id;
}

/** Uploads to code scanning and waits for GitHub to process it, so a rejected file fails this step. */
export async function uploadSarif(request: GitHubRequest, options: UploadOptions): Promise<UploadResult> {
  const { owner, repo } = options;
  const startedAt = Date.now();
  let id: string;
  try {
    id = await createOnce(
      async () => {
        const response = await request('POST /repos/{owner}/{repo}/code-scanning/sarifs', {
          owner,
          repo,
          commit_sha: options.commitSha,
          ref: options.ref,
          sarif: options.gzipped.toString('base64'),
          tool_name: TOOL_NAME,
        });
        return String((response.data as { id?: unknown }).id);
      },
      () => findUpload(request, options, startedAt),
    );
  } catch (error) {
    if (statusOf(error) === 403) {
      throw new ScanInputError(
        'GitHub refused the SARIF upload (403 Forbidden): add `permissions: security-events: write` to the job, and for a private repository make sure GitHub Code Security is enabled.',
      );
    }
    throw new Error(`uploading SARIF to ${owner}/${repo} failed`, { cause: error });
  }
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let interval = options.pollIntervalMs ?? 2_000;
  for (;;) {
    const response = await request('GET /repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id}', {
      owner,
      repo,
      sarif_id: id,
    }).catch((error: unknown) => {
      // Right after the upload GitHub may not know the id yet.
      if (statusOf(error) === 404) return undefined;
      throw new Error(`reading the processing status of SARIF upload ${id} failed`, { cause: error });
    });
    const data = response?.data as {
      processing_status?: UploadResult['processingStatus'];
      errors?: string[] | null;
    };
    const status = data?.processing_status ?? 'pending';
    if (status !== 'pending' || Date.now() + interval > deadline) {
      return { id, processingStatus: status, errors: data?.errors ?? [] };
    }
    await sleep(interval);
    interval = Math.min(interval * 2, 15_000);
  }
}

export interface IssueOptions extends Repository {
  /** Keeps the issues of two gates (image and repository) apart; the `category` input. */
  category: string;
  label: string;
  /** A link to the workflow run, for the closing comment. */
  runUrl?: string;
  /** New issues per run; a first run on an old image would otherwise open hundreds at once. */
  maxNew?: number;
}

export interface IssueSync {
  created: number[];
  open: number[];
  closed: number[];
  /** Blocking findings left without an issue because of `maxNew`. */
  deferred: number;
}

const MARKER = /<!-- digestline-finding: (\S+) -->/;

export function issueMarker(category: string, finding: Finding): string {
  return `<!-- digestline-finding: ${category}:${fingerprint(finding)} -->`;
}

function issueTitle(finding: Finding): string {
  const where = finding.package ?? finding.location?.file ?? finding.targets[0];
  return `${finding.id} (${finding.severity}) in ${where}`.slice(0, 256);
}

function issueBody(finding: Finding, category: string): string {
  const rows = [
    ['Severity', finding.severity + (finding.cvss ? ` (CVSS ${finding.cvss})` : '')],
    ['Kind', finding.kind],
    ['Package', finding.package ? `${finding.package} ${finding.installedVersion ?? ''}`.trim() : undefined],
    ['Fixed version', finding.kind === 'vulnerability' ? (finding.fixedVersion ?? 'none yet') : undefined],
    [
      'Location',
      finding.location
        ? `${finding.location.file}${finding.location.line ? `:${finding.location.line}` : ''}`
        : undefined,
    ],
    ['Found in', finding.targets.join(', ')],
    ['Reported by', finding.tools.join(', ')],
  ].filter((row): row is [string, string] => row[1] !== undefined);
  return [
    `**${finding.title}**`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.map(([key, value]) => `| ${key} | ${value.replace(/\|/g, '\\|')} |`),
    '',
    'Opened by scan-gate; it is closed automatically when a scan no longer reports the finding.',
    issueMarker(category, finding),
  ].join('\n');
}

interface IssueSummary {
  number: number;
  body?: string | null;
  pull_request?: unknown;
}

async function openIssues(request: GitHubRequest, options: IssueOptions): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (let page = 1; ; page++) {
    const { data } = await request('GET /repos/{owner}/{repo}/issues', {
      owner: options.owner,
      repo: options.repo,
      state: 'open',
      labels: options.label,
      per_page: 100,
      page,
    });
    const issues = data as IssueSummary[];
    for (const issue of issues) {
      const marker = MARKER.exec(issue.body ?? '')?.[1];
      if (issue.pull_request === undefined && marker?.startsWith(`${options.category}:`))
        found.set(marker, issue.number);
    }
    if (issues.length < 100) return found;
  }
}

/**
 * One open issue per blocking finding: found again by the hidden marker in its body, never opened
 * twice, and closed with a comment once the finding is gone.
 */
export async function syncIssues(
  request: GitHubRequest,
  blocking: Finding[],
  options: IssueOptions,
): Promise<IssueSync> {
  const existing = await openIssues(request, options);
  const wanted = new Map<string, Finding>();
  for (const finding of blocking) {
    const key = `${options.category}:${fingerprint(finding)}`;
    if (!wanted.has(key)) wanted.set(key, finding);
  }
  const sync: IssueSync = { created: [], open: [], closed: [], deferred: 0 };
  const maxNew = options.maxNew ?? 50;
  for (const [key, finding] of wanted) {
    const number = existing.get(key);
    if (number !== undefined) {
      sync.open.push(number);
      continue;
    }
    if (sync.created.length >= maxNew) {
      sync.deferred++;
      continue;
    }
    const created = await createOnce(
      async () => {
        const { data } = await request('POST /repos/{owner}/{repo}/issues', {
          owner: options.owner,
          repo: options.repo,
          title: issueTitle(finding),
          body: issueBody(finding, options.category),
          labels: [options.label, `severity:${finding.severity}`],
        });
        return (data as { number: number }).number;
      },
      async () => (await openIssues(request, options)).get(key),
    );
    sync.created.push(created);
  }
  for (const [key, number] of existing) {
    if (wanted.has(key)) continue;
    const run = options.runUrl ? ` in [this run](${options.runUrl})` : '';
    await request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner: options.owner,
      repo: options.repo,
      issue_number: number,
      body: `scan-gate no longer reports this finding${run}: it was fixed, waived or is below the threshold. Closing.`,
    });
    await request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
      owner: options.owner,
      repo: options.repo,
      issue_number: number,
      state: 'closed',
      state_reason: 'completed',
    });
    sync.closed.push(number);
  }
  return sync;
}
