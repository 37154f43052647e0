import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { WorkflowError } from './errors.js';

const execFileAsync = promisify(execFile);

/** What a stand-in sees of its step: the evaluated `with:` and the job around it. */
export interface StandInContext {
  with: Record<string, string>;
  workspace: string;
  home: string;
  temp: string;
  repository: { name: string; path: string };
  github: { apiUrl: string; token: string; sha: string; ref: string };
  artifactsDir: string;
  cacheDir: string;
  tools: Record<string, string>;
  /** The state the main step saved, in the post step. */
  state: Record<string, string>;
  setOutput(name: string, value: string): void;
  saveState(name: string, value: string): void;
  addPath(dir: string): void;
  log(line: string): void;
}

/**
 * A third-party action replaced by what it does, done locally: pinned to the one commit the templates
 * name, so a template cannot drift to a version nobody ran.
 */
export interface StandIn {
  sha: string;
  version: string;
  main(context: StandInContext): Promise<void>;
  post?(context: StandInContext): Promise<void>;
  /** GitHub's `post-if` of the real action. */
  postIf?: string;
}

const lines = (value: string | undefined) =>
  (value ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');

const truthy = (value: string | undefined, fallback: boolean) =>
  value === undefined || value === '' ? fallback : value === 'true';

function inside(root: string, path: string, what: string): string {
  const full = resolve(root, path);
  if (full !== root && !full.startsWith(`${root}/`))
    throw new WorkflowError(`${what} ${path} is outside the workspace`);
  return full;
}

async function git(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileAsync('git', ['-c', 'protocol.file.allow=always', ...args], { cwd });
  return stdout.trim();
}

/** Files named by `path:` inputs: paths and directories, or a `*` pattern in the last path segment. */
async function matchPaths(workspace: string, patterns: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const pattern of patterns) {
    const absolute = isAbsolute(pattern) ? pattern : join(workspace, pattern);
    if (!/[*?]/.test(basename(absolute))) {
      if (existsSync(absolute)) found.push(absolute);
      continue;
    }
    const dir = dirname(absolute);
    if (!existsSync(dir)) continue;
    const matcher = wildcard(basename(absolute));
    for (const name of (await readdir(dir)).sort()) if (matcher.test(name)) found.push(join(dir, name));
  }
  return found;
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const checkout: StandIn = {
  sha: '08c6903cd8c0fde910a37f88322edcfb5dd907a8',
  version: 'v5.0.0',
  async main(context) {
    const wanted = context.with.repository || context.repository.name;
    if (wanted !== context.repository.name)
      throw new WorkflowError(
        `actions/checkout: only the workflow's own repository (${context.repository.name}) exists here, not ${wanted}`,
      );
    const dest = inside(context.workspace, context.with.path ?? '', 'actions/checkout: path');
    const ref = context.with.ref || context.github.sha;
    const depth = context.with['fetch-depth'] === undefined ? '1' : context.with['fetch-depth'];
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    const source = `file://${context.repository.path}`;
    await git(['init', '--quiet', dest]);
    await git(['remote', 'add', 'origin', source], dest);
    const shallow = depth === '0' ? [] : [`--depth=${depth}`];
    if (depth === '0')
      await git(['fetch', '--quiet', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'], dest);
    // A commit is fetched by its id, as the real action does; the local upload-pack must allow that.
    await git(
      ['-c', 'uploadpack.allowAnySHA1InWant=true', 'fetch', '--quiet', ...shallow, 'origin', ref],
      dest,
    );
    await git(['checkout', '--quiet', '--detach', 'FETCH_HEAD'], dest);
    if (truthy(context.with['persist-credentials'], true)) {
      // What the real action leaves behind: the token in the repository's config, for every later step.
      const basic = Buffer.from(`x-access-token:${context.github.token}`).toString('base64');
      await git(
        ['config', '--local', 'http.https://github.com/.extraheader', `AUTHORIZATION: basic ${basic}`],
        dest,
      );
    }
    context.setOutput('ref', ref);
    context.setOutput('commit', await git(['rev-parse', 'HEAD'], dest));
    context.log(
      `checked out ${context.repository.name} at ${ref} into ${relative(context.workspace, dest) || '.'}`,
    );
  },
};

const uploadArtifact: StandIn = {
  sha: 'ea165f8d65b6e75b540449e92b4886f43607fa02',
  version: 'v4.6.2',
  async main(context) {
    const name = context.with.name || 'artifact';
    const target = join(context.artifactsDir, name);
    if (existsSync(target) && !truthy(context.with.overwrite, false))
      throw new WorkflowError(
        `actions/upload-artifact: an artifact named "${name}" already exists in this run; artifact names are unique per run`,
      );
    const files = await matchPaths(context.workspace, lines(context.with.path));
    if (files.length === 0) {
      const mode = context.with['if-no-files-found'] || 'warn';
      const message = `no files were found with the provided path: ${context.with.path ?? ''}`;
      if (mode === 'error') throw new WorkflowError(`actions/upload-artifact: ${message}`);
      if (mode === 'warn') context.log(`::warning::${message}. No artifacts will be uploaded.`);
      return;
    }
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    const hash = createHash('sha256');
    for (const file of files) {
      const into = (await stat(file)).isDirectory() ? target : join(target, basename(file));
      await cp(file, into, { recursive: true });
      hash.update(file);
    }
    context.setOutput('artifact-id', String((await readdir(context.artifactsDir)).length));
    context.setOutput(
      'artifact-url',
      `https://github.com/${context.repository.name}/actions/artifacts/${name}`,
    );
    context.setOutput('artifact-digest', hash.digest('hex'));
    context.log(`uploaded artifact ${name} (${files.length} path(s))`);
  },
};

const downloadArtifact: StandIn = {
  sha: 'fa0a91b85d4f404e444e00e005971372dc801d16',
  version: 'v4.1.8',
  async main(context) {
    const dest = resolve(context.workspace, (context.with.path ?? '').replace(/^~(?=\/|$)/, context.home));
    const available = existsSync(context.artifactsDir) ? await readdir(context.artifactsDir) : [];
    let names: string[];
    if (context.with.name) {
      if (!available.includes(context.with.name))
        throw new WorkflowError(
          `actions/download-artifact: no artifact named "${context.with.name}" in this run`,
        );
      names = [context.with.name];
    } else {
      const pattern = context.with.pattern;
      const matcher =
        pattern === undefined || pattern === ''
          ? () => true
          : (name: string) =>
              new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name);
      names = available.filter(matcher);
    }
    const single = context.with.name !== undefined && context.with.name !== '';
    const merge = truthy(context.with['merge-multiple'], false);
    for (const name of names)
      await cp(join(context.artifactsDir, name), single || merge ? dest : join(dest, name), {
        recursive: true,
      });
    context.setOutput('download-path', dest);
    context.log(`downloaded ${names.length} artifact(s): ${names.join(', ')}`);
  },
};

function cacheEntry(context: StandInContext, key: string): string {
  return join(context.cacheDir, 'actions-cache', encodeURIComponent(key));
}

function cachePaths(context: StandInContext): string[] {
  return lines(context.with.path).map((path) =>
    path.startsWith('~/') ? join(context.home, path.slice(2)) : resolve(context.workspace, path),
  );
}

const cache: StandIn = {
  sha: '0057852bfaa89a56745cba8c7296529d2fc39830',
  version: 'v4.3.0',
  postIf: 'success()',
  async main(context) {
    const key = context.with.key ?? '';
    if (key === '') throw new WorkflowError('actions/cache: input required and not supplied: key');
    const root = join(context.cacheDir, 'actions-cache');
    const stored = existsSync(root) ? (await readdir(root)).map(decodeURIComponent) : [];
    let matched = stored.includes(key) ? key : undefined;
    for (const prefix of lines(context.with['restore-keys'])) {
      if (matched !== undefined) break;
      const candidates = stored.filter((entry) => entry.startsWith(prefix)).sort();
      matched = candidates.at(-1);
    }
    context.saveState('key', key);
    context.saveState('matched', matched ?? '');
    context.setOutput('cache-hit', String(matched === key));
    if (matched === undefined) {
      if (truthy(context.with['fail-on-cache-miss'], false))
        throw new WorkflowError(`actions/cache: failed to restore cache entry for key ${key}`);
      context.log(
        `cache not found for input keys: ${[key, ...lines(context.with['restore-keys'])].join(', ')}`,
      );
      return;
    }
    context.setOutput('cache-matched-key', matched);
    for (const [index, path] of cachePaths(context).entries()) {
      const from = join(cacheEntry(context, matched), String(index));
      if (!existsSync(from)) continue;
      await mkdir(dirname(path), { recursive: true });
      await cp(from, path, { recursive: true });
    }
    context.log(`cache restored from key: ${matched}`);
  },
  async post(context) {
    if (context.state.matched === context.state.key) {
      context.log('cache hit occurred on the primary key, not saving cache');
      return;
    }
    const entry = cacheEntry(context, context.state.key ?? '');
    await mkdir(entry, { recursive: true });
    for (const [index, path] of cachePaths(context).entries())
      if (existsSync(path)) await cp(path, join(entry, String(index)), { recursive: true });
    context.log(`cache saved with key: ${context.state.key}`);
  },
};

const uploadSarif: StandIn = {
  sha: '5d4e8d1aca955e8d8589aabd499c5cae939e33c7',
  version: 'v4.31.9',
  async main(context) {
    const file = inside(context.workspace, context.with.sarif_file ?? '', 'upload-sarif: sarif_file');
    if (!existsSync(file))
      throw new WorkflowError(`upload-sarif: path does not exist: ${context.with.sarif_file}`);
    const sarif = JSON.parse(await readFile(file, 'utf8')) as { runs?: Record<string, unknown>[] };
    const category = context.with.category;
    if (category)
      for (const run of sarif.runs ?? [])
        run.automationDetails ??= { id: category.endsWith('/') ? category : `${category}/` };
    const token = context.with.token || context.github.token;
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${context.github.apiUrl}/repos/${context.repository.name}${path}`, {
        method,
        headers: {
          authorization: `token ${token}`,
          accept: 'application/vnd.github+json',
          'content-type': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok)
        throw new WorkflowError(`upload-sarif: ${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const uploaded = await call('POST', '/code-scanning/sarifs', {
      commit_sha: context.with.sha || context.github.sha,
      ref: context.with.ref || context.github.ref,
      sarif: gzipSync(JSON.stringify(sarif)).toString('base64'),
      checkout_uri: `file://${context.workspace}`,
      tool_name: 'codeql-action/upload-sarif',
    });
    const id = String(uploaded.id ?? '');
    context.setOutput('sarif-id', id);
    if (!truthy(context.with['wait-for-processing'], true)) return;
    for (let attempt = 0; attempt < 20; attempt++) {
      const status = await call('GET', `/code-scanning/sarifs/${id}`);
      if (status.processing_status === 'complete') return;
      if (status.processing_status === 'failed')
        throw new WorkflowError(
          `upload-sarif: code scanning could not process the SARIF: ${JSON.stringify(status)}`,
        );
      await new Promise((done) => setTimeout(done, 200));
    }
    throw new WorkflowError('upload-sarif: the SARIF was not processed in time');
  },
};

async function toolVersion(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args);
  return stdout.trim();
}

const setupNode: StandIn = {
  sha: '2028fbc5c25fe9cf00d9f06a71cc4710d4507903',
  version: 'v6.0.0',
  async main(context) {
    const node = context.tools.node;
    if (node === undefined) throw new WorkflowError('actions/setup-node: this machine offers no Node.js');
    const wanted = (context.with['node-version'] ?? '').replace(/^v/, '').replace(/\.x$/, '');
    if (wanted === '')
      throw new WorkflowError('actions/setup-node: give node-version (a pinned major version)');
    const have = (await toolVersion(node, ['--version'])).replace(/^v/, '');
    if (have !== wanted && !have.startsWith(`${wanted}.`))
      throw new WorkflowError(
        `actions/setup-node: node-version ${wanted} was asked for, this runner has ${have}`,
      );
    context.addPath(dirname(node));
    context.setOutput('node-version', `v${have}`);
    context.setOutput('cache-hit', 'false');
  },
};

const pnpmSetup: StandIn = {
  sha: 'a7487c7e89a18df4991f7f222e4898a00d66ddda',
  version: 'v4.1.0',
  async main(context) {
    const pnpm = context.tools.pnpm;
    if (pnpm === undefined) throw new WorkflowError('pnpm/action-setup: this machine offers no pnpm');
    let wanted = context.with.version ?? '';
    const manifest = join(context.workspace, context.with.package_json_file || 'package.json');
    if (wanted === '' && existsSync(manifest)) {
      const field = (JSON.parse(await readFile(manifest, 'utf8')) as { packageManager?: string })
        .packageManager;
      wanted = /^pnpm@([^+]+)/.exec(field ?? '')?.[1] ?? '';
    }
    if (wanted === '')
      throw new WorkflowError(
        'pnpm/action-setup: no version given and no packageManager field in package.json',
      );
    const have = await toolVersion(pnpm, ['--version']);
    if (have !== wanted)
      throw new WorkflowError(`pnpm/action-setup: pnpm ${wanted} was asked for, this runner has ${have}`);
    context.addPath(dirname(pnpm));
  },
};

const setupTrivy: StandIn = {
  sha: '3fb12ec12f41e471780db15c232d5dd185dcb514',
  version: 'v0.2.6',
  async main(context) {
    const trivy = context.tools.trivy;
    if (trivy === undefined)
      throw new WorkflowError('aquasecurity/setup-trivy: this machine offers no Trivy');
    const wanted = context.with.version ?? '';
    if (!/^v\d+\.\d+\.\d+$/.test(wanted))
      throw new WorkflowError(
        `aquasecurity/setup-trivy: version must pin a release (vX.Y.Z), not "${wanted || 'latest'}"`,
      );
    const bin = join(context.temp, 'setup-trivy');
    await mkdir(bin, { recursive: true });
    // The machine's build is older than the pinned release: it calls the misconfiguration scanner
    // `config` and skips its rule update with `--skip-policy-update`. The wrapper renames only those.
    await writeFile(
      join(bin, 'trivy'),
      [
        '#!/bin/bash',
        'args=()',
        'scanners=0',
        'for arg in "$@"; do',
        '  if [ "$scanners" = 1 ]; then arg=$(sed -E "s/(^|,)misconfig(,|$)/\\1config\\2/" <<< "$arg"); scanners=0; fi',
        '  case "$arg" in',
        '    --scanners) scanners=1 ;;',
        '    --scanners=*) arg=$(sed -E "s/([=,])misconfig(,|$)/\\1config\\2/" <<< "$arg") ;;',
        '    --skip-check-update) arg=--skip-policy-update ;;',
        '  esac',
        '  args+=("$arg")',
        'done',
        `exec '${trivy.replaceAll("'", "'\\''")}' "\${args[@]}"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    await writeFile(join(bin, 'VERSION'), wanted);
    context.addPath(bin);
    context.log(`Trivy ${wanted} is on PATH (the machine's build: ${trivy})`);
  },
};

/** Third-party actions by `owner/repo[/path]`. */
export const STAND_INS: Record<string, StandIn> = {
  'actions/checkout': checkout,
  'actions/upload-artifact': uploadArtifact,
  'actions/download-artifact': downloadArtifact,
  'actions/cache': cache,
  'github/codeql-action/upload-sarif': uploadSarif,
  'actions/setup-node': setupNode,
  'pnpm/action-setup': pnpmSetup,
  'aquasecurity/setup-trivy': setupTrivy,
};
