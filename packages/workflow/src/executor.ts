import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { basename, delimiter, join } from 'node:path';
import {
  type GitHubClaims,
  githubClaims,
  inputEnvName,
  listenOnLoopback,
  makeTempDir,
  node24,
  parseCommandFile,
  repoRoot,
} from '@digestline/local';
import { parse as parseYaml } from 'yaml';
import { WorkflowError } from './errors.js';
import {
  coerceString,
  condition,
  interpolate,
  type Scope,
  type Status,
  type Value,
  withStatusCheck,
} from './expressions.js';
import { startTokenGate, type TokenGate } from './gate.js';
import { asList, asObject, type Json, type LoadedWorkflow, loadWorkflow } from './load.js';
import {
  exceeding,
  type Permissions,
  parsePermissions,
  RESTRICTED_DEFAULT,
  readOnly,
} from './permissions.js';
import { hide, readLog, runProcess } from './process.js';
import { STAND_INS, type StandIn, type StandInContext } from './stand-ins.js';
import type {
  Approval,
  ExecutorOptions,
  JobRun,
  Result,
  RunResult,
  StepRun,
  WorkflowEvent,
} from './types.js';

interface Run {
  id: number;
  workflow: LoadedWorkflow;
  event: WorkflowEvent;
  payload: Json;
  eventPath: string;
  ref: string;
  sha: string;
  actor: string;
  dir: string;
  artifactsDir: string;
  jobs: JobRun[];
  approvals: Approval[];
  /** The workflow-level concurrency groups this run holds: its own, and those of workflows it called. */
  groups: Set<string>;
}

/** One workflow being executed: the run's top workflow, or a workflow a job called. */
interface Frame {
  run: Run;
  workflow: LoadedWorkflow;
  inputs: Record<string, Value>;
  secrets: Record<string, string>;
  /** What the calling job granted; a called workflow's jobs get at most this. */
  ceiling?: Permissions;
  prefix: string;
}

interface JobOutcome {
  result: Result;
  outputs: Record<string, string>;
}

interface StepState {
  outputs: Record<string, string>;
  outcome: Result;
  conclusion: Result;
}

interface Job {
  frame: Frame;
  key: string;
  definition: Json;
  record: JobRun;
  workspace: string;
  home: string;
  temp: string;
  token: string;
  permissions: Permissions;
  github: Json;
  secrets: Record<string, string>;
  vars: Record<string, string>;
  needs: Record<string, JobOutcome>;
  matrix: Json | undefined;
  env: Record<string, string>;
  path: string[];
  steps: Record<string, StepState>;
  masks: Set<string>;
  failed: boolean;
  cancelled: boolean;
  signal: AbortSignal;
  posts: (() => Promise<void>)[];
  defaults: { shell?: string; workingDirectory?: string };
  idTokenRequest?: { url: string; token: string };
}

interface ActionManifest {
  inputs?: Record<string, { default?: unknown }>;
  runs: { using: string; main: string; post?: string; 'post-if'?: string };
}

/** Locks of `concurrency:` groups across every run of one executor: one holder at a time, in order. */
class Groups {
  private tails = new Map<string, Promise<void>>();

  async acquire(group: string, onWait: () => void): Promise<() => void> {
    const previous = this.tails.get(group);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = (previous ?? Promise.resolve()).then(() => held);
    this.tails.set(group, tail);
    if (previous !== undefined) {
      onWait();
      await previous;
    }
    return () => {
      release();
      if (this.tails.get(group) === tail) this.tails.delete(group);
    };
  }
}

const MATRIX_KEYS = new Set(['include', 'exclude']);

function expandMatrix(matrix: Json): Json[] {
  const dimensions = Object.entries(matrix).filter(([key]) => !MATRIX_KEYS.has(key));
  let legs: Json[] = dimensions.length === 0 ? [] : [{}];
  for (const [key, values] of dimensions)
    legs = legs.flatMap((leg) => asList(values).map((value) => ({ ...leg, [key]: value })));
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  legs = legs.filter(
    (leg) =>
      !asList(matrix.exclude).some((rule) =>
        Object.entries(asObject(rule)).every(([k, v]) => same(leg[k], v)),
      ),
  );
  const keys = new Set(dimensions.map(([key]) => key));
  // An include extends the combinations of the dimensions it agrees with; one that extends none is a
  // combination of its own (with no dimensions, every include is one).
  const originals = [...legs];
  for (const rule of asList(matrix.include).map(asObject)) {
    const matching = originals.filter((leg) =>
      Object.entries(rule).every(([k, v]) => !keys.has(k) || same(leg[k], v)),
    );
    if (matching.length === 0) legs.push({ ...rule });
    for (const leg of matching) Object.assign(leg, rule);
  }
  return legs;
}

function legLabel(matrix: Json): string {
  return Object.values(matrix)
    .map((value) => (typeof value === 'object' ? JSON.stringify(value) : String(value)))
    .join(', ');
}

/** `refs/heads/<pattern>` filters of push and pull_request, with `*` and `**`. */
function branchMatches(patterns: unknown[], branch: string, defaultBranch: string): boolean {
  return patterns.some((pattern) => {
    const text = String(pattern).replace('$default-branch', defaultBranch);
    const regex = text
      .split('**')
      .map((part) => part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
      .join('.*');
    return new RegExp(`^${regex}$`).test(branch);
  });
}

/** A `paths:` glob as GitHub reads it: `*` within a path segment, `**` across them, `?` one character. */
function pathPattern(pattern: string): RegExp {
  let regex = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (pattern.startsWith('**/', i)) {
      regex += '(?:.*/)?';
      i += 2;
    } else if (pattern.startsWith('**', i)) {
      regex += '.*';
      i += 1;
    } else if (char === '*') regex += '[^/]*';
    else if (char === '?') regex += '[^/]';
    else regex += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${regex}$`);
}

/**
 * Whether a push or pull request with these changed files starts the workflow: some file matches
 * `paths` (a later `!pattern` taking a match back), or not every file matches `paths-ignore`.
 */
function pathsMatch(filters: Json, changed: string[]): boolean {
  if (filters.paths !== undefined) {
    const patterns = asList(filters.paths).map(String);
    return changed.some((file) => {
      let included = false;
      for (const pattern of patterns) {
        const negated = pattern.startsWith('!');
        if (pathPattern(negated ? pattern.slice(1) : pattern).test(file)) included = !negated;
      }
      return included;
    });
  }
  const ignored = asList(filters['paths-ignore']).map((pattern) => pathPattern(String(pattern)));
  return changed.some((file) => !ignored.some((pattern) => pattern.test(file)));
}

/** The files a push changes since `before`, a pull request since its base `sha`; without either, the commit's own. */
function changedFiles(repository: string, sha: string, event: WorkflowEvent): string[] {
  const payload = asObject(event.payload);
  const base =
    event.name === 'push'
      ? (payload.before as string | undefined)
      : (asObject(asObject(payload.pull_request).base).sha as string | undefined);
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repository, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line !== '');
  if (base !== undefined) return git('diff', '--name-only', `${base}...${sha}`);
  return git('diff-tree', '--no-commit-id', '--name-only', '-r', '--root', sha);
}

function typedInput(name: string, spec: Json, value: unknown, where: string): Value {
  const type = String(spec.type ?? 'string');
  if (value === undefined || value === null) {
    if (spec.required === true) throw new WorkflowError(`${where}: required input ${name} was not given`);
    value = spec.default ?? (type === 'boolean' ? false : type === 'number' ? 0 : '');
  }
  switch (type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw new WorkflowError(`${where}: input ${name} must be a boolean, got ${JSON.stringify(value)}`);
    case 'number': {
      const number = typeof value === 'number' ? value : Number(value);
      if (value === '' || Number.isNaN(number))
        throw new WorkflowError(`${where}: input ${name} must be a number, got ${JSON.stringify(value)}`);
      return number;
    }
    case 'choice': {
      const options = asList(spec.options).map(String);
      if (!options.includes(String(value)))
        throw new WorkflowError(
          `${where}: input ${name} must be one of ${options.join(', ')}, got ${JSON.stringify(value)}`,
        );
      return String(value);
    }
    default:
      return typeof value === 'string' ? value : coerceString(value as Value);
  }
}

function typedInputs(specs: Json, given: Record<string, unknown>, where: string): Record<string, Value> {
  const unexpected = Object.keys(given).filter((name) => specs[name] === undefined);
  if (unexpected.length > 0)
    throw new WorkflowError(`${where}: unexpected inputs provided: ${unexpected.join(', ')}`);
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, typedInput(name, asObject(spec), given[name], where)]),
  );
}

/** Runs workflow files the way GitHub does, for what the digestline templates use. */
export class WorkflowExecutor {
  private readonly groups = new Groups();
  private readonly loaded = new Map<string, LoadedWorkflow>();
  private runs = 0;

  private constructor(
    private readonly options: ExecutorOptions,
    private readonly root: string,
    private readonly removeRoot: () => Promise<void>,
    private readonly gate: TokenGate | undefined,
    private readonly oidc: { server: Server; url: string; tokens: Map<string, { job: Job }> } | undefined,
  ) {}

  static async start(options: ExecutorOptions): Promise<WorkflowExecutor> {
    const temp = await makeTempDir('workflow');
    const gate = options.github === undefined ? undefined : await startTokenGate(options.github);
    let oidc: WorkflowExecutor['oidc'];
    if (options.idToken !== undefined) {
      const tokens = new Map<string, { job: Job }>();
      const issue = options.idToken;
      const server = createServer((request, response) => {
        const url = new URL(request.url ?? '/', 'http://oidc');
        const presented = /^bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
        const holder = tokens.get(presented);
        if (holder === undefined) {
          response.writeHead(401).end();
          return;
        }
        const { job } = holder;
        issue({
          audience: url.searchParams.get('audience') ?? '',
          job: job.key,
          claims: idClaims(job, options.ownRepository ?? 'digestline/actions'),
        }).then(
          (value) => {
            response.writeHead(200, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ value }));
          },
          (error: unknown) => {
            response.writeHead(500).end(String(error));
          },
        );
      });
      const port = await listenOnLoopback(server);
      oidc = { server, url: `http://127.0.0.1:${port}/token`, tokens };
    }
    return new WorkflowExecutor(options, temp.path, temp.remove, gate, oidc);
  }

  /** Calls the token gate refused: a job's token was not granted the permission the call needs. */
  get refusals() {
    return this.gate?.refusals ?? [];
  }

  async close(): Promise<void> {
    await this.gate?.close();
    if (this.oidc !== undefined) {
      const closed = new Promise<void>((resolve) => this.oidc?.server.close(() => resolve()));
      this.oidc.server.closeAllConnections();
      await closed;
    }
    await this.removeRoot();
  }

  private get own(): string {
    return this.options.ownRepository ?? 'digestline/actions';
  }

  /** Reads and checks a workflow and everything it calls before anything runs, as GitHub does. */
  private async prepare(file: string, ceiling: Permissions | undefined, depth = 0): Promise<LoadedWorkflow> {
    if (depth > 4)
      throw new WorkflowError(`${file}: reusable workflows nest deeper than GitHub's limit of 4`);
    let workflow = this.loaded.get(file);
    if (workflow === undefined) {
      workflow = await loadWorkflow(file);
      this.loaded.set(file, workflow);
    }
    const workflowPermissions = parsePermissions(workflow.raw.permissions, `${basename(file)}: permissions`);
    for (const [id, job] of workflow.jobs) {
      const where = `${basename(file)}: job ${id}`;
      const declared = parsePermissions(job.permissions, `${where}: permissions`) ?? workflowPermissions;
      if (ceiling !== undefined && declared !== undefined) {
        const over = exceeding(declared, ceiling);
        if (over.length > 0)
          throw new WorkflowError(`${where}: the nested job '${id}' is requesting ${over.join('; ')}`);
      }
      const granted = declared ?? ceiling ?? this.options.defaultPermissions ?? RESTRICTED_DEFAULT;
      if (typeof job.uses === 'string')
        await this.prepare(this.workflowFile(job.uses, where), granted, depth + 1);
      for (const [index, step] of asList(job.steps).map(asObject).entries())
        if (typeof step.uses === 'string')
          this.resolveAction(step.uses, `${where}, step ${stepLabel(step, index)}`);
    }
    return workflow;
  }

  private workflowFile(uses: string, where: string): string {
    const match = new RegExp(
      `^${this.own.replace('/', '\\/')}/\\.github/workflows/([\\w.-]+\\.ya?ml)@[\\w./-]+$`,
    ).exec(uses);
    const dir = this.options.workflowsDir ?? join(repoRoot, 'workflows-templates');
    if (match?.[1] === undefined || !existsSync(join(dir, match[1])))
      throw new WorkflowError(
        `${where}: uses ${uses}, which is not one of our reusable workflows (${this.own}/.github/workflows/<file>@<ref>)`,
      );
    return join(dir, match[1]);
  }

  private resolveAction(uses: string, where: string): { dir: string } | { standIn: StandIn; name: string } {
    const at = uses.lastIndexOf('@');
    const path = at < 0 ? uses : uses.slice(0, at);
    const ref = at < 0 ? '' : uses.slice(at + 1);
    if (path.startsWith(`${this.own}/`)) {
      const dir = join(this.options.actionsDir ?? join(repoRoot, 'actions'), path.slice(this.own.length + 1));
      if (ref === '' || !existsSync(join(dir, 'action.yml')))
        throw new WorkflowError(`${where}: uses ${uses}, which is not one of our actions`);
      return { dir };
    }
    const standIn = STAND_INS[path];
    if (standIn === undefined)
      throw new WorkflowError(
        `${where}: uses ${uses}, which this executor does not run (it runs our actions and stand-ins for ${Object.keys(STAND_INS).join(', ')})`,
      );
    if (ref !== standIn.sha)
      throw new WorkflowError(
        `${where}: uses ${uses}; the stand-in is for ${path}@${standIn.sha} (${standIn.version}), pin that`,
      );
    return { standIn, name: path };
  }

  /** Runs `file` for `event` to the end and reports every job, step, output and approval. */
  async run(file: string, event: WorkflowEvent): Promise<RunResult> {
    const workflow = await this.prepare(file, undefined);
    const defaultBranch = this.options.repository.defaultBranch ?? 'main';
    const trigger = workflow.on[event.name];
    if (trigger === undefined)
      throw new WorkflowError(
        `${basename(file)} does not run on ${event.name} (it runs on ${Object.keys(workflow.on).join(', ')})`,
      );
    this.runs += 1;
    const id = 4200 + this.runs;
    const dir = join(this.root, `run-${id}`);
    await mkdir(join(dir, 'artifacts'), { recursive: true });
    const sha =
      event.sha ??
      execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: this.options.repository.path,
        encoding: 'utf8',
      }).trim();
    const pullNumber = Number(asObject(event.payload).number ?? 1);
    const ref =
      event.ref ??
      (event.name === 'pull_request' ? `refs/pull/${pullNumber}/merge` : `refs/heads/${defaultBranch}`);
    const branch = ref.replace(/^refs\/heads\//, '');
    const filters = asObject(trigger);
    if ((event.name === 'push' || event.name === 'pull_request') && filters.branches !== undefined) {
      const target =
        event.name === 'push'
          ? branch
          : String(asObject(asObject(asObject(event.payload).pull_request).base).ref ?? defaultBranch);
      if (!branchMatches(asList(filters.branches), target, defaultBranch))
        throw new WorkflowError(`${basename(file)} does not run on ${event.name} for branch ${target}`);
    }
    if (
      (event.name === 'push' || event.name === 'pull_request') &&
      (filters.paths !== undefined || filters['paths-ignore'] !== undefined)
    ) {
      const changed = changedFiles(this.options.repository.path, sha, event);
      if (!pathsMatch(filters, changed))
        throw new WorkflowError(
          `${basename(file)} does not run on ${event.name}: none of the changed files (${changed.join(', ') || 'none'}) passes its paths filters`,
        );
    }
    let inputs: Record<string, Value> = {};
    if (event.name === 'workflow_dispatch')
      inputs = typedInputs(
        asObject(asObject(trigger).inputs),
        event.inputs ?? {},
        `${basename(file)} (workflow_dispatch)`,
      );
    const repository = {
      full_name: this.options.repository.name,
      default_branch: defaultBranch,
      name: this.options.repository.name.split('/')[1],
      owner: { login: this.options.repository.name.split('/')[0] },
    };
    const payload = {
      repository,
      sender: { login: event.actor ?? 'octocat' },
      ...(event.name === 'push' ? { ref, after: sha, head_commit: { id: sha } } : {}),
      ...(event.name === 'workflow_dispatch'
        ? { ref, inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, coerceString(v)])) }
        : {}),
      ...(event.name === 'schedule' ? { schedule: String(asObject(asList(trigger)[0]).cron ?? '') } : {}),
      ...event.payload,
    };
    const eventPath = join(dir, 'event.json');
    await writeFile(eventPath, JSON.stringify(payload));
    const run: Run = {
      id,
      workflow,
      event,
      payload,
      eventPath,
      ref,
      sha,
      actor: event.actor ?? 'octocat',
      dir,
      artifactsDir: join(dir, 'artifacts'),
      jobs: [],
      approvals: [],
      groups: new Set(),
    };
    // GitHub passes no secret to a run for a pull request from a fork (its token aside).
    const secrets = fromFork(run, this.options.repository.name) ? {} : { ...this.options.secrets };
    const frame: Frame = { run, workflow, inputs, secrets, prefix: '' };
    const release = await this.workflowConcurrency(frame);
    let outcomes: Map<string, JobOutcome>;
    try {
      outcomes = await this.runGraph(frame);
    } finally {
      release();
    }
    const results = [...outcomes.values()].map((outcome) => outcome.result);
    const conclusion: Result = results.includes('failure')
      ? 'failure'
      : results.includes('cancelled')
        ? 'cancelled'
        : 'success';
    return {
      id,
      workflow: basename(file),
      conclusion,
      outputs: {},
      jobs: run.jobs,
      approvals: run.approvals,
      artifactsDir: run.artifactsDir,
      job(key) {
        const found = run.jobs.find((job) => job.key === key);
        if (found === undefined)
          throw new Error(`no job ${key} in run ${id} (jobs: ${run.jobs.map((job) => job.key).join(', ')})`);
        return found;
      },
      log: () => describeRun(run),
    };
  }

  /**
   * The workflow-level `concurrency:` of the run's workflow or of a called one (whose `github` context
   * is the caller's, as on GitHub). A called workflow asking for a group its own run holds would wait
   * for itself: GitHub cancels that as a deadlock, and so does this.
   */
  private async workflowConcurrency(frame: Frame, caller = '(workflow)'): Promise<() => void> {
    const spec = frame.workflow.raw.concurrency;
    if (spec === undefined) return () => {};
    const scope: Scope = {
      contexts: {
        github: this.githubContext(frame, undefined, ''),
        inputs: frame.inputs,
        vars: this.options.vars ?? {},
      },
    };
    const value = interpolate(spec, scope, `${basename(frame.workflow.file)}: concurrency`);
    const group = typeof value === 'string' ? value : coerceString(asObject(value).group as Value);
    if (frame.run.groups.has(group))
      throw new WorkflowError(
        `Canceling since a deadlock was detected for concurrency group: '${group}' between a top level workflow and '${caller}'`,
      );
    const release = await this.groups.acquire(group, () =>
      this.options.progress?.({
        type: 'waiting-for-concurrency',
        run: frame.run.id,
        job: caller,
        group,
      }),
    );
    frame.run.groups.add(group);
    return () => {
      frame.run.groups.delete(group);
      release();
    };
  }

  private githubContext(frame: Frame, job: Job | undefined, jobId: string): Json {
    const run = frame.run;
    const workflowFile = basename(run.workflow.file);
    return {
      action: '',
      actor: run.actor,
      api_url: this.gate?.url ?? 'http://127.0.0.1:9/no-github-api',
      base_ref:
        run.event.name === 'pull_request'
          ? String(asObject(asObject(asObject(run.payload).pull_request).base).ref ?? '')
          : '',
      event: run.payload,
      event_name: run.event.name,
      event_path: run.eventPath,
      graphql_url: '',
      head_ref:
        run.event.name === 'pull_request'
          ? String(asObject(asObject(asObject(run.payload).pull_request).head).ref ?? '')
          : '',
      job: jobId,
      ref: run.ref,
      ref_name: run.ref.replace(/^refs\/(heads|tags)\//, ''),
      ref_type: run.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      repository: this.options.repository.name,
      repository_owner: this.options.repository.name.split('/')[0],
      retention_days: '90',
      run_attempt: '1',
      run_id: String(run.id),
      run_number: String(run.id - 4200),
      server_url: 'https://github.com',
      sha: run.sha,
      token: job?.token ?? '',
      triggering_actor: run.actor,
      workflow: run.workflow.name,
      workflow_ref: `${this.options.repository.name}/.github/workflows/${workflowFile}@${run.ref}`,
      workspace: job?.workspace ?? '',
    };
  }

  /** Every job of a workflow in `needs` order, independent jobs at the same time. */
  private async runGraph(frame: Frame): Promise<Map<string, JobOutcome>> {
    const definitions = new Map(frame.workflow.jobs);
    const started = new Map<string, Promise<JobOutcome>>();
    const start = (id: string): Promise<JobOutcome> => {
      const existing = started.get(id);
      if (existing !== undefined) return existing;
      const definition = definitions.get(id) ?? {};
      const promise = (async () => {
        const needIds = asList(definition.needs).map(String);
        const needs: Record<string, JobOutcome> = {};
        for (const need of needIds) needs[need] = await start(need);
        return this.runJob(frame, id, definition, needs, ancestorsOf(id, definitions, started));
      })();
      started.set(id, promise);
      return promise;
    };
    for (const id of definitions.keys()) start(id);
    const outcomes = new Map<string, JobOutcome>();
    for (const [id, promise] of started) outcomes.set(id, await promise);
    return outcomes;
  }

  private async runJob(
    frame: Frame,
    id: string,
    definition: Json,
    needs: Record<string, JobOutcome>,
    ancestors: Promise<Result[]>,
  ): Promise<JobOutcome> {
    const key = `${frame.prefix}${id}`;
    const where = `${basename(frame.workflow.file)}: job ${id}`;
    const results = await ancestors;
    const status: Status = {
      success: results.every((result) => result === 'success'),
      failure: results.includes('failure'),
      cancelled: false,
    };
    const baseContexts = {
      github: this.githubContext(frame, undefined, id),
      inputs: frame.inputs,
      vars: this.options.vars ?? {},
      needs,
    };
    const skipped = (): JobOutcome => {
      frame.run.jobs.push({ key, id, name: id, result: 'skipped', outputs: {}, steps: [], summary: '' });
      return { result: 'skipped', outputs: {} };
    };
    let run: boolean;
    try {
      run = condition(
        withStatusCheck(definition.if === undefined ? undefined : String(definition.if)),
        { contexts: baseContexts, status },
        `${where}: if`,
      );
    } catch (error) {
      frame.run.jobs.push({
        key,
        id,
        name: id,
        result: 'failure',
        outputs: {},
        steps: [],
        summary: '',
        error: (error as Error).message,
      });
      return { result: 'failure', outputs: {} };
    }
    if (!run) return skipped();
    const strategy = asObject(
      interpolate(definition.strategy ?? {}, { contexts: baseContexts }, `${where}: strategy`),
    );
    const legs: (Json | undefined)[] =
      strategy.matrix === undefined ? [undefined] : expandMatrix(asObject(strategy.matrix));
    const failFast = strategy['fail-fast'] !== false;
    const abort = new AbortController();
    const outcomes = await Promise.all(
      legs.map(async (matrix) => {
        const legKey = matrix === undefined ? key : `${key} (${legLabel(matrix)})`;
        const outcome =
          typeof definition.uses === 'string'
            ? await this.runCall(frame, id, legKey, definition, needs, matrix)
            : await this.runSteps(frame, id, legKey, definition, needs, matrix, abort.signal);
        if (outcome.result === 'failure' && failFast && legs.length > 1) abort.abort();
        return outcome;
      }),
    );
    const outputs: Record<string, string> = {};
    for (const outcome of outcomes) Object.assign(outputs, outcome.outputs);
    const all = outcomes.map((outcome) => outcome.result);
    const result: Result = all.includes('failure')
      ? 'failure'
      : all.includes('cancelled')
        ? 'cancelled'
        : all.every((r) => r === 'skipped')
          ? 'skipped'
          : 'success';
    return { result, outputs };
  }

  /** A job that calls a reusable workflow: its inputs and secrets, its jobs, its outputs. */
  private async runCall(
    frame: Frame,
    id: string,
    key: string,
    definition: Json,
    needs: Record<string, JobOutcome>,
    matrix: Json | undefined,
  ): Promise<JobOutcome> {
    const where = `${basename(frame.workflow.file)}: job ${id}`;
    const record = startRecord(frame, id, key, matrix);
    this.options.progress?.({ type: 'job-started', run: frame.run.id, job: key });
    const scope: Scope = {
      contexts: {
        github: this.githubContext(frame, undefined, id),
        inputs: frame.inputs,
        vars: this.options.vars ?? {},
        needs,
        matrix: matrix ?? {},
        secrets: frame.secrets,
        strategy: {},
      },
    };
    try {
      const file = this.workflowFile(String(definition.uses), where);
      const ceiling =
        parsePermissions(definition.permissions, `${where}: permissions`) ??
        parsePermissions(frame.workflow.raw.permissions, `${basename(frame.workflow.file)}: permissions`) ??
        frame.ceiling ??
        this.options.defaultPermissions ??
        RESTRICTED_DEFAULT;
      record.permissions = ceiling;
      const callee = await this.prepare(file, ceiling);
      const call = asObject(callee.on.workflow_call);
      if (callee.on.workflow_call === undefined)
        throw new WorkflowError(`${where}: ${basename(file)} has no on.workflow_call`);
      const given = asObject(interpolate(definition.with ?? {}, scope, `${where}: with`));
      const inputs = typedInputs(asObject(call.inputs), given, `${where} (calling ${basename(file)})`);
      let secrets: Record<string, string>;
      if (definition.secrets === 'inherit') secrets = { ...frame.secrets };
      else {
        const passed = asObject(interpolate(definition.secrets ?? {}, scope, `${where}: secrets`));
        const declared = asObject(call.secrets);
        const unknown = Object.keys(passed).filter((name) => declared[name] === undefined);
        if (unknown.length > 0)
          throw new WorkflowError(
            `${where}: secrets ${unknown.join(', ')} are not declared by ${basename(file)}`,
          );
        secrets = Object.fromEntries(
          Object.entries(passed).map(([name, value]) => [name, coerceString(value as Value)]),
        );
        for (const [name, spec] of Object.entries(declared))
          if (asObject(spec).required === true && (secrets[name] ?? '') === '')
            throw new WorkflowError(`${where}: required secret ${name} of ${basename(file)} was not given`);
      }
      const inner: Frame = { run: frame.run, workflow: callee, inputs, secrets, ceiling, prefix: `${key}/` };
      const release = await this.workflowConcurrency(inner, key);
      let outcomes: Map<string, JobOutcome>;
      try {
        outcomes = await this.runGraph(inner);
      } finally {
        release();
      }
      const jobs = Object.fromEntries([...outcomes].map(([jobId, outcome]) => [jobId, outcome]));
      const outputScope: Scope = {
        contexts: {
          github: this.githubContext(inner, undefined, id),
          inputs,
          vars: this.options.vars ?? {},
          jobs,
        },
      };
      for (const [name, spec] of Object.entries(asObject(call.outputs)))
        record.outputs[name] = coerceString(
          interpolate(asObject(spec).value ?? '', outputScope, `${basename(file)}: outputs.${name}`),
        );
      const results = [...outcomes.values()].map((outcome) => outcome.result);
      record.result = results.includes('failure')
        ? 'failure'
        : results.includes('cancelled')
          ? 'cancelled'
          : 'success';
    } catch (error) {
      if (!(error instanceof WorkflowError)) throw error;
      record.result = 'failure';
      record.error = error.message;
    }
    this.options.progress?.({ type: 'job-finished', run: frame.run.id, job: key, result: record.result });
    return { result: record.result, outputs: record.outputs };
  }

  /** A job with steps, on a fresh runner of its own. */
  private async runSteps(
    frame: Frame,
    id: string,
    key: string,
    definition: Json,
    needs: Record<string, JobOutcome>,
    matrix: Json | undefined,
    legSignal: AbortSignal,
  ): Promise<JobOutcome> {
    const where = `${basename(frame.workflow.file)}: job ${id}`;
    const record = startRecord(frame, id, key, matrix);
    const vars = { ...this.options.vars };
    const early: Scope = {
      contexts: {
        github: this.githubContext(frame, undefined, id),
        inputs: frame.inputs,
        vars,
        needs,
        matrix: matrix ?? {},
        strategy: {},
      },
    };
    const fail = (message: string): JobOutcome => {
      record.result = 'failure';
      record.error = message;
      this.options.progress?.({ type: 'job-finished', run: frame.run.id, job: key, result: 'failure' });
      return { result: 'failure', outputs: {} };
    };
    let release: () => void = () => {};
    const gateToken: string[] = [];
    try {
      record.name =
        definition.name === undefined
          ? record.key.slice(frame.prefix.length)
          : coerceString(interpolate(definition.name, early, `${where}: name`));
      record.runsOn = coerceString(interpolate(definition['runs-on'] ?? '', early, `${where}: runs-on`));
      const environmentValue = interpolate(definition.environment ?? '', early, `${where}: environment`);
      const environment =
        typeof environmentValue === 'string'
          ? environmentValue
          : coerceString(asObject(environmentValue).name as Value);
      if (environment !== '') record.environment = environment;

      if (definition.concurrency !== undefined) {
        const value = interpolate(definition.concurrency, early, `${where}: concurrency`);
        const group = typeof value === 'string' ? value : coerceString(asObject(value).group as Value);
        release = await this.groups.acquire(group, () =>
          this.options.progress?.({ type: 'waiting-for-concurrency', run: frame.run.id, job: key, group }),
        );
      }
      this.options.progress?.({ type: 'job-started', run: frame.run.id, job: key });

      if (environment !== '') {
        this.options.progress?.({ type: 'waiting-for-approval', run: frame.run.id, job: key, environment });
        const request = {
          environment,
          job: key,
          workflow: basename(frame.run.workflow.file),
          run: frame.run.id,
        };
        const decision =
          this.options.approve === undefined
            ? { approved: true, reviewer: '' }
            : await this.options.approve(request);
        frame.run.approvals.push({ ...request, ...decision });
        if (!decision.approved)
          return fail(`the deployment to ${environment} was rejected by ${decision.reviewer}`);
        Object.assign(vars, this.options.environments?.[environment]?.vars);
      }
      const fork = fromFork(frame.run, this.options.repository.name);
      const environmentSecrets =
        environment === '' || fork ? {} : (this.options.environments?.[environment]?.secrets ?? {});

      const asked =
        parsePermissions(definition.permissions, `${where}: permissions`) ??
        parsePermissions(frame.workflow.raw.permissions, `${basename(frame.workflow.file)}: permissions`) ??
        frame.ceiling ??
        this.options.defaultPermissions ??
        RESTRICTED_DEFAULT;
      // A fork's pull request gets a read-only token, whatever the workflow asks for.
      const declared = fork ? readOnly(asked) : asked;
      record.permissions = declared;
      const token = this.gate?.issue(key, declared) ?? `ghs_${randomBytes(18).toString('hex')}`;
      gateToken.push(token);

      const jobDir = join(frame.run.dir, 'jobs', key.replace(/[^\w.-]+/g, '_'));
      const workspace = join(jobDir, 'work', this.options.repository.name.split('/')[1] ?? 'repo');
      const home = join(jobDir, 'home');
      const temp = join(jobDir, 'temp');
      for (const dir of [workspace, home, temp]) await mkdir(dir, { recursive: true });
      if (this.options.home !== undefined) await cp(this.options.home, home, { recursive: true });

      const controller = new AbortController();
      const onLegAbort = () => controller.abort();
      legSignal.addEventListener('abort', onLegAbort, { once: true });
      const secrets = { ...frame.secrets, ...environmentSecrets, GITHUB_TOKEN: token };
      const job: Job = {
        frame,
        key,
        definition,
        record,
        workspace,
        home,
        temp,
        token,
        permissions: declared,
        github: {},
        secrets,
        vars,
        needs,
        matrix,
        env: {},
        path: [],
        steps: {},
        masks: new Set(Object.values(secrets).filter((value) => value !== '')),
        failed: false,
        cancelled: false,
        signal: controller.signal,
        posts: [],
        defaults: {},
      };
      job.github = this.githubContext(frame, job, id);
      if (declared['id-token'] === 'write' && this.oidc !== undefined) {
        const requestToken = randomBytes(16).toString('hex');
        this.oidc.tokens.set(requestToken, { job });
        job.idTokenRequest = { url: `${this.oidc.url}?api-version=2.0`, token: requestToken };
      }
      for (const source of [frame.workflow.raw.defaults, definition.defaults]) {
        const run = asObject(asObject(source).run);
        if (typeof run.shell === 'string') job.defaults.shell = run.shell;
        if (typeof run['working-directory'] === 'string')
          job.defaults.workingDirectory = run['working-directory'];
      }
      const jobScope = () => this.scope(job, {}, undefined);
      for (const [name, value] of Object.entries(asObject(frame.workflow.raw.env)))
        job.env[name] = coerceString(interpolate(value, jobScope(), `${where}: env.${name}`));
      for (const [name, value] of Object.entries(asObject(definition.env)))
        job.env[name] = coerceString(interpolate(value, jobScope(), `${where}: env.${name}`));

      const minutes = Number(
        interpolate(definition['timeout-minutes'] ?? 360, jobScope(), `${where}: timeout-minutes`),
      );
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, minutes * 60_000);
      try {
        for (const [index, step] of asList(definition.steps).map(asObject).entries())
          await this.runStep(job, step, index);
        for (const post of job.posts.reverse()) await post();
      } finally {
        clearTimeout(timer);
        legSignal.removeEventListener('abort', onLegAbort);
      }
      if (timedOut) {
        record.error = `the job exceeded its maximum execution time of ${minutes} minutes`;
        job.failed = true;
      }
      const outputsScope = this.scope(job, {}, undefined);
      for (const [name, value] of Object.entries(asObject(definition.outputs))) {
        const text = coerceString(interpolate(value, outputsScope, `${where}: outputs.${name}`));
        // GitHub drops an output that holds a secret rather than pass it to other jobs.
        if ([...job.masks].some((mask) => mask.length > 0 && text.includes(mask))) continue;
        record.outputs[name] = text;
      }
      const continueOnError = interpolate(
        definition['continue-on-error'] ?? false,
        jobScope(),
        `${where}: continue-on-error`,
      );
      record.result =
        job.failed && continueOnError !== true
          ? 'failure'
          : legSignal.aborted && job.cancelled
            ? 'cancelled'
            : 'success';
      if (job.failed && continueOnError === true) record.error = record.error ?? 'failed (continue-on-error)';
    } catch (error) {
      if (!(error instanceof WorkflowError)) throw error;
      release();
      for (const token of gateToken) this.gate?.revoke(token);
      return fail(error.message);
    }
    release();
    for (const token of gateToken) this.gate?.revoke(token);
    this.options.progress?.({ type: 'job-finished', run: frame.run.id, job: key, result: record.result });
    return { result: record.result, outputs: record.outputs };
  }

  private scope(job: Job, stepEnv: Record<string, string>, status: Status | undefined): Scope {
    return {
      contexts: {
        github: job.github,
        inputs: job.frame.inputs,
        vars: job.vars,
        secrets: job.secrets,
        env: { ...job.env, ...stepEnv },
        needs: job.needs,
        matrix: job.matrix ?? {},
        strategy: {},
        steps: job.steps,
        job: {
          status: job.failed ? 'failure' : job.cancelled ? 'cancelled' : 'success',
          container: {},
          services: {},
        },
        runner: {
          os: 'Linux',
          arch: 'X64',
          name: 'digestline-local',
          temp: job.temp,
          tool_cache: join(job.temp, 'tool-cache'),
          debug: '',
        },
      },
      status,
    };
  }

  private status(job: Job): Status {
    return { success: !job.failed && !job.cancelled, failure: job.failed, cancelled: job.signal.aborted };
  }

  private async runStep(job: Job, step: Json, index: number): Promise<void> {
    const label = stepLabel(step, index);
    const where = `${basename(job.frame.workflow.file)}: job ${job.record.id}, step ${label}`;
    const stepId = typeof step.id === 'string' ? step.id : `__step${index}`;
    const record: StepRun = {
      name: label,
      id: stepId,
      kind: 'run',
      post: false,
      outcome: 'skipped',
      conclusion: 'skipped',
      outputs: {},
      log: '',
      annotations: [],
    };
    job.record.steps.push(record);
    if (job.signal.aborted) job.cancelled = true;
    const ifScope = this.scope(job, {}, this.status(job));
    if (
      !condition(
        withStatusCheck(step.if === undefined ? undefined : String(step.if)),
        ifScope,
        `${where}: if`,
      )
    ) {
      job.steps[stepId] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      return;
    }
    const stepEnv: Record<string, string> = {};
    for (const [name, value] of Object.entries(asObject(step.env)))
      stepEnv[name] = coerceString(
        interpolate(value, this.scope(job, {}, undefined), `${where}: env.${name}`),
      );
    const scope = this.scope(job, stepEnv, undefined);
    if (step.name !== undefined) record.name = coerceString(interpolate(step.name, scope, `${where}: name`));
    const minutes =
      step['timeout-minutes'] === undefined
        ? undefined
        : Number(interpolate(step['timeout-minutes'], scope, `${where}: timeout-minutes`));
    let outcome: Result;
    if (typeof step.run === 'string') {
      outcome = await this.runScript(job, step, record, stepEnv, scope, minutes, where);
    } else if (typeof step.uses === 'string') {
      outcome = await this.runUses(job, step, record, stepEnv, scope, minutes, where);
    } else {
      throw new WorkflowError(`${where}: a step needs run: or uses:`);
    }
    const continueOnError =
      interpolate(step['continue-on-error'] ?? false, scope, `${where}: continue-on-error`) === true;
    record.outcome = outcome;
    record.conclusion = outcome === 'failure' && continueOnError ? 'success' : outcome;
    if (record.conclusion === 'failure') job.failed = true;
    if (outcome === 'cancelled') job.cancelled = true;
    job.steps[stepId] = { outputs: record.outputs, outcome: record.outcome, conclusion: record.conclusion };
  }

  /** The variables a step's process gets: the runner's, the job's and step's `env`, and the command files. */
  private async processEnv(
    job: Job,
    stepEnv: Record<string, string>,
    files: Record<string, string>,
  ): Promise<Record<string, string>> {
    const machinePath = (process.env.PATH ?? '/usr/bin:/bin')
      .split(delimiter)
      .filter((dir) => !dir.endsWith('/node_modules/.bin'));
    const github = job.github;
    const env: Record<string, string> = {
      ...Object.fromEntries(
        ['LANG', 'LC_ALL', 'TZ', 'USER', 'LOGNAME', 'SHELL'].flatMap((name) =>
          process.env[name] === undefined ? [] : [[name, process.env[name] as string]],
        ),
      ),
      ...this.options.env,
      HOME: job.home,
      PATH: [...job.path, ...machinePath, ...(this.options.path ?? [])].join(delimiter),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTOR: String(github.actor),
      GITHUB_API_URL: String(github.api_url),
      GITHUB_BASE_REF: String(github.base_ref),
      GITHUB_EVENT_NAME: String(github.event_name),
      GITHUB_EVENT_PATH: String(github.event_path),
      GITHUB_GRAPHQL_URL: '',
      GITHUB_HEAD_REF: String(github.head_ref),
      GITHUB_JOB: String(github.job),
      GITHUB_REF: String(github.ref),
      GITHUB_REF_NAME: String(github.ref_name),
      GITHUB_REF_TYPE: String(github.ref_type),
      GITHUB_REPOSITORY: String(github.repository),
      GITHUB_REPOSITORY_OWNER: String(github.repository_owner),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_RUN_ID: String(github.run_id),
      GITHUB_RUN_NUMBER: String(github.run_number),
      GITHUB_SERVER_URL: String(github.server_url),
      GITHUB_SHA: String(github.sha),
      GITHUB_TRIGGERING_ACTOR: String(github.triggering_actor),
      GITHUB_WORKFLOW: String(github.workflow),
      GITHUB_WORKFLOW_REF: String(github.workflow_ref),
      GITHUB_WORKSPACE: job.workspace,
      RUNNER_ARCH: 'X64',
      RUNNER_NAME: 'digestline-local',
      RUNNER_OS: 'Linux',
      RUNNER_TEMP: job.temp,
      RUNNER_TOOL_CACHE: join(job.temp, 'tool-cache'),
      ...(job.idTokenRequest === undefined
        ? {}
        : {
            ACTIONS_ID_TOKEN_REQUEST_URL: job.idTokenRequest.url,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: job.idTokenRequest.token,
          }),
      ...job.env,
      ...stepEnv,
      ...files,
    };
    return env;
  }

  private async commandFiles(job: Job, names: string[]): Promise<Record<string, string>> {
    const dir = join(job.temp, '_runner_file_commands', randomBytes(6).toString('hex'));
    await mkdir(dir, { recursive: true });
    const files: Record<string, string> = {};
    for (const name of names) {
      files[name] = join(dir, name.toLowerCase());
      await writeFile(files[name], '');
    }
    return files;
  }

  /** Reads what a step wrote to its command files into the job: outputs, env, path, summary. */
  private async collect(job: Job, files: Record<string, string>, record: StepRun): Promise<void> {
    const read = async (name: string) =>
      files[name] === undefined ? '' : readFile(files[name] as string, 'utf8');
    Object.assign(record.outputs, parseCommandFile(await read('GITHUB_OUTPUT')));
    Object.assign(job.env, parseCommandFile(await read('GITHUB_ENV')));
    const added = (await read('GITHUB_PATH')).split('\n').filter((line) => line.trim() !== '');
    job.path.unshift(...added.reverse());
    const summary = await read('GITHUB_STEP_SUMMARY');
    if (summary !== '') job.record.summary += summary;
  }

  private workingDirectory(job: Job, step: Json, scope: Scope, where: string): string {
    const value = step['working-directory'] ?? job.defaults.workingDirectory;
    if (value === undefined) return job.workspace;
    return join(job.workspace, coerceString(interpolate(value, scope, `${where}: working-directory`)));
  }

  private async runScript(
    job: Job,
    step: Json,
    record: StepRun,
    stepEnv: Record<string, string>,
    scope: Scope,
    minutes: number | undefined,
    where: string,
  ): Promise<Result> {
    record.kind = 'run';
    const script = coerceString(interpolate(step.run, scope, `${where}: run`));
    const shellName =
      step.shell === undefined
        ? job.defaults.shell
        : coerceString(interpolate(step.shell, scope, `${where}: shell`));
    const templates: Record<string, string> = {
      bash: 'bash --noprofile --norc -eo pipefail {0}',
      sh: 'sh -e {0}',
      python: 'python3 {0}',
    };
    const template = shellName === undefined ? 'bash -e {0}' : (templates[shellName] ?? shellName);
    if (!template.includes('{0}'))
      throw new WorkflowError(`${where}: shell ${shellName} is not bash, sh, python or a command with {0}`);
    const files = await this.commandFiles(job, [
      'GITHUB_OUTPUT',
      'GITHUB_ENV',
      'GITHUB_PATH',
      'GITHUB_STEP_SUMMARY',
      'GITHUB_STATE',
    ]);
    const scriptFile = join(job.temp, `${randomBytes(6).toString('hex')}.sh`);
    await writeFile(scriptFile, script);
    const [command, ...args] = template.split(' ').map((part) => part.replace('{0}', scriptFile));
    const cwd = this.workingDirectory(job, step, scope, where);
    if (!existsSync(cwd)) {
      record.log = `working-directory ${cwd} does not exist`;
      return 'failure';
    }
    const env = await this.processEnv(job, stepEnv, files);
    const result = await runProcess(command ?? 'bash', args, {
      cwd,
      env,
      timeoutMs: minutes === undefined ? undefined : minutes * 60_000,
      signal: job.signal,
    });
    const { log, annotations } = readLog(result.stdout, result.stderr, job.masks);
    record.log = log + (result.timedOut ? `\nthe step exceeded its timeout of ${minutes} minutes` : '');
    record.annotations = annotations;
    await this.collect(job, files, record);
    if (result.cancelled) return 'cancelled';
    return result.exitCode === 0 && !result.timedOut ? 'success' : 'failure';
  }

  private async runUses(
    job: Job,
    step: Json,
    record: StepRun,
    stepEnv: Record<string, string>,
    scope: Scope,
    minutes: number | undefined,
    where: string,
  ): Promise<Result> {
    const target = this.resolveAction(String(step.uses), where);
    const withs = Object.fromEntries(
      Object.entries(asObject(step.with)).map(([name, value]) => [
        name,
        coerceString(interpolate(value, scope, `${where}: with.${name}`)),
      ]),
    );
    if ('standIn' in target) return this.runStandIn(job, target.standIn, record, withs, stepEnv, where);
    record.kind = 'action';
    const manifest = parseYaml(await readFile(join(target.dir, 'action.yml'), 'utf8')) as ActionManifest;
    if (manifest.runs.using !== 'node24')
      throw new WorkflowError(`${where}: ${step.uses} runs on ${manifest.runs.using}, not node24`);
    const inputs: Record<string, string> = {};
    for (const [name, spec] of Object.entries(manifest.inputs ?? {}))
      if (spec.default !== undefined)
        inputs[name] = coerceString(interpolate(spec.default, scope, `${where}: default of ${name}`));
    const unexpected = Object.keys(withs).filter((name) => manifest.inputs?.[name] === undefined);
    if (unexpected.length > 0)
      record.annotations.push({
        level: 'warning',
        message: `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${Object.keys(manifest.inputs ?? {}).join("', '")}']`,
      });
    Object.assign(inputs, withs);
    const inputEnv = Object.fromEntries(
      Object.entries(inputs).map(([name, value]) => [inputEnvName(name), value]),
    );
    const node = this.options.node ?? node24;
    const state: Record<string, string> = {};
    const once = async (entry: string, post: boolean, target2: StepRun): Promise<Result> => {
      const files = await this.commandFiles(job, [
        'GITHUB_OUTPUT',
        'GITHUB_ENV',
        'GITHUB_PATH',
        'GITHUB_STEP_SUMMARY',
        'GITHUB_STATE',
      ]);
      const env = {
        ...(await this.processEnv(job, stepEnv, files)),
        ...inputEnv,
        ...Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value])),
        GITHUB_ACTION: target2.id,
        GITHUB_ACTION_PATH: target.dir,
        GITHUB_ACTION_REPOSITORY: this.own,
      };
      const result = await runProcess(node, [join(target.dir, entry)], {
        cwd: this.workingDirectory(job, {}, scope, where),
        env,
        timeoutMs: minutes === undefined ? undefined : minutes * 60_000,
        signal: post ? undefined : job.signal,
      });
      const { log, annotations } = readLog(result.stdout, result.stderr, job.masks);
      target2.log = log + (result.timedOut ? `\nthe step exceeded its timeout of ${minutes} minutes` : '');
      target2.annotations.push(...annotations);
      await this.collect(job, files, target2);
      if (!post) Object.assign(state, parseCommandFile(await readFile(files.GITHUB_STATE as string, 'utf8')));
      if (result.cancelled) return 'cancelled';
      return result.exitCode === 0 && !result.timedOut ? 'success' : 'failure';
    };
    const outcome = await once(manifest.runs.main, false, record);
    const postEntry = manifest.runs.post;
    if (postEntry !== undefined) {
      const postIf = withStatusCheck(manifest.runs['post-if'] ?? 'always()');
      job.posts.push(async () => {
        const postRecord: StepRun = {
          name: `Post ${record.name}`,
          id: record.id,
          kind: 'action',
          post: true,
          outcome: 'skipped',
          conclusion: 'skipped',
          outputs: {},
          log: '',
          annotations: [],
        };
        job.record.steps.push(postRecord);
        if (!condition(postIf, this.scope(job, stepEnv, this.status(job)), `${where}: post-if`)) return;
        postRecord.outcome = await once(postEntry, true, postRecord);
        postRecord.conclusion = postRecord.outcome;
        if (postRecord.outcome === 'failure') job.failed = true;
      });
    }
    return outcome;
  }

  private async runStandIn(
    job: Job,
    standIn: StandIn,
    record: StepRun,
    withs: Record<string, string>,
    stepEnv: Record<string, string>,
    where: string,
  ): Promise<Result> {
    record.kind = 'stand-in';
    const state: Record<string, string> = {};
    const context = (target: StepRun): StandInContext => ({
      with: withs,
      workspace: job.workspace,
      home: job.home,
      temp: job.temp,
      repository: { name: this.options.repository.name, path: this.options.repository.path },
      github: {
        apiUrl: String(job.github.api_url),
        token: job.token,
        sha: String(job.github.sha),
        ref: String(job.github.ref),
      },
      artifactsDir: job.frame.run.artifactsDir,
      cacheDir: join(this.root, 'cache'),
      tools: { node: this.options.node ?? node24, ...this.options.tools },
      state,
      setOutput: (name, value) => {
        target.outputs[name] = value;
      },
      saveState: (name, value) => {
        state[name] = value;
      },
      addPath: (dir) => {
        job.path.unshift(dir);
      },
      log: (line) => {
        target.log += `${hide(line, job.masks)}\n`;
      },
    });
    const attempt = async (body: () => Promise<void>, target: StepRun): Promise<Result> => {
      try {
        await body();
        return 'success';
      } catch (error) {
        if (!(error instanceof WorkflowError) && !(error instanceof Error)) throw error;
        target.log += `${hide((error as Error).message, job.masks)}\n`;
        target.annotations.push({ level: 'error', message: hide((error as Error).message, job.masks) });
        return 'failure';
      }
    };
    void stepEnv;
    const outcome = await attempt(() => standIn.main(context(record)), record);
    const post = standIn.post;
    if (post !== undefined && outcome === 'success') {
      job.posts.push(async () => {
        const postRecord: StepRun = {
          name: `Post ${record.name}`,
          id: record.id,
          kind: 'stand-in',
          post: true,
          outcome: 'skipped',
          conclusion: 'skipped',
          outputs: {},
          log: '',
          annotations: [],
        };
        job.record.steps.push(postRecord);
        if (
          !condition(
            withStatusCheck(standIn.postIf ?? 'always()'),
            this.scope(job, {}, this.status(job)),
            `${where}: post-if`,
          )
        )
          return;
        postRecord.outcome = await attempt(() => post(context(postRecord)), postRecord);
        postRecord.conclusion = postRecord.outcome;
      });
    }
    return outcome;
  }
}

/** The job's entry in the run, in the order jobs start. */
function startRecord(frame: Frame, id: string, key: string, matrix: Json | undefined): JobRun {
  const record: JobRun = {
    key,
    id,
    name: id,
    result: 'success',
    outputs: {},
    steps: [],
    summary: '',
    matrix,
  };
  frame.run.jobs.push(record);
  return record;
}

function stepLabel(step: Json, index: number): string {
  return String(
    step.name ??
      step.id ??
      step.uses ??
      (typeof step.run === 'string' ? `Run ${step.run.split('\n')[0]}` : `step ${index + 1}`),
  );
}

/** Results of every job `id` needs, directly or through other jobs. */
async function ancestorsOf(
  id: string,
  definitions: Map<string, Json>,
  started: Map<string, Promise<JobOutcome>>,
): Promise<Result[]> {
  const seen = new Set<string>();
  const queue = asList(definitions.get(id)?.needs).map(String);
  while (queue.length > 0) {
    const next = queue.shift() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...asList(definitions.get(next)?.needs).map(String));
  }
  const results: Result[] = [];
  for (const need of seen) {
    const outcome = await started.get(need);
    if (outcome !== undefined) results.push(outcome.result);
  }
  return results;
}

/** A pull_request run whose head is in another repository than the one the workflow runs for. */
function fromFork(run: Run, repository: string): boolean {
  if (run.event.name !== 'pull_request') return false;
  const head = asObject(asObject(asObject(asObject(run.payload).pull_request).head).repo).full_name;
  return typeof head === 'string' && head !== repository;
}

/** The job's OIDC claims as GitHub issues them: `sub`, the workflow, and for a called workflow its own file. */
function idClaims(job: Job, own: string): GitHubClaims {
  const github = job.github;
  const workflowRef = String(github.workflow_ref);
  const environment = job.record.environment;
  return {
    ...githubClaims({
      repository: String(github.repository),
      workflowFile: basename(workflowRef.replace(/@.*$/, '')),
      ref: String(github.ref),
      sha: String(github.sha),
      ...(environment === undefined || environment === '' ? {} : { environment }),
      eventName: String(github.event_name),
      runId: String(github.run_id),
      ...(job.frame.prefix === ''
        ? {}
        : {
            jobWorkflow: {
              repository: own,
              workflowFile: basename(job.frame.workflow.file),
              ref: String(github.ref),
            },
          }),
    }),
    workflow_ref: workflowRef,
    ...(job.frame.prefix === '' ? { job_workflow_ref: workflowRef } : {}),
    actor: String(github.actor),
  };
}

function describeRun(run: Run): string {
  const out: string[] = [`run ${run.id} of ${basename(run.workflow.file)}`];
  for (const job of run.jobs) {
    out.push(`== job ${job.key}: ${job.result}${job.error ? ` (${job.error})` : ''}`);
    for (const step of job.steps) {
      out.push(`-- ${step.post ? 'post ' : ''}step ${step.name}: ${step.conclusion}`);
      if (step.log.trim() !== '') out.push(step.log.trimEnd());
    }
  }
  return out.join('\n');
}
