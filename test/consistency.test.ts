import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { fixtureActions, publishedActions } from '../scripts/lib/actions.mjs';
import { parseManifest, updateReadme } from '../scripts/lib/docs.js';

const actions = [...publishedActions(), ...fixtureActions()];

test('there is at least one action to check', () => {
  expect(actions.length).toBeGreaterThan(0);
});

describe.each(actions)('action $name', ({ dir }) => {
  const manifest = parseManifest(readFileSync(join(dir, 'action.yml'), 'utf8'));

  test('runs on node24 from the bundled dist/index.js', () => {
    expect(manifest.runs?.using).toBe('node24');
    expect(manifest.runs?.main).toBe('dist/index.js');
    if (manifest.runs?.post !== undefined) expect(manifest.runs.post).toBe('dist/index.js');
  });

  test('has a name, a description, and a description for every input and output', () => {
    expect(manifest.name?.trim().length ?? 0).toBeGreaterThan(0);
    expect(manifest.description?.trim().length ?? 0).toBeGreaterThan(0);
    const undocumented = [
      ...Object.entries(manifest.inputs ?? {})
        .filter(([, s]) => !s.description?.trim())
        .map(([n]) => `input ${n}`),
      ...Object.entries(manifest.outputs ?? {})
        .filter(([, s]) => !s.description?.trim())
        .map(([n]) => `output ${n}`),
    ];
    expect(undocumented).toEqual([]);
  });

  test('names inputs and outputs in kebab-case', () => {
    const names = [...Object.keys(manifest.inputs ?? {}), ...Object.keys(manifest.outputs ?? {})];
    expect(names.filter((n) => !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(n))).toEqual([]);
  });

  test('README tables match action.yml (run `pnpm run docs` when this fails)', () => {
    const readmePath = join(dir, 'README.md');
    const readme = readFileSync(readmePath, 'utf8');
    expect(readme).toBe(updateReadme(readme, manifest, readmePath));
  });
});

describe('README generation', () => {
  const manifest = parseManifest(
    'name: x\ndescription: d\ninputs:\n  a-b:\n    description: "pipe | and\\nnewline"\n    default: "1"\n    required: true\noutputs:\n  out:\n    description: o\n',
  );
  const readme =
    '# x\n<!-- digestline:inputs:start -->\nstale\n<!-- digestline:inputs:end -->\n<!-- digestline:outputs:start -->\n<!-- digestline:outputs:end -->\n';

  test('replaces a stale table and escapes cells', () => {
    const updated = updateReadme(readme, manifest);
    expect(updated).not.toContain('stale');
    expect(updated).toContain('| `a-b` | yes | `1` | pipe \\| and newline |');
    expect(updated).toContain('| `out` | o |');
    expect(updateReadme(updated, manifest)).toBe(updated);
  });

  test('refuses a README without markers and says which are missing', () => {
    expect(() => updateReadme('# no markers\n', manifest, 'actions/x/README.md')).toThrow(
      /actions\/x\/README.md needs the markers <!-- digestline:inputs:start -->/,
    );
  });
});
