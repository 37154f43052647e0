/**
 * Rules the workflow templates are held to, each a function from one parsed template to the list of
 * its violations (empty when it complies), so the same rule runs on every template and on small bad
 * workflows that prove it can fail.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { type Document, isMap, isPair, isScalar, parseDocument, visit } from 'yaml';

type Json = Record<string, unknown>;

export interface Template {
  /** Path shown in messages, e.g. `workflows-templates/promote.yml`. */
  file: string;
  kind: 'reusable' | 'starter';
  text: string;
  doc: Document;
  data: Json;
}

export interface ActionSpec {
  inputs: Map<string, { required: boolean }>;
  outputs: string[];
  source: 'action.yml' | 'issue';
}

export interface Catalog {
  /** Our actions by name (`promote`), from their action.yml, else from the issue that specifies them. */
  actions: Map<string, ActionSpec>;
  /** Reusable workflows by file name (`promote.yml`). */
  workflows: Map<string, Template>;
}

export const INTERNAL_REPO = 'digestline/actions';
export const INTERNAL_REF = 'main';

/** Inputs and outputs as the action issues (#3–#7) specify them, for actions whose action.yml is not written yet. */
export const ISSUE_ACTIONS: Record<string, { inputs: string[]; required: string[]; outputs: string[] }> = {
  'build-and-sign': {
    inputs: [
      'image',
      'context',
      'file',
      'platforms',
      'build-args',
      'tags',
      'builder',
      'push',
      'registry-username',
      'registry-password',
      'signing',
      'cosign-private-key',
      'cosign-password',
      'sbom',
      'provenance',
      'merge-digests',
    ],
    required: ['image'],
    outputs: ['digest', 'image-ref', 'tags', 'sbom-path', 'signature-ref'],
  },
  promote: {
    inputs: [
      'image',
      'digest',
      'source-env',
      'target-env',
      'environments',
      'mode',
      'tag-template',
      'verify',
      'public-key',
      'certificate-identity',
      'certificate-oidc-issuer',
      'cosign-private-key',
      'cosign-password',
      'require-stage-proof',
      'target-image',
      'registry-username',
      'registry-password',
      'target-registry-username',
      'target-registry-password',
      'github-token',
      'record-deployment',
    ],
    required: ['image', 'digest', 'target-env'],
    outputs: ['image-ref', 'previous-digest', 'promoted-tag', 'deployment-id'],
  },
  'scan-gate': {
    inputs: [
      'reports',
      'severity-threshold',
      'ignore-unfixed',
      'policy',
      'fail-on',
      'category',
      'dockerfile',
      'sarif',
      'upload-sarif',
      'create-issues',
      'github-token',
    ],
    required: [],
    outputs: ['passed', 'blocking', 'counts', 'sarif'],
  },
  'migration-check': {
    inputs: [
      'path',
      'format',
      'changed-only',
      'postgres-version',
      'config',
      'database-url',
      'require-down',
      'fail-on',
      'report',
      'sarif',
    ],
    required: [],
    outputs: ['errors', 'warnings', 'report', 'sarif'],
  },
  'canary-deploy': {
    inputs: [
      'image',
      'digest',
      'provider',
      'canary-tag',
      'stable-tag',
      'traffic-percent',
      'steps',
      'health-url',
      'baseline-url',
      'interval',
      'failure-threshold',
      'error-rate-threshold',
      'latency-p99-threshold-ms',
      'duration',
      'metrics',
      'prometheus-url',
      'error-rate-query',
      'latency-query',
      'no-data',
      'webhook-url',
      'webhook-format',
      'registry-username',
      'registry-password',
    ],
    required: ['image', 'digest'],
    outputs: ['result', 'previous-digest', 'analysis', 'failed-checks'],
  },
};

/** Outputs of the third-party actions the templates read outputs from (from each action's action.yml). */
const THIRD_PARTY_OUTPUTS: Record<string, string[]> = {
  'actions/cache': ['cache-hit'],
  'actions/setup-node': ['cache-hit', 'node-version'],
  'actions/upload-artifact': ['artifact-id', 'artifact-url', 'artifact-digest'],
  'github/codeql-action/upload-sarif': ['sarif-id'],
};

const LEVELS = { none: 0, read: 1, write: 2 } as const;
type Level = keyof typeof LEVELS;
type Permissions = Record<string, Level>;

/** The GITHUB_TOKEN scopes a step needs, by the action it uses (`uses` without the ref). */
function stepPermissions(action: string, step: Json): Permissions {
  const withs = asObject(step.with);
  const enabled = (name: string) => withs[name] !== undefined && String(withs[name]) !== 'false';
  switch (action) {
    case 'actions/checkout':
      return { contents: 'read' };
    case 'github/codeql-action/upload-sarif':
      return { contents: 'read', actions: 'read', 'security-events': 'write' };
    case `${INTERNAL_REPO}/build-and-sign`:
      // A per-platform leg (`signing: none`) only pushes; the merge signs and attests.
      return String(withs.signing) === 'none'
        ? { packages: 'write' }
        : { packages: 'write', 'id-token': 'write', attestations: 'write' };
    case `${INTERNAL_REPO}/promote`:
      return {
        packages: 'write',
        'id-token': 'write',
        ...(String(withs['record-deployment']) === 'false' ? {} : { deployments: 'write' }),
      };
    case `${INTERNAL_REPO}/canary-deploy`:
      return { packages: 'write' };
    case `${INTERNAL_REPO}/scan-gate`:
      return {
        ...(enabled('upload-sarif') ? { 'security-events': 'write' } : {}),
        ...(enabled('create-issues') ? { issues: 'write' } : {}),
      };
    default:
      return {};
  }
}

// ---------------------------------------------------------------------------------------------------
// Loading

export function templateFromText(file: string, text: string, kind: Template['kind']): Template {
  const doc = parseDocument(text);
  const data = asObject(doc.toJS());
  return { file, kind, text, doc, data };
}

export function loadTemplates(root: string): Template[] {
  const read = (dir: string, kind: Template['kind']) =>
    readdirSync(join(root, dir))
      .filter((name) => name.endsWith('.yml'))
      .sort()
      .map((name) => templateFromText(`${dir}/${name}`, readFileSync(join(root, dir, name), 'utf8'), kind));
  return [...read('workflows-templates', 'reusable'), ...read('workflows-templates/starter', 'starter')];
}

function actionSpec(root: string, name: string): ActionSpec | undefined {
  const file = join(root, 'actions', name, 'action.yml');
  if (existsSync(file)) {
    const data = asObject(parseDocument(readFileSync(file, 'utf8')).toJS());
    const inputs = new Map(
      Object.entries(asObject(data.inputs)).map(([input, spec]) => {
        const { required, default: fallback } = asObject(spec);
        return [input, { required: required === true && fallback === undefined }];
      }),
    );
    return { inputs, outputs: Object.keys(asObject(data.outputs)), source: 'action.yml' };
  }
  const issue = ISSUE_ACTIONS[name];
  if (issue === undefined) return undefined;
  return {
    inputs: new Map(issue.inputs.map((input) => [input, { required: issue.required.includes(input) }])),
    outputs: issue.outputs,
    source: 'issue',
  };
}

export function loadCatalog(root: string, templates: Template[]): Catalog {
  const actions = new Map<string, ActionSpec>();
  for (const name of Object.keys(ISSUE_ACTIONS)) {
    const spec = actionSpec(root, name);
    if (spec !== undefined) actions.set(name, spec);
  }
  const workflows = new Map(
    templates.filter((t) => t.kind === 'reusable').map((t) => [basename(t.file), t] as const),
  );
  return { actions, workflows };
}

interface WorkflowParser {
  parseWorkflow(
    file: { name: string; content: string },
    trace: unknown,
  ): { context: { errors: { getErrors(): { message: string }[] } }; value: unknown };
  convertWorkflowTemplate(context: unknown, value: unknown): Promise<unknown>;
  NoOperationTraceWriter: new () => unknown;
}

/**
 * GitHub's own workflow parser, bundled once into CommonJS: its ESM build imports its JSON schema
 * without an import attribute, which Node refuses and Jest only tolerates with a deprecation warning.
 */
export async function loadWorkflowParser(root: string, outDir: string) {
  const outfile = join(outDir, 'workflow-parser.cjs');
  await build({
    stdin: { contents: "export * from '@actions/workflow-parser';", resolveDir: root },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'silent',
  });
  const parser = createRequire(import.meta.url)(outfile) as WorkflowParser;
  return async (name: string, content: string): Promise<string[]> => {
    const result = parser.parseWorkflow({ name, content }, new parser.NoOperationTraceWriter());
    if (result.value !== undefined) await parser.convertWorkflowTemplate(result.context, result.value);
    return result.context.errors.getErrors().map((error) => error.message);
  };
}

// ---------------------------------------------------------------------------------------------------
// Walking

function asObject(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

function jobsOf(t: Template): [string, Json][] {
  return Object.entries(asObject(t.data.jobs)).map(([id, job]) => [id, asObject(job)]);
}

function stepsOf(job: Json): Json[] {
  return asList(job.steps).map(asObject);
}

function stepName(step: Json, index: number): string {
  return String(step.id ?? step.name ?? step.uses ?? `step ${index + 1}`);
}

/** `owner/repo[/path]` of a `uses:` value, without the ref. */
function actionOf(uses: string): string {
  return uses.split('@')[0] ?? uses;
}

function internalAction(uses: string): string | undefined {
  const match = new RegExp(`^${INTERNAL_REPO}/([a-z0-9-]+)@`).exec(uses);
  return match?.[1];
}

function internalWorkflow(uses: string, catalog: Catalog): Template | undefined {
  const match = new RegExp(`^${INTERNAL_REPO}/\\.github/workflows/([^@]+)@`).exec(uses);
  return match?.[1] === undefined ? undefined : catalog.workflows.get(match[1]);
}

/** Every string in a value, with the path that leads to it. */
function* stringsIn(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value))
    for (const [i, item] of value.entries()) yield* stringsIn(item, `${path}[${i}]`);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) yield* stringsIn(item, `${path}.${key}`);
}

/** Expression texts in a string: each `${{ … }}`, or the whole string for an `if:` without one. */
function expressionsIn(path: string, text: string): string[] {
  const found = [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1] ?? '');
  if (found.length === 0 && /\.if$/.test(path)) return [text];
  return found;
}

/** Names a `run:` script writes to `$GITHUB_OUTPUT` (`echo name=…` / `printf 'name=…'` / `name<<EOF`). */
export function runOutputs(script: string): string[] {
  const names = new Set<string>();
  for (const line of script.split('\n')) {
    if (!line.includes('GITHUB_OUTPUT')) continue;
    const match = /(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)?["']?([A-Za-z_][\w-]*)(?:=|<<)/.exec(line);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return [...names];
}

function environmentName(job: Json): string | undefined {
  if (typeof job.environment === 'string') return job.environment;
  const name = asObject(job.environment).name;
  return typeof name === 'string' ? name : undefined;
}

function declaredPermissions(job: Json): Permissions | undefined {
  if (job.permissions === undefined || typeof job.permissions !== 'object' || job.permissions === null)
    return undefined;
  return job.permissions as Permissions;
}

function maxLevel(a: Level | undefined, b: Level): Level {
  return a === undefined || LEVELS[b] > LEVELS[a] ? b : a;
}

/** What a job needs: the union of its steps' needs, or for a reusable-workflow call the callee's grants. */
function neededPermissions(job: Json, catalog: Catalog): Permissions | undefined {
  const needed: Permissions = {};
  if (typeof job.uses === 'string') {
    const callee = internalWorkflow(job.uses, catalog);
    if (callee === undefined) return undefined;
    for (const [, calleeJob] of jobsOf(callee))
      for (const [scope, level] of Object.entries(declaredPermissions(calleeJob) ?? {}))
        if (level !== 'none') needed[scope] = maxLevel(needed[scope], level);
    return needed;
  }
  for (const step of stepsOf(job)) {
    if (typeof step.uses !== 'string') continue;
    for (const [scope, level] of Object.entries(stepPermissions(actionOf(step.uses), step)))
      needed[scope] = maxLevel(needed[scope], level);
  }
  return needed;
}

// ---------------------------------------------------------------------------------------------------
// Rules

/**
 * Least privilege: the workflow grants nothing (`permissions: {}`), every job declares a mapping, every
 * scope a job grants is needed by one of its steps at that level (or, for a `run:` step that uses the
 * token, says why in a comment on its line), nothing a step needs is missing, and a job that calls a
 * reusable workflow grants exactly what the called jobs declare.
 */
export function permissionViolations(t: Template, catalog: Catalog): string[] {
  const out: string[] = [];
  const top = t.data.permissions;
  if (top === undefined || Object.keys(asObject(top)).length > 0 || typeof top !== 'object')
    out.push(`${t.file}: the workflow must set \`permissions: {}\` so only what a job declares is granted`);
  for (const [id, job] of jobsOf(t)) {
    const granted = declaredPermissions(job);
    if (granted === undefined) {
      out.push(`${t.file}: job ${id} declares no \`permissions:\` mapping (read-all/write-all or nothing)`);
      continue;
    }
    const needed = neededPermissions(job, catalog);
    if (needed === undefined) {
      out.push(`${t.file}: job ${id} calls ${String(job.uses)}, whose permissions cannot be checked`);
      continue;
    }
    const node = t.doc.getIn(['jobs', id, 'permissions'], true);
    const comments = new Map<string, string>();
    if (isMap(node))
      for (const pair of node.items)
        if (isScalar(pair.key) && isScalar(pair.value))
          comments.set(String(pair.key.value), (pair.value.comment ?? '').trim());
    for (const [scope, level] of Object.entries(granted)) {
      if (level === 'none') continue;
      const need = needed[scope];
      const explained = typeof job.uses !== 'string' && (comments.get(scope) ?? '') !== '';
      if ((need === undefined || LEVELS[need] < LEVELS[level]) && !explained)
        out.push(`${t.file}: job ${id} grants ${scope}: ${level} but needs ${need ?? 'none'}`);
    }
    for (const [scope, level] of Object.entries(needed)) {
      const have = granted[scope];
      if (have === undefined || LEVELS[have] < LEVELS[level])
        out.push(`${t.file}: job ${id} needs ${scope}: ${level} but grants ${have ?? 'none'}`);
    }
  }
  return out;
}

interface UsesRef {
  where: string;
  uses: string;
  comment: string;
}

function usesRefs(t: Template): UsesRef[] {
  const refs: UsesRef[] = [];
  visit(t.doc, {
    Pair(_, pair, path) {
      if (!isPair(pair) || !isScalar(pair.key) || pair.key.value !== 'uses' || !isScalar(pair.value)) return;
      const where = path
        .filter(isPair)
        .map((p) => (isScalar(p.key) ? String(p.key.value) : '?'))
        .join('.');
      refs.push({ where, uses: String(pair.value.value), comment: (pair.value.comment ?? '').trim() });
    },
  });
  return refs;
}

/**
 * Every `uses:` is either ours (`digestline/actions/<action>@main` or
 * `digestline/actions/.github/workflows/<file>@main`, naming something that exists; the release stamps
 * the ref) or a third party pinned to a full commit SHA with its version in a `# vX.Y.Z` comment.
 */
export function pinViolations(t: Template, catalog: Catalog): string[] {
  const out: string[] = [];
  for (const { where, uses, comment } of usesRefs(t)) {
    const at = `${t.file} (${where}): ${uses}`;
    if (uses.startsWith('./') || uses.startsWith('../')) {
      out.push(`${at} is a local path, which resolves in the caller's repository`);
    } else if (uses.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(uses)) out.push(`${at} is a container image not pinned by digest`);
    } else if (uses.startsWith('digestline/')) {
      const name = internalAction(uses);
      const known =
        (name !== undefined && catalog.actions.has(name)) || internalWorkflow(uses, catalog) !== undefined;
      if (!uses.startsWith(`${INTERNAL_REPO}/`) || !uses.endsWith(`@${INTERNAL_REF}`) || !known)
        out.push(
          `${at} must name one of our actions or reusable workflows as ${INTERNAL_REPO}/<path>@${INTERNAL_REF}`,
        );
    } else if (!/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/.test(uses)) {
      out.push(`${at} is not pinned to a full 40-character commit SHA`);
    } else if (!/^v\d+\.\d+\.\d+$/.test(comment)) {
      out.push(`${at} has no \`# vX.Y.Z\` comment naming the release the SHA belongs to`);
    }
  }
  return out;
}

/** No `${{ … }}` inside `run:`: event data, inputs and outputs reach scripts as environment variables only. */
export function runExpressionViolations(t: Template): string[] {
  const out: string[] = [];
  for (const [id, job] of jobsOf(t))
    for (const [i, step] of stepsOf(job).entries())
      if (typeof step.run === 'string' && step.run.includes('${{')) {
        const untrusted = /github\.event\.|github\.head_ref|inputs\./.test(step.run)
          ? ' (untrusted data)'
          : '';
        out.push(
          `${t.file}: job ${id}, ${stepName(step, i)}: \`run:\` expands an expression${untrusted}; pass it through \`env:\``,
        );
      }
  return out;
}

/** `actions/checkout` never leaves the token in .git/config for later steps. */
export function checkoutViolations(t: Template): string[] {
  const out: string[] = [];
  for (const [id, job] of jobsOf(t))
    for (const [i, step] of stepsOf(job).entries())
      if (typeof step.uses === 'string' && actionOf(step.uses) === 'actions/checkout') {
        const value = asObject(step.with)['persist-credentials'];
        if (value !== false && value !== 'false')
          out.push(
            `${t.file}: job ${id}, ${stepName(step, i)}: actions/checkout without \`persist-credentials: false\``,
          );
      }
  return out;
}

/**
 * A job that changes an environment runs in it and holds `digestline-environment-<name>` without
 * cancelling, so two promotions, canaries or switches into one environment run one after the other.
 */
export function concurrencyViolations(t: Template): string[] {
  const out: string[] = [];
  for (const [id, job] of jobsOf(t)) {
    const environment = environmentName(job);
    const deploys = stepsOf(job).some((step) => {
      const name = typeof step.uses === 'string' ? internalAction(step.uses) : undefined;
      return name === 'promote' || name === 'canary-deploy';
    });
    if (deploys && environment === undefined)
      out.push(`${t.file}: job ${id} moves tags but runs in no \`environment:\``);
    if (environment === undefined) continue;
    const concurrency = asObject(job.concurrency);
    const group = `digestline-environment-${environment}`;
    if (concurrency.group !== group || concurrency['cancel-in-progress'] !== false)
      out.push(
        `${t.file}: job ${id} runs in ${environment} without \`concurrency: {group: ${group}, cancel-in-progress: false}\``,
      );
  }
  return out;
}

function stepOutputs(step: Json, catalog: Catalog): string[] | undefined {
  if (typeof step.run === 'string') return runOutputs(step.run);
  if (typeof step.uses !== 'string') return [];
  const ours = internalAction(step.uses);
  if (ours !== undefined) return catalog.actions.get(ours)?.outputs;
  return THIRD_PARTY_OUTPUTS[actionOf(step.uses)];
}

function jobOutputs(job: Json, catalog: Catalog): string[] | undefined {
  if (typeof job.uses === 'string') {
    const callee = internalWorkflow(job.uses, catalog);
    return callee === undefined
      ? undefined
      : Object.keys(asObject(asObject(asObject(callee.data.on).workflow_call).outputs));
  }
  return Object.keys(asObject(job.outputs));
}

function declaredInputs(t: Template): Set<string> {
  const on = asObject(t.data.on);
  return new Set([
    ...Object.keys(asObject(asObject(on.workflow_call).inputs)),
    ...Object.keys(asObject(asObject(on.workflow_dispatch).inputs)),
  ]);
}

/**
 * Every `needs.<job>.outputs.<x>`, `steps.<id>.outputs.<x>` and `jobs.<job>.outputs.<x>` names an
 * output that exists, from a job listed in `needs:` or an earlier step of the same job; every
 * `inputs.<x>` is declared, and (in reusable workflows) every `secrets.<X>` too.
 */
export function referenceViolations(t: Template, catalog: Catalog): string[] {
  const out: string[] = [];
  const jobs = new Map(jobsOf(t));
  const inputs = declaredInputs(t);
  const secrets = new Set(Object.keys(asObject(asObject(asObject(t.data.on).workflow_call).secrets)));
  const checkCommon = (where: string, expression: string) => {
    for (const m of expression.matchAll(/\binputs\.([\w-]+)/g))
      if (!inputs.has(m[1] ?? '')) out.push(`${where}: inputs.${m[1]} is not a declared input`);
    if (t.kind === 'reusable')
      for (const m of expression.matchAll(/\bsecrets\.([\w-]+)/g))
        if (m[1] !== 'GITHUB_TOKEN' && !secrets.has(m[1] ?? ''))
          out.push(`${where}: secrets.${m[1]} is not a declared workflow_call secret`);
  };

  for (const [path, text] of stringsIn(asObject(asObject(t.data.on).workflow_call).outputs, 'outputs'))
    for (const expression of expressionsIn(path, text))
      for (const m of expression.matchAll(/\bjobs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        const [, jobId = '', output = ''] = m;
        const job = jobs.get(jobId);
        const outputs = job === undefined ? [] : (jobOutputs(job, catalog) ?? []);
        if (!outputs.includes(output))
          out.push(`${t.file} ${path}: jobs.${jobId}.outputs.${output} does not exist`);
      }
  for (const [path, text] of stringsIn(t.data.concurrency, 'concurrency'))
    for (const expression of expressionsIn(path, text)) checkCommon(`${t.file} ${path}`, expression);

  for (const [id, job] of jobs) {
    const needs = asList(job.needs).map(String);
    for (const need of needs)
      if (!jobs.has(need)) out.push(`${t.file}: job ${id} needs ${need}, which is not a job`);
    const steps = stepsOf(job);
    const stepIndex = new Map(
      steps.flatMap((step, i) => (typeof step.id === 'string' ? [[step.id, i] as const] : [])),
    );
    for (const [path, text] of stringsIn(job, `jobs.${id}`)) {
      const where = `${t.file} ${path}`;
      const inStep = /^jobs\.[\w-]+\.steps\[(\d+)\]/.exec(path);
      for (const expression of expressionsIn(path, text)) {
        checkCommon(where, expression);
        for (const m of expression.matchAll(/\bneeds\.([\w-]+)(?:\.outputs\.([\w-]+))?/g)) {
          const [, jobId = '', output] = m;
          if (!needs.includes(jobId)) {
            out.push(`${where}: needs.${jobId} is not in this job's \`needs:\``);
            continue;
          }
          const target = jobs.get(jobId);
          const outputs = target === undefined ? undefined : jobOutputs(target, catalog);
          if (output !== undefined && !(outputs ?? []).includes(output))
            out.push(`${where}: needs.${jobId}.outputs.${output} does not exist`);
        }
        for (const m of expression.matchAll(/\bsteps\.([\w-]+)(?:\.outputs\.([\w-]+))?/g)) {
          const [, stepId = '', output] = m;
          const index = stepIndex.get(stepId);
          if (index === undefined) {
            out.push(`${where}: steps.${stepId} is not a step of job ${id}`);
            continue;
          }
          if (inStep !== null && index >= Number(inStep[1])) {
            out.push(`${where}: steps.${stepId} runs after the step that reads it`);
            continue;
          }
          if (output === undefined) continue;
          const outputs = stepOutputs(steps[index] ?? {}, catalog);
          if (outputs === undefined)
            out.push(`${where}: the outputs of step ${stepId} are unknown, so ${output} cannot be checked`);
          else if (!outputs.includes(output))
            out.push(`${where}: steps.${stepId}.outputs.${output} does not exist`);
        }
      }
    }
  }
  return out;
}

/**
 * `with:` names only declared inputs and gives every required one, for our actions and for reusable
 * workflows; `secrets:` is passed by name (never `inherit`) and gives every required secret.
 */
export function interfaceViolations(t: Template, catalog: Catalog): string[] {
  const out: string[] = [];
  const check = (where: string, given: Json, declared: Map<string, { required: boolean }>, what: string) => {
    for (const name of Object.keys(given))
      if (!declared.has(name)) out.push(`${where}: ${what} ${name} is not declared`);
    for (const [name, spec] of declared)
      if (spec.required && given[name] === undefined)
        out.push(`${where}: required ${what} ${name} is missing`);
  };
  for (const [id, job] of jobsOf(t)) {
    if (typeof job.uses === 'string') {
      const where = `${t.file}: job ${id} (${job.uses})`;
      if (job.secrets === 'inherit')
        out.push(`${where}: \`secrets: inherit\` hands over every secret; pass them by name`);
      const callee = internalWorkflow(job.uses, catalog);
      if (callee === undefined) continue;
      const call = asObject(asObject(callee.data.on).workflow_call);
      const specs = (value: unknown) =>
        new Map(
          Object.entries(asObject(value)).map(([name, spec]) => {
            const { required, default: fallback } = asObject(spec);
            return [name, { required: required === true && fallback === undefined }];
          }),
        );
      check(where, asObject(job.with), specs(call.inputs), 'input');
      if (job.secrets !== 'inherit') check(where, asObject(job.secrets), specs(call.secrets), 'secret');
      continue;
    }
    for (const [i, step] of stepsOf(job).entries()) {
      const name = typeof step.uses === 'string' ? internalAction(step.uses) : undefined;
      const spec = name === undefined ? undefined : catalog.actions.get(name);
      if (spec !== undefined)
        check(`${t.file}: job ${id}, ${stepName(step, i)}`, asObject(step.with), spec.inputs, 'input');
    }
  }
  return out;
}

/**
 * A reusable workflow runs both as `workflow_call` and by hand (`workflow_dispatch`), declares its
 * outputs, and a manual run can supply every input a caller must.
 */
export function reusableViolations(t: Template): string[] {
  const out: string[] = [];
  const on = asObject(t.data.on);
  if (on.workflow_call === undefined) return [`${t.file}: no \`on: workflow_call\``];
  if (on.workflow_dispatch === undefined) out.push(`${t.file}: no \`on: workflow_dispatch\` for manual runs`);
  const call = asObject(on.workflow_call);
  const outputs = Object.entries(asObject(call.outputs));
  if (outputs.length === 0) out.push(`${t.file}: workflow_call declares no outputs`);
  for (const [name, spec] of outputs) {
    const { value, description } = asObject(spec);
    if (typeof value !== 'string' || !value.includes('${{'))
      out.push(`${t.file}: output ${name} has no value expression`);
    if (typeof description !== 'string' || description === '')
      out.push(`${t.file}: output ${name} has no description`);
  }
  const dispatch = asObject(asObject(on.workflow_dispatch).inputs);
  for (const [name, spec] of Object.entries(asObject(call.inputs))) {
    const { required, description } = asObject(spec);
    if (typeof description !== 'string' || description === '')
      out.push(`${t.file}: input ${name} has no description`);
    if (required === true && dispatch[name] === undefined)
      out.push(
        `${t.file}: required input ${name} cannot be given to a manual run (add it to workflow_dispatch)`,
      );
  }
  for (const name of Object.keys(dispatch))
    if (asObject(call.inputs)[name] === undefined)
      out.push(`${t.file}: workflow_dispatch input ${name} is not a workflow_call input`);
  return out;
}

/** A `run:` that downloads something verifies it against a pinned sha256 before using it. */
export function downloadViolations(t: Template): string[] {
  const out: string[] = [];
  for (const [id, job] of jobsOf(t))
    for (const [i, step] of stepsOf(job).entries())
      if (
        typeof step.run === 'string' &&
        /\b(curl|wget)\b[^\n]*https?:\/\//.test(step.run.replace(/\\\n/g, ' '))
      )
        if (
          !/sha256sum --check/.test(step.run) ||
          !/\b[0-9a-f]{64}\b/.test(JSON.stringify(step.env ?? {}) + step.run)
        )
          out.push(`${t.file}: job ${id}, ${stepName(step, i)}: downloads without checking a pinned sha256`);
  return out;
}

/**
 * A starter template's `<name>.properties.json` as GitHub's template gallery reads it: name,
 * description, iconName (an octicon or an SVG beside it), categories and filePatterns (regular
 * expressions).
 */
export function propertiesViolations(file: string, text: string, siblings: string[]): string[] {
  let data: Json;
  try {
    data = asObject(JSON.parse(text));
  } catch (error) {
    return [`${file}: not JSON (${(error as Error).message})`];
  }
  const out: string[] = [];
  for (const key of ['name', 'description'])
    if (typeof data[key] !== 'string' || (data[key] as string).trim() === '')
      out.push(`${file}: ${key} must be a non-empty string`);
  const icon = data.iconName;
  if (typeof icon !== 'string' || !(/^octicon [a-z0-9-]+$/.test(icon) || siblings.includes(`${icon}.svg`)))
    out.push(`${file}: iconName must be \`octicon <name>\` or the name of an SVG beside the template`);
  for (const key of ['categories', 'filePatterns']) {
    const list = data[key];
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.some((item) => typeof item !== 'string' || item === '')
    )
      out.push(`${file}: ${key} must be a non-empty list of strings`);
  }
  for (const pattern of asList(data.filePatterns))
    try {
      new RegExp(String(pattern));
    } catch {
      out.push(`${file}: filePatterns entry ${String(pattern)} is not a regular expression`);
    }
  return out;
}

/** Every job that runs steps says how long it may run (GitHub's default is six hours). */
export function timeoutViolations(t: Template): string[] {
  return jobsOf(t)
    .filter(([, job]) => job.steps !== undefined && job['timeout-minutes'] === undefined)
    .map(([id]) => `${t.file}: job ${id} has no \`timeout-minutes\``);
}

/**
 * The workflow's GitHub token is a credential for GitHub and ghcr.io only: it travels as `github-token`,
 * and a registry password falls back to it only behind a `startsWith(…, 'ghcr.io/')` condition.
 */
export function registryTokenViolations(t: Template): string[] {
  const out: string[] = [];
  for (const [path, text] of stringsIn(t.data.jobs, 'jobs'))
    if (
      /(registry-password|REGISTRY_PASSWORD|TRIVY_PASSWORD)$/.test(path) &&
      /github\.token|GITHUB_TOKEN/.test(text)
    )
      if (!/startsWith\([^)]*'ghcr\.io\/'\)\s*&&\s*github\.token/.test(text))
        out.push(`${t.file} ${path}: offers the GitHub token to a registry that may not be ghcr.io`);
  return out;
}

/** A job that is given a database URL runs in an environment, so the URL exists only after approval. */
export function databaseViolations(t: Template): string[] {
  const out: string[] = [];
  for (const [id, job] of jobsOf(t)) {
    if (job.uses !== undefined) continue;
    const reads = [...stringsIn(job, `jobs.${id}`)].some(([, text]) => /secrets\.\w*DATABASE_URL/.test(text));
    if (reads && environmentName(job) === undefined)
      out.push(`${t.file}: job ${id} reads a database URL outside any \`environment:\``);
  }
  return out;
}
