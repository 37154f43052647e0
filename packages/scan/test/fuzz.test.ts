// Every report reader and the policy parser get 1,000 mutated inputs each, made by a seeded generator
// from real reports and policies: each must end in a result or a clear error (a ScanInputError that
// names the file), never in another exception, a hang over 5 s or an exhausted heap.
// FUZZ_SEED=<n> replays or explores another seed.
import { describe, expect, test } from '@jest/globals';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { corpusBytes } from '../../../test/harness/corpus.js';
import {
  damageBytes,
  deepText,
  fuzz,
  hugeString,
  mutateValue,
  oddValue,
  Random,
} from '../../../test/harness/fuzz.js';

const SEED = Number(process.env.FUZZ_SEED ?? 13_007);
const CASES = 1_000;
const TARGETS = new URL('./fuzz-targets.ts', import.meta.url).href;

/** A clear error: the scan package's own, about the input, saying which file, with nothing unfilled. */
const clear = (error: { code?: string; fault?: string; message: string }) =>
  error.code === 'SCAN_INPUT' &&
  error.fault === 'user' &&
  /fuzz\.json|policy\.yml/.test(error.message) &&
  !/\bNaN\b|\bundefined\b|\[object /.test(error.message);

const REPORTS = [
  'trivy/trivy-fs-npm.json',
  'trivy/trivy-image-alpine-310.json',
  'trivy/trivy-repo-secret-scan.json',
  'trivy/trivy-config-helm-misconfig.json',
  'grype/grype-image-presenter-golden.json',
  'grype/grype-dir-presenter-golden.json',
  'grype/grype-dir-msn-weather-wrapper.stdout-polluted.json',
  'npm-audit/npm-audit-v2-react-scripts.json',
  'npm-audit/pnpm-audit-react-scripts.json',
  'sarif/trivy-image-alpine-310.sarif',
  'sarif/trivy-config-terraform.sarif',
];

function reportInputs(random: Random): Buffer[] {
  const seeds = REPORTS.map((path) => {
    const bytes = corpusBytes(path);
    const text = bytes.toString('utf8');
    // The polluted Grype report has lines of warnings around its JSON: mutate the JSON part.
    const json = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));
    return { bytes, json };
  });
  return Array.from({ length: CASES }, () => {
    const seed = random.pick(seeds);
    const roll = random.next();
    if (roll < 0.65) {
      const text = JSON.stringify(mutateValue(seed.json, random));
      const bytes = Buffer.from(text);
      return random.chance(0.2) ? damageBytes(bytes, random) : bytes;
    }
    if (roll < 0.85) return damageBytes(seed.bytes, random);
    if (roll < 0.92) return Buffer.from(deepText(random));
    if (roll < 0.96) return Buffer.from(JSON.stringify(oddValue(random)) ?? '');
    return Buffer.from(random.chance(0.5) ? hugeString(random) : '');
  });
}

const POLICIES = [
  `kinds: [vulnerability, secret]
max-waiver-days: 200
budgets:
  medium: 50
  low: 0
waivers:
  - id: CVE-2024-0001
    package: libc6
    reason: not reachable
    expires: 2026-12-31
  - id: private-key
    target: app:1
    reason: test fixture
    expires: 2026-01-31
`,
  'waivers:\n  - {id: CVE-2024-0001, reason: r, expires: 2026-07-01}\n',
  'budgets: {critical: 1, high: 2}\n',
  '',
];

// YAML's own ways to be large or strange: aliases that multiply, merge keys, tags, tabs and flow nesting.
const YAML_SPECIALS = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nkinds: *g\n',
  'w: &w {id: A, reason: r, expires: 2026-07-01}\nwaivers: [*w, *w, {<<: *w, id: B}]\n',
  'waivers:\n  - &x {id: A, reason: r, expires: 2026-07-01, package: *x}\n',
  'kinds: !!binary aGVsbG8=\n',
  'budgets:\n  medium: !!float .inf\n',
  'max-waiver-days: 1e400\n',
  'waivers:\n\t- id: A\n',
  '? [a, b]\n: c\n',
  'budgets: {? [high]: 1}\n',
  '--- !!set\n? a\n',
  'waivers: !custom [1]\n',
  '%YAML 1.1\n---\nkinds: [yes, no]\n',
];

function policyInputs(random: Random): string[] {
  const seeds = POLICIES.map((text) => ({ text, value: parseYaml(text) as unknown }));
  return Array.from({ length: CASES }, () => {
    const seed = random.pick(seeds);
    const roll = random.next();
    if (roll < 0.6) {
      const mutated = mutateValue(seed.value ?? {}, random);
      // JSON is YAML too (flow style); block style only for small documents, whose indentation stays cheap.
      const json = JSON.stringify(mutated) ?? '';
      let text = json;
      if (json.length < 4_096 && random.chance(0.7)) {
        try {
          text = stringifyYaml(mutated, { aliasDuplicateObjects: false });
        } catch {
          // Nesting too deep for the YAML writer: the JSON form stays.
        }
      }
      return random.chance(0.2) ? damageBytes(Buffer.from(text), random).toString('utf8') : text;
    }
    if (roll < 0.8) return damageBytes(Buffer.from(seed.text), random).toString('utf8');
    if (roll < 0.9) return random.pick(YAML_SPECIALS);
    if (roll < 0.95) return `${random.pick(['kinds: ', 'waivers: ', 'budgets: ', ''])}${deepText(random)}`;
    return random.chance(0.5)
      ? hugeString(random)
      : `waivers:\n${'  - {id: A, reason: r, expires: 2026-07-01}\n'.repeat(random.pick([10, 20_000]))}`;
  });
}

const describeBytes = (bytes: Uint8Array) => {
  const text = Buffer.from(bytes).toString('utf8');
  return `${bytes.length} bytes: ${JSON.stringify(text.slice(0, 200))}`;
};

describe(`fuzz (seed ${SEED})`, () => {
  test('1,000 mutated reports: each ends in findings or a clear error', async () => {
    const failures = await fuzz({
      module: TARGETS,
      name: 'report',
      inputs: reportInputs(new Random(SEED)),
      describe: describeBytes,
      acceptError: clear,
    });
    expect(failures).toEqual([]);
  }, 120_000);

  test('1,000 mutated policies: each ends in a policy or a clear error', async () => {
    const failures = await fuzz({
      module: TARGETS,
      name: 'policy',
      inputs: policyInputs(new Random(SEED + 1)),
      describe: (text) => `${text.length} characters: ${JSON.stringify(text.slice(0, 200))}`,
      acceptError: clear,
    });
    expect(failures).toEqual([]);
  }, 120_000);
});
