import { describe, expect, test } from '@jest/globals';
import { countBySeverity, type Finding, mergeFindings, readReport, ScanInputError } from '../src/index.js';
import { corpusText } from './corpus.js';

const read = (path: string) => readReport(corpusText(path), path);
const kinds = (findings: Finding[]) =>
  findings.reduce<Record<string, number>>((acc, f) => {
    acc[f.kind] = (acc[f.kind] ?? 0) + 1;
    return acc;
  }, {});
const counts = (findings: Finding[]) => {
  const all = countBySeverity(findings);
  return Object.fromEntries(Object.entries(all).filter(([, n]) => n > 0));
};

describe('every corpus report is read with the counts its tool reported', () => {
  test.each([
    ['trivy/trivy-image-alpine-310.json', 'trivy', { vulnerability: 4 }, { medium: 4 }],
    ['trivy/trivy-image-spring4shell-jre11.json', 'trivy', { vulnerability: 1 }, { critical: 1 }],
    ['trivy/trivy-fs-npm.json', 'trivy', { vulnerability: 1 }, { medium: 1 }],
    [
      'trivy/trivy-config-helm-misconfig.json',
      'trivy',
      { misconfiguration: 18 },
      { high: 3, medium: 4, low: 11 },
    ],
    ['trivy/trivy-repo-secret-scan.json', 'trivy', { secret: 1 }, { critical: 1 }],
    [
      'trivy/trivy-image-juice-shop-LARGE.json',
      'trivy',
      { vulnerability: 71, secret: 4 },
      { critical: 8, high: 25, medium: 26, low: 16 },
    ],
    [
      'trivy/trivy-repo-juice-shop-LARGE.json',
      'trivy',
      { vulnerability: 79 },
      { critical: 9, high: 41, medium: 23, low: 6 },
    ],
    [
      'grype/grype-dir-msn-weather-wrapper.stdout-polluted.json',
      'grype',
      { vulnerability: 23 },
      { high: 10, medium: 12, low: 1 },
    ],
    ['grype/grype-image-presenter-golden.json', 'grype', { vulnerability: 2 }, { critical: 1, low: 1 }],
    ['grype/grype-dir-presenter-golden.json', 'grype', { vulnerability: 2 }, { critical: 1, low: 1 }],
    [
      'npm-audit/npm-audit-v2-react-scripts.json',
      'npm-audit',
      { vulnerability: 32 },
      { critical: 9, high: 20, medium: 2, low: 1 },
    ],
    [
      'npm-audit/pnpm-audit-react-scripts.json',
      'npm-audit-legacy',
      { vulnerability: 19 },
      { critical: 4, high: 9, medium: 4, low: 2 },
    ],
    ['sarif/trivy-image-alpine-310.sarif', 'sarif', { vulnerability: 4 }, { medium: 4 }],
    ['sarif/trivy-config-terraform.sarif', 'sarif', { misconfiguration: 8 }, { high: 5, medium: 1, low: 2 }],
  ])('%s → %s', (path, format, expectedKinds, expectedCounts) => {
    const report = read(path);
    expect(report.format).toBe(format);
    expect(kinds(report.findings)).toEqual(expectedKinds);
    expect(counts(report.findings)).toEqual(expectedCounts);
    // Nothing in the corpus is a duplicate of something else in the same report.
    expect(mergeFindings(report.findings)).toHaveLength(report.findings.length);
  });
});

describe('Trivy', () => {
  test('image findings name the image and carry package, versions, purl, status and the CVSS of the rating source', () => {
    const [first] = read('trivy/trivy-image-alpine-310.json').findings;
    expect(first).toEqual({
      id: 'CVE-2019-1549',
      kind: 'vulnerability',
      severity: 'medium',
      package: 'libcrypto1.1',
      installedVersion: '1.1.1c-r0',
      fixedVersion: '1.1.1d-r0',
      purl: 'pkg:apk/alpine/libcrypto1.1@1.1.1c-r0?arch=x86_64&distro=3.10.2',
      targets: ['testdata/fixtures/images/alpine-310.tar.gz'],
      location: undefined,
      status: 'fixed',
      title: 'openssl: information disclosure in fork()',
      cvss: 5.3,
      tools: ['trivy'],
    });
  });

  test('statuses are kept: 53 fixed and 18 affected vulnerabilities in the juice-shop image', () => {
    const vulnerabilities = read('trivy/trivy-image-juice-shop-LARGE.json').findings.filter(
      (f) => f.kind === 'vulnerability',
    );
    expect(vulnerabilities.filter((f) => f.status === 'fixed')).toHaveLength(53);
    expect(vulnerabilities.filter((f) => f.status === 'affected')).toHaveLength(18);
  });

  test('secrets found inside an image get no repository location', () => {
    const secrets = read('trivy/trivy-image-juice-shop-LARGE.json').findings.filter(
      (f) => f.kind === 'secret',
    );
    expect(secrets.map((f) => f.location)).toEqual([undefined, undefined, undefined, undefined]);
    expect(secrets[0]).toMatchObject({
      targets: ['bkimminich/juice-shop'],
      artifactPath: '/juice-shop/build/lib/insecurity.js',
    });
  });

  test('a repository scan points secrets and misconfigurations at their file and line', () => {
    expect(read('trivy/trivy-repo-secret-scan.json').findings[0]).toMatchObject({
      id: 'github-pat',
      location: { file: 'env', line: 5, endLine: 5 },
    });
    expect(read('trivy/trivy-config-helm-misconfig.json').findings[0]).toMatchObject({
      id: 'KSV-0001',
      location: { file: 'testchart.tar.gz:templates/pod.yaml', line: 19, endLine: 22 },
    });
  });

  test('the same CVE in two lockfiles stays two findings', () => {
    const findings = read('trivy/trivy-repo-juice-shop-LARGE.json').findings.filter(
      (f) => f.id === 'CVE-2024-37890',
    );
    expect(findings.map((f) => f.location?.file).sort()).toEqual([
      'frontend/package-lock.json',
      'package-lock.json',
    ]);
  });
});

describe('Grype', () => {
  test('log lines before and after the JSON are skipped', () => {
    const findings = read('grype/grype-dir-msn-weather-wrapper.stdout-polluted.json').findings;
    expect(findings[0]).toMatchObject({
      id: 'CVE-2025-61723',
      severity: 'high',
      package: 'stdlib',
      installedVersion: 'go1.23.12',
      purl: 'pkg:golang/stdlib@1.23.12',
      location: { file: 'frontend/node_modules/@esbuild/linux-x64/bin/esbuild' },
      status: 'fixed',
      tools: ['grype'],
    });
    expect(findings.every((f) => f.fixedVersion !== undefined)).toBe(true);
  });

  test('an image source names the image; fix state and CVSS are mapped', () => {
    const [low, critical] = read('grype/grype-image-presenter-golden.json').findings;
    expect(low).toMatchObject({
      targets: ['user-input'],
      location: undefined,
      fixedVersion: '1.2.1',
      cvss: 8.2,
    });
    expect(critical).toMatchObject({
      status: 'unknown',
      fixedVersion: undefined,
      purl: 'pkg:deb/package-2@2.2.2',
    });
  });
});

describe('npm and pnpm audit', () => {
  test('npm audit v2 names the advisory; a package vulnerable through a dependency inherits its worst advisory', () => {
    const findings = read('npm-audit/npm-audit-v2-react-scripts.json').findings;
    expect(findings.find((f) => f.package === 'ansi-html')).toMatchObject({
      id: 'GHSA-whgm-jr23-g3j9',
      severity: 'high',
      cvss: 7.5,
    });
    expect(findings.find((f) => f.package === '@pmmmwh/react-refresh-webpack-plugin')).toMatchObject({
      id: 'GHSA-whgm-jr23-g3j9',
      title: expect.stringContaining('(through ansi-html)'),
    });
    expect(findings.filter((f) => f.id.startsWith('npm:'))).toEqual([]);
  });

  test('pnpm audit (the legacy v6 shape) gives one finding per advisory with the versions found', () => {
    const forge = read('npm-audit/pnpm-audit-react-scripts.json').findings.find(
      (f) => f.id === 'GHSA-5rrq-pxf6-6jx5',
    );
    expect(forge).toMatchObject({
      package: 'node-forge',
      installedVersion: '0.10.0',
      fixedVersion: '>=1.0.0',
      severity: 'low',
      cvss: undefined,
      location: { file: 'pnpm-lock.yaml' },
    });
  });
});

describe('SARIF', () => {
  test('severity comes from security-severity and the package from Trivy-style messages', () => {
    const [first] = read('sarif/trivy-image-alpine-310.sarif').findings;
    expect(first).toMatchObject({
      id: 'CVE-2019-1549',
      severity: 'medium',
      package: 'libcrypto1.1',
      installedVersion: '1.1.1c-r0',
      fixedVersion: '1.1.1d-r0',
      cvss: 5.3,
      tools: ['trivy'],
    });
  });

  test('a result location becomes the finding location', () => {
    expect(read('sarif/trivy-config-terraform.sarif').findings[0]).toMatchObject({
      id: 'AWS-0086',
      severity: 'high',
      location: { file: 'main.tf', line: 8, endLine: 10 },
    });
  });

  test('without security-severity the level decides', () => {
    const log = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'Semgrep' } },
          results: [
            { ruleId: 'a', level: 'error', message: { text: 'x' } },
            { ruleId: 'b', level: 'note', message: { text: 'y' } },
            { ruleId: 'c', message: { text: 'z' } },
          ],
        },
      ],
    };
    const findings = readReport(JSON.stringify(log), 'semgrep.sarif').findings;
    expect(findings.map((f) => [f.id, f.severity, f.tools[0]])).toEqual([
      ['a', 'high', 'semgrep'],
      ['b', 'low', 'semgrep'],
      ['c', 'medium', 'semgrep'],
    ]);
  });
});

describe('merging', () => {
  test('the same report read twice counts once', () => {
    const { findings } = read('trivy/trivy-repo-juice-shop-LARGE.json');
    expect(mergeFindings([...findings, ...structuredClone(findings)])).toHaveLength(79);
  });

  test('the same vulnerability from Trivy and Grype merges: tools and targets joined, the higher rating and known facts kept', () => {
    const base: Finding = {
      id: 'CVE-2024-0001',
      kind: 'vulnerability',
      severity: 'medium',
      package: 'openssl',
      installedVersion: '3.0.1',
      targets: ['app:1.0'],
      status: 'unknown',
      title: 'openssl bug',
      tools: ['grype'],
    };
    const merged = mergeFindings([
      base,
      {
        ...base,
        severity: 'high',
        fixedVersion: '3.0.2',
        status: 'fixed',
        cvss: 7.4,
        targets: ['app:1.0 (debian 12)'],
        tools: ['trivy'],
      },
      { ...base, installedVersion: '1.1.1' },
    ]);
    expect(merged).toHaveLength(2);
    expect(merged[0]).toMatchObject({
      severity: 'high',
      fixedVersion: '3.0.2',
      status: 'fixed',
      cvss: 7.4,
      targets: ['app:1.0', 'app:1.0 (debian 12)'],
      tools: ['grype', 'trivy'],
    });
  });
});

describe('bad input', () => {
  const failure = (text: string, file = 'report.json') => {
    try {
      readReport(text, file);
    } catch (error) {
      expect(error).toBeInstanceOf(ScanInputError);
      return (error as Error).message;
    }
    throw new Error('expected the report to be refused');
  };

  test('an empty file', () => {
    expect(failure('  \n', 'trivy.json')).toMatch(/^trivy\.json is empty/);
  });

  test('truncated JSON names the file, the line and the column', () => {
    const text = corpusText('trivy/trivy-image-alpine-310.json');
    const cut = text.slice(0, 5000);
    const lines = cut.split('\n');
    const message = failure(cut, 'trivy.json');
    expect(message).toContain(
      `trivy.json is not valid JSON at line ${lines.length}, column ${(lines.at(-1) as string).length + 1} (the file looks truncated)`,
    );
  });

  test('a syntax error in the middle reports its position', () => {
    expect(failure('{\n  "SchemaVersion": 2,\n  "Results": [}\n}')).toMatch(/line 3, column 15/);
  });

  test('JSON from an unknown tool names the keys it found', () => {
    expect(failure('{"issues": [], "tool": "snyk"}', 'snyk.json')).toMatch(
      /^snyk\.json is not a report scan-gate can read: it holds an object with the keys issues, tool/,
    );
    expect(failure('[1, 2]')).toMatch(/a JSON array/);
  });

  test('SARIF 1.0 is refused with the version it has', () => {
    const sarif1 = JSON.stringify({ version: '1.0.0', runs: [{ tool: { name: 'old' }, results: [] }] });
    expect(failure(sarif1, 'old.sarif')).toMatch(/old\.sarif is SARIF version "1\.0\.0"; only SARIF 2\.1\.0/);
  });

  test('a Trivy report of an old schema is refused', () => {
    expect(failure('{"SchemaVersion": 1, "Results": []}')).toMatch(/SchemaVersion 1; only SchemaVersion 2/);
  });

  test('a field of the wrong type is refused with its path, in every format', () => {
    const trivy = JSON.parse(corpusText('trivy/trivy-image-alpine-310.json'));
    trivy.Results[0].Vulnerabilities[2].PkgName = 5;
    expect(failure(JSON.stringify(trivy), 'trivy.json')).toBe(
      "trivy.json does not read as a Trivy report: `Results[0].Vulnerabilities[2].PkgName` is a number, not a string. Pass the scanner's own JSON output, unchanged.",
    );
    const grype = JSON.parse(corpusText('grype/grype-image-presenter-golden.json'));
    grype.matches[1].artifact = 'libc';
    expect(failure(JSON.stringify(grype))).toMatch(/`matches\[1\]\.artifact` is a string, not an object/);
    const npm = JSON.parse(corpusText('npm-audit/npm-audit-v2-react-scripts.json'));
    npm.vulnerabilities['ansi-html'].via = {};
    expect(failure(JSON.stringify(npm))).toMatch(
      /`vulnerabilities\.ansi-html\.via` is an object, not a list/,
    );
    const pnpm = JSON.parse(corpusText('npm-audit/pnpm-audit-react-scripts.json'));
    const [advisory] = Object.keys(pnpm.advisories);
    pnpm.advisories[advisory as string].findings = 'many';
    expect(failure(JSON.stringify(pnpm))).toMatch(
      /`advisories\["?\d+"?\]\.findings` is a string, not a list/,
    );
    const sarif = JSON.parse(corpusText('sarif/trivy-config-terraform.sarif'));
    sarif.runs[0].tool.driver.rules[0].properties.tags = [1];
    expect(failure(JSON.stringify(sarif))).toMatch(
      /`runs\[0\]\.tool\.driver\.rules\[0\]\.properties\.tags\[0\]` is a number, not a string/,
    );
    expect(failure('{"SchemaVersion": 2, "Results": [{"Vulnerabilities": []}]}')).toMatch(
      /`Results\[0\]\.Target` is missing/,
    );
  });

  test('null where a tool writes nothing reads as absent', () => {
    const npm = JSON.parse(corpusText('npm-audit/npm-audit-v2-react-scripts.json'));
    for (const entry of Object.values(npm.vulnerabilities) as { fixAvailable: unknown }[])
      entry.fixAvailable = null;
    const findings = readReport(JSON.stringify(npm), 'npm.json').findings;
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.status === 'affected' && f.fixedVersion === undefined)).toBe(true);
    const trivy = readReport(
      '{"SchemaVersion": 2, "Results": [{"Target": "app", "Misconfigurations": [{"ID": "KSV001", "Status": null}]}]}',
      'trivy.json',
    ).findings;
    expect(trivy.map((f) => f.id)).toEqual(['KSV001']);
  });

  test('invalid JSON nested 100,000 deep still names its line and column', () => {
    expect(failure('['.repeat(100_000), 'deep.json')).toMatch(
      /^deep\.json is not valid JSON at line 1, column 100001 \(the file looks truncated\)/,
    );
  });
});
