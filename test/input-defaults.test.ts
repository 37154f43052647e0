import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { publishedActions } from '../scripts/lib/actions.mjs';
import { parseManifest } from '../scripts/lib/docs.js';
import { corpusText } from './harness/corpus.js';

/**
 * Each default written in code must equal the default in action.yml: a runner fills in action.yml's
 * defaults, while local-action, tests and the code's own fallbacks use the code's. Reading the inputs
 * once with nothing but the required ones and once with every action.yml default written out must give
 * the same result.
 */

/** The least each action needs to read its inputs at all. */
const REQUIRED: Record<string, Record<string, string>> = {
  'build-and-sign': {
    image: '127.0.0.1:5000/team/app',
    'cosign-private-key': corpusText('cosign/encrypted-key/cosign.key'),
  },
  'scan-gate': { reports: 'trivy.json' },
  'migration-check': {},
  promote: {
    image: '127.0.0.1:5000/team/app',
    digest: `sha256:${'a'.repeat(64)}`,
    'target-env': 'dev',
    'public-key': corpusText('cosign/encrypted-key/cosign.pub'),
    'cosign-private-key': corpusText('cosign/encrypted-key/cosign.key'),
    'github-token': 'ghs_input_defaults_test',
  },
  'canary-deploy': {
    image: '127.0.0.1:5000/team/app',
    digest: `sha256:${'a'.repeat(64)}`,
    'health-url': 'http://127.0.0.1:9/health',
  },
};

const inputVariable = (name: string) => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

// A workspace with what build-and-sign looks for before it reads further.
const workspace = mkdtempSync(join(tmpdir(), 'digestline-input-defaults-'));
writeFileSync(join(workspace, 'Dockerfile'), 'FROM scratch\n');
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

let saved: NodeJS.ProcessEnv;
beforeEach(() => {
  saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  // What a runner always sets, and some inputs depend on.
  Object.assign(process.env, {
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: 'octo-org/octo-repo',
    GITHUB_WORKFLOW_REF: 'octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main',
    GITHUB_SHA: 'ffac537e6cbbf934b08745a378932722df287a53',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1658821493',
  });
});
afterEach(() => {
  process.env = saved;
});

function readWith(read: () => unknown, inputs: Record<string, string>): unknown {
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  for (const [name, value] of Object.entries(inputs)) process.env[inputVariable(name)] = value;
  return read();
}

const actions = publishedActions();

test('every published action is covered', () => {
  expect(actions.map((a) => a.name).sort()).toEqual(Object.keys(REQUIRED).sort());
});

describe.each(actions)('$name', ({ name, dir }) => {
  test('the defaults in code equal the defaults in action.yml', async () => {
    const manifest = parseManifest(readFileSync(join(dir, 'action.yml'), 'utf8'));
    const { readInputs } = (await import(join(dir, 'src', 'inputs.ts'))) as { readInputs: () => unknown };
    const required = REQUIRED[name] ?? {};
    // Expression defaults (`${{ github.token }}`) are the runner's to fill in; the code cannot know them.
    const written = Object.fromEntries(
      Object.entries(manifest.inputs ?? {})
        .filter(([, spec]) => spec.default !== undefined && !String(spec.default).includes('${{'))
        .map(([input, spec]) => [input, String(spec.default)]),
    );
    expect(Object.keys(written).length).toBeGreaterThan(0);
    const fromCode = readWith(readInputs, required);
    const fromManifest = readWith(readInputs, { ...written, ...required });
    expect(fromCode).toEqual(fromManifest);
  });
});
