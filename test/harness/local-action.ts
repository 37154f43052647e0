import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { node24, repoRoot } from '@digestline/local';

/** local-action's JavaScript entry, started with Node 24 itself (never through pnpm's node_modules/.bin shims). */
export const localActionEntry = join(repoRoot, 'node_modules/@github/local-action/bin/local-action.js');

export interface ProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** `::set-output name=…::…` lines, unescaped: what @actions/core prints when GITHUB_OUTPUT is not set. */
  outputs: Record<string, string>;
  /** `::error::…` messages. */
  errors: string[];
}

const unescapeData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

export function parseWorkflowCommands(stdout: string): Pick<ProcessResult, 'outputs' | 'errors'> {
  const outputs: Record<string, string> = {};
  const errors: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const output = /^::set-output name=([^:]+)::(.*)$/.exec(line);
    if (output) outputs[output[1] as string] = unescapeData(output[2] as string);
    const error = /^::error(?: [^:]*)?::(.*)$/.exec(line);
    if (error) errors.push(unescapeData(error[1] as string));
  }
  return { outputs, errors };
}

/**
 * The environment of this process without anything a runner sets: outputs must print as `::set-output`
 * lines (not land in a CI step's GITHUB_OUTPUT), and no input or state may leak in from outside.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(GITHUB_|INPUT_|STATE_|RUNNER_|ACTIONS_)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Starts a command and collects its output; `timeoutMs` kills it. */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr, ...parseWorkflowCommands(stdout) });
    });
  });
}

/**
 * `local-action run <actionDir> <entrypoint> <dotenvFile>` from the repository root, as the READMEs document
 * it (`npx @github/local-action run actions/<name> src/main.ts .env`), but with local-action's JS entry on
 * Node 24 directly.
 */
export function runLocalAction(
  actionDir: string,
  entrypoint: string,
  dotenvFile: string,
  env: Record<string, string> = {},
): Promise<ProcessResult> {
  return runProcess(node24, [localActionEntry, 'run', actionDir, entrypoint, dotenvFile], {
    env: cleanEnv(env),
    timeoutMs: 90_000,
  });
}

/** The fenced code blocks of a Markdown text, with their language. */
export function codeBlocks(markdown: string): { lang: string; code: string }[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].map((m) => ({
    lang: m[1] as string,
    code: m[2] as string,
  }));
}
