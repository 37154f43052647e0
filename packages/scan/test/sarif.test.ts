import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import {
  FINGERPRINT_KEY,
  type Finding,
  fingerprint,
  GITHUB_SARIF_LIMITS,
  mergeFindings,
  readReport,
  SARIF_TOOL_VERSION,
  type Severity,
  sarifLimitProblems,
  writeSarif,
  writeSarifFile,
} from '../src/index.js';
import { corpusText, repoRoot } from './corpus.js';

const CORPUS = [
  'trivy/trivy-image-alpine-310.json',
  'trivy/trivy-image-spring4shell-jre11.json',
  'trivy/trivy-fs-npm.json',
  'trivy/trivy-config-helm-misconfig.json',
  'trivy/trivy-repo-secret-scan.json',
  'trivy/trivy-image-juice-shop-LARGE.json',
  'trivy/trivy-repo-juice-shop-LARGE.json',
  'grype/grype-dir-msn-weather-wrapper.stdout-polluted.json',
  'grype/grype-image-presenter-golden.json',
  'grype/grype-dir-presenter-golden.json',
  'npm-audit/npm-audit-v2-react-scripts.json',
  'npm-audit/pnpm-audit-react-scripts.json',
  'sarif/trivy-image-alpine-310.sarif',
  'sarif/trivy-config-terraform.sarif',
];
const read = (path: string) => readReport(corpusText(path), path).findings;
const options = { category: 'scan-gate', dockerfile: 'Dockerfile' };

type Log = {
  runs: {
    automationDetails: { id: string };
    tool: {
      driver: {
        version?: string;
        semanticVersion?: string;
        rules: {
          id: string;
          fullDescription: { text: string };
          help: { text: string };
          properties: Record<string, unknown>;
        }[];
      };
    };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
      partialFingerprints: Record<string, string>;
      suppressions?: { kind: string; status?: string; justification?: string }[];
    }[];
  }[];
};

let validate: (log: unknown) => string[];

beforeAll(() => {
  const schema = JSON.parse(
    readFileSync(
      join(repoRoot, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'),
      'utf8',
    ),
  );
  // The schema is draft-04 and has a pattern that is invalid under the `u` flag. Both packages are
  // CommonJS with an `exports.default` that TypeScript's NodeNext view does not unwrap.
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
  (ajvFormats as unknown as typeof ajvFormats.default)(ajv);
  const check = ajv.compile(schema);
  validate = (log) =>
    check(log)
      ? []
      : (check.errors ?? []).map(
          (e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`,
        );
});

function finding(index: number, severity: Severity): Finding {
  return {
    id: `CVE-2024-${String(index).padStart(5, '0')}`,
    kind: 'vulnerability',
    severity,
    package: `pkg-${index}`,
    installedVersion: '1.0.0',
    fixedVersion: '1.0.1',
    targets: ['registry.example/app:1'],
    status: 'fixed',
    title: `a vulnerability in pkg-${index} that takes a while to describe`.repeat(2),
    tools: ['trivy'],
  };
}

describe('the SARIF we write', () => {
  test.each(CORPUS)('for %s validates against the SARIF 2.1.0 schema and GitHub limits', (path) => {
    const findings = read(path);
    const sarif = writeSarif(findings, options);
    const log = JSON.parse(sarif.text) as Log;
    expect(validate(log)).toEqual([]);
    expect(sarifLimitProblems(log)).toEqual([]);
    expect(log.runs[0]?.results).toHaveLength(findings.length);
    expect(JSON.parse(gunzipSync(sarif.gzipped).toString('utf8'))).toEqual(log);
  });

  test('all corpus reports merged into one run still validate', () => {
    const all = mergeFindings(CORPUS.flatMap(read));
    const log = JSON.parse(writeSarif(all, options).text) as Log;
    expect(validate(log)).toEqual([]);
    expect(log.runs).toHaveLength(1);
  });

  test('rules carry security-severity from CVSS, else from the severity, and help with the fixed version', () => {
    const log = JSON.parse(writeSarif(read('trivy/trivy-image-alpine-310.json'), options).text) as Log;
    const rule = log.runs[0]?.tool.driver.rules.find((r) => r.id === 'CVE-2019-1549');
    expect(rule?.properties['security-severity']).toBe('5.3');
    expect(rule?.help.text).toContain('libcrypto1.1: fixed in 1.1.1d-r0');
    const secrets = JSON.parse(writeSarif(read('trivy/trivy-repo-secret-scan.json'), options).text) as Log;
    expect(secrets.runs[0]?.tool.driver.rules[0]?.properties['security-severity']).toBe('9.5');
  });

  test('every rule has a full description GitHub requires, and the tool names its version', () => {
    const log = JSON.parse(writeSarif(read('trivy/trivy-image-alpine-310.json'), options).text) as Log;
    const driver = log.runs[0]?.tool.driver;
    expect(driver).toMatchObject({ version: SARIF_TOOL_VERSION, semanticVersion: SARIF_TOOL_VERSION });
    expect(driver?.rules.find((r) => r.id === 'CVE-2019-1549')?.fullDescription.text).toBe(
      'CVE-2019-1549 is a medium-severity vulnerability in libcrypto1.1 and libssl1.1, reported by trivy. openssl: information disclosure in fork(). Fixed in 1.1.1d-r0.',
    );
    const secrets = JSON.parse(writeSarif(read('trivy/trivy-repo-secret-scan.json'), options).text) as Log;
    expect(secrets.runs[0]?.tool.driver.rules[0]?.fullDescription.text).toBe(
      'github-pat is a critical-severity exposed secret in env, reported by trivy. GitHub Personal Access Token.',
    );
    const named = JSON.parse(writeSarif([], { ...options, toolVersion: 'dev-abc' }).text) as Log;
    expect(named.runs[0]?.tool.driver).toMatchObject({ version: 'dev-abc' });
    expect(named.runs[0]?.tool.driver.semanticVersion).toBeUndefined();
  });

  test('image findings point at the dockerfile input, line 1; repository findings at their file and line', () => {
    const image = JSON.parse(
      writeSarif(read('trivy/trivy-image-alpine-310.json'), { ...options, dockerfile: 'build/Dockerfile' })
        .text,
    ) as Log;
    expect(image.runs[0]?.results[0]?.locations[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: 'build/Dockerfile' },
      region: { startLine: 1 },
    });
    const secret = JSON.parse(writeSarif(read('trivy/trivy-repo-secret-scan.json'), options).text) as Log;
    expect(secret.runs[0]?.results[0]).toMatchObject({
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'env' }, region: { startLine: 5 } } }],
    });
  });

  test('the category becomes automationDetails.id', () => {
    const log = JSON.parse(writeSarif([], { ...options, category: 'container/api' }).text) as Log;
    expect(log.runs[0]?.automationDetails.id).toBe('container/api/');
  });

  test('the same finding gets the same fingerprint across runs, whatever the image tag', () => {
    const first = read('trivy/trivy-image-juice-shop-LARGE.json');
    const retagged = first.map((f) => ({ ...f, targets: ['bkimminich/juice-shop:v99'] }));
    const fingerprints = (findings: Finding[]) =>
      (JSON.parse(writeSarif(findings, options).text) as Log).runs[0]?.results.map(
        (r) => r.partialFingerprints[FINGERPRINT_KEY],
      );
    const a = fingerprints(first);
    expect(a).toEqual(fingerprints(retagged));
    expect(new Set(a).size).toBe(75);
  });

  test('waived findings stay as results with an external suppression whose justification is the reason', () => {
    const [waived, ...open] = read('trivy/trivy-image-alpine-310.json') as [Finding, ...Finding[]];
    const sarif = writeSarif(open, {
      ...options,
      waived: [{ finding: waived, waiver: { reason: 'not reachable: no TLS in this image' } }],
    });
    const log = JSON.parse(sarif.text) as Log;
    expect(validate(log)).toEqual([]);
    expect(sarif.results).toBe(open.length + 1);
    const results = log.runs[0]?.results ?? [];
    expect(results).toHaveLength(open.length + 1);
    expect(results.filter((r) => r.suppressions !== undefined)).toEqual([
      expect.objectContaining({
        ruleId: waived.id,
        partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(waived) },
        suppressions: [
          { kind: 'external', status: 'accepted', justification: 'not reachable: no TLS in this image' },
        ],
      }),
    ]);
  });

  test('when results must be cut, open results are kept before waived ones', () => {
    const limits = { ...GITHUB_SARIF_LIMITS, resultsPerRun: 20 };
    const open = Array.from({ length: 15 }, (_, i) => finding(i, 'low'));
    const waived = Array.from({ length: 10 }, (_, i) => ({
      finding: finding(100 + i, 'critical'),
      waiver: { reason: 'accepted risk' },
    }));
    const sarif = writeSarif(open, { ...options, limits, waived });
    const results = (JSON.parse(sarif.text) as Log).runs[0]?.results ?? [];
    expect(sarif.truncation).toEqual({ total: 25, kept: 20, reason: 'results' });
    expect(results.filter((r) => r.suppressions === undefined)).toHaveLength(15);
    expect(results.filter((r) => r.suppressions !== undefined)).toHaveLength(5);
  });

  test("GitHub's documented limits are the defaults", () => {
    expect(GITHUB_SARIF_LIMITS).toEqual({
      runs: 20,
      resultsPerRun: 25_000,
      storedResultsPerRun: 5_000,
      gzippedBytes: 10 * 1024 * 1024,
    });
  });

  test('above the results limit the most severe are kept and the cut is reported', () => {
    const limits = { ...GITHUB_SARIF_LIMITS, resultsPerRun: 250 };
    const severities: Severity[] = ['low', 'medium', 'high'];
    const findings = Array.from({ length: 260 }, (_, i) =>
      finding(i, i >= 250 ? 'critical' : (severities[i % 3] as Severity)),
    );
    const sarif = writeSarif(findings, { ...options, limits });
    const log = JSON.parse(sarif.text) as Log;
    expect(sarif.truncation).toEqual({ total: 260, kept: 250, reason: 'results' });
    expect(log.runs[0]?.results).toHaveLength(250);
    expect(log.runs[0]?.results.slice(0, 10).map((r) => r.ruleId)).toEqual(
      findings.slice(250).map((f) => f.id),
    );
    const kept = new Set(log.runs[0]?.results.map((r) => r.ruleId));
    const lows = findings.filter((f) => f.severity === 'low');
    expect(lows.filter((f) => kept.has(f.id))).toHaveLength(lows.length - 10);
    expect(log.runs[0]?.tool.driver.rules).toHaveLength(250);
    expect(validate(log)).toEqual([]);
  });

  test('no more results than GitHub stores of a run (5,000, of the 25,000 it accepts): the most severe', () => {
    const limits = { ...GITHUB_SARIF_LIMITS, storedResultsPerRun: 40 };
    const findings = Array.from({ length: 60 }, (_, i) => finding(i, i % 2 === 0 ? 'low' : 'high'));
    const sarif = writeSarif(findings, { ...options, limits });
    expect(sarif.truncation).toEqual({ total: 60, kept: 40, reason: 'results' });
    const levels = (JSON.parse(sarif.text) as Log).runs[0]?.results.map((r) => r.level);
    expect(levels?.filter((level) => level === 'error')).toHaveLength(30);
    expect(levels?.filter((level) => level === 'note')).toHaveLength(10);
  });

  test('above the gzipped size limit results are dropped, least severe first, until it fits', () => {
    const findings = Array.from({ length: 2_000 }, (_, i) => finding(i, i < 50 ? 'critical' : 'low'));
    const limit = 40_000;
    const sarif = writeSarif(findings, {
      ...options,
      limits: { ...GITHUB_SARIF_LIMITS, gzippedBytes: limit },
    });
    expect(sarif.gzipped.length).toBeLessThanOrEqual(limit);
    expect(sarif.truncation?.reason).toBe('size');
    expect(sarif.truncation?.kept).toBeLessThan(2_000);
    expect(sarif.truncation?.kept).toBeGreaterThan(50);
    const log = JSON.parse(sarif.text) as Log;
    expect(log.runs[0]?.results.slice(0, 50).every((r) => r.level === 'error')).toBe(true);
  });
});

describe('the SARIF file the gate writes as it goes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sarif-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const many = (count: number) =>
    Array.from({ length: count }, (_, i) =>
      finding(i, (['critical', 'high', 'medium', 'low'] as const)[i % 4] as Severity),
    );

  test('a large log is written compact, batch by batch, and holds exactly the log writeSarif makes', async () => {
    const findings = many(600);
    const path = join(dir, 'large.sarif');
    const written = await writeSarifFile(findings, { ...options, path });
    const text = readFileSync(path, 'utf8');
    expect(text.length).toBeGreaterThan(256 * 1024);
    expect(text).not.toContain('\n  ');
    const log = JSON.parse(text) as Log;
    expect(validate(log)).toEqual([]);
    expect(text).toBe(writeSarif(findings, options).text);
    expect(written).toEqual({ results: 600 });
    const levels = log.runs[0]?.results.map((r) => r.level) ?? [];
    expect(levels.indexOf('warning')).toBe(300);
    expect(levels.lastIndexOf('error')).toBe(299);
  });

  test('a small log is indented for people who open it', async () => {
    const path = join(dir, 'small.sarif');
    await writeSarifFile(read('trivy/trivy-image-alpine-310.json'), { ...options, path });
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^\{\n {2}"\$schema": /);
    expect(text).toBe(writeSarif(read('trivy/trivy-image-alpine-310.json'), options).text);
  });

  test('gzipped to upload it: the gzip holds the file byte for byte', async () => {
    for (const [name, findings] of [
      ['small', read('trivy/trivy-fs-npm.json')],
      ['large', many(600)],
    ] as const) {
      const path = join(dir, `${name}-upload.sarif`);
      const written = await writeSarifFile(findings, { ...options, path, gzip: true });
      expect(gunzipSync(written.gzipped as Buffer).equals(readFileSync(path))).toBe(true);
    }
  });

  test('above the gzipped size limit results are dropped, least severe first, until the file fits', async () => {
    const findings = many(600);
    const limit = 20_000;
    const path = join(dir, 'cut.sarif');
    const written = await writeSarifFile(findings, {
      ...options,
      path,
      limits: { ...GITHUB_SARIF_LIMITS, gzippedBytes: limit },
    });
    expect(written.truncation?.reason).toBe('size');
    expect(gzipSync(readFileSync(path), { level: 1 }).length).toBeLessThanOrEqual(limit);
    const log = JSON.parse(readFileSync(path, 'utf8')) as Log;
    expect(log.runs[0]?.results).toHaveLength(written.results);
    expect(log.runs[0]?.results.at(-1)?.level).not.toBe('note');
    expect(validate(log)).toEqual([]);
  });
});

describe('SARIF limits of any log', () => {
  test('the corpus SARIF files validate against the schema and are within the limits', () => {
    for (const path of ['sarif/trivy-image-alpine-310.sarif', 'sarif/trivy-config-terraform.sarif']) {
      const log = JSON.parse(corpusText(path));
      expect(validate(log)).toEqual([]);
      expect(sarifLimitProblems(log)).toEqual([]);
    }
  });

  test('more than 20 runs, two runs in one category and too many results are reported', () => {
    const run = (id: string, results = 0) => ({
      tool: { driver: { name: 'Trivy' } },
      automationDetails: { id },
      results: Array(results).fill({}),
    });
    expect(sarifLimitProblems({ runs: Array.from({ length: 21 }, (_, i) => run(`c${i}/`)) })).toEqual([
      '21 runs, GitHub accepts at most 20',
    ]);
    expect(sarifLimitProblems({ runs: [run('a/'), run('a/')] })).toEqual([
      'two runs of Trivy share the category "a/"',
    ]);
    expect(
      sarifLimitProblems({ runs: [run('a/', 3)] }, { ...GITHUB_SARIF_LIMITS, resultsPerRun: 2 }),
    ).toEqual(['a run has 3 results, GitHub accepts at most 2']);
  });
});
