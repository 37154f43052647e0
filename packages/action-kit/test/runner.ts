import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, jest } from '@jest/globals';

/**
 * The runner's side of the protocol for one test file: INPUT_/STATE_ variables in, the GITHUB_OUTPUT,
 * GITHUB_STATE and GITHUB_STEP_SUMMARY files and workflow commands on stdout out. Environment and exit
 * code are restored after every test, because @actions/core's setFailed sets process.exitCode and a
 * leftover 1 would fail the whole Jest run.
 */
export interface FakeRunner {
  files: { output: string; state: string; summary: string };
  /** Everything written to stdout during the current test. */
  stdout(): string;
  /** Workflow commands (`::name props::message`) written during the current test, message unescaped. */
  commands(name: string): string[];
  outputs(): Promise<Record<string, string>>;
  state(): Promise<Record<string, string>>;
  summary(): Promise<string>;
  setInputs(inputs: Record<string, string>): void;
}

export function fakeRunner(): FakeRunner {
  let dir = '';
  const files = { output: '', state: '', summary: '' };
  let savedEnv: NodeJS.ProcessEnv = {};
  let savedExitCode: typeof process.exitCode;
  let written: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'action-kit-'));
    files.output = join(dir, 'output');
    files.state = join(dir, 'state');
    // @actions/core caches the summary path on first use, so it stays one file for the whole test file.
    files.summary = join(dir, 'summary.md');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    savedEnv = { ...process.env };
    savedExitCode = process.exitCode;
    for (const key of Object.keys(process.env)) {
      if (key.startsWith('INPUT_') || key.startsWith('STATE_') || key === 'RUNNER_DEBUG')
        delete process.env[key];
    }
    for (const file of Object.values(files)) await writeFile(file, '');
    process.env.GITHUB_OUTPUT = files.output;
    process.env.GITHUB_STATE = files.state;
    process.env.GITHUB_STEP_SUMMARY = files.summary;
    written = [];
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    process.exitCode = savedExitCode;
  });

  const stdout = () => written.join('');
  return {
    files,
    stdout,
    commands(name) {
      const prefix = `::${name}`;
      return stdout()
        .split('\n')
        .filter((line) => line.startsWith(`${prefix}::`) || line.startsWith(`${prefix} `))
        .map((line) => unescapeData(line.slice(line.indexOf('::', 2) + 2)));
    },
    outputs: async () => parseCommandFile(await readFile(files.output, 'utf8')),
    state: async () => parseCommandFile(await readFile(files.state, 'utf8')),
    summary: () => readFile(files.summary, 'utf8'),
    setInputs(inputs) {
      for (const [name, value] of Object.entries(inputs)) process.env[inputEnvName(name)] = value;
    },
  };
}

/** How the runner names an input's variable: upper case, spaces to underscores, dashes kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/** Reads GITHUB_OUTPUT/GITHUB_STATE the way the runner does: `name<<DELIMITER` heredocs. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!heredoc) {
      if (lines[i] !== '') throw new Error(`unexpected line in command file: ${JSON.stringify(lines[i])}`);
      continue;
    }
    const [, name, delimiter] = heredoc as unknown as [string, string, string];
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] ?? '');
    if (i >= lines.length) throw new Error(`value of "${name}" is not terminated by ${delimiter}`);
    values[name] = body.join('\n');
  }
  return values;
}
