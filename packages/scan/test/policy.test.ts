import { describe, expect, test } from '@jest/globals';
import {
  EMPTY_POLICY,
  evaluate,
  type Finding,
  type Policy,
  parsePolicy,
  readReport,
  ScanInputError,
} from '../src/index.js';
import { corpusText } from './corpus.js';

const juiceShop = readReport(
  corpusText('trivy/trivy-image-juice-shop-LARGE.json'),
  'juice-shop.json',
).findings;
const NOW = new Date('2026-06-15T12:00:00Z');
const gate = (findings: Finding[], overrides: Partial<Parameters<typeof evaluate>[1]> = {}) =>
  evaluate(findings, {
    threshold: 'high',
    ignoreUnfixed: false,
    policy: EMPTY_POLICY,
    now: NOW,
    ...overrides,
  });

const policyError = (text: string) => {
  try {
    parsePolicy(text, '.github/scan-policy.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScanInputError);
    return (error as Error).message;
  }
  throw new Error('expected the policy to be refused');
};

describe('gate decisions', () => {
  test('by default everything high or critical blocks: 8 critical + 23 high vulnerabilities + 2 high secrets', () => {
    const result = gate(juiceShop);
    expect(result.blocking).toHaveLength(33);
    expect(result.passed).toBe(false);
    expect(result.counts).toEqual({ critical: 8, high: 25, medium: 26, low: 16, unknown: 0 });
    expect(result.blocking[0]?.severity).toBe('critical');
  });

  test('a critical threshold blocks only the critical ones', () => {
    expect(gate(juiceShop, { threshold: 'critical' }).blocking).toHaveLength(8);
  });

  test('a report with only medium findings passes the default gate', () => {
    const alpine = readReport(corpusText('trivy/trivy-image-alpine-310.json'), 'alpine.json').findings;
    const result = gate(alpine);
    expect(result.passed).toBe(true);
    expect(result.blocking).toEqual([]);
    expect(gate(alpine, { threshold: 'medium' }).passed).toBe(false);
  });

  test('ignore-unfixed leaves out the 18 vulnerabilities without a fix, but never secrets', () => {
    const result = gate(juiceShop, { ignoreUnfixed: true });
    expect(result.ignoredUnfixed).toBe(18);
    expect(result.findings).toHaveLength(75 - 18);
    expect(result.findings.filter((f) => f.kind === 'secret')).toHaveLength(4);
    expect(result.blocking.every((f) => f.kind === 'secret' || f.status === 'fixed')).toBe(true);
  });

  test('kinds in the policy decide what is judged at all', () => {
    const policy: Policy = { ...EMPTY_POLICY, kinds: ['secret'] };
    const result = gate(juiceShop, { policy });
    expect(result.excludedByKind).toBe(71);
    expect(result.blocking.map((f) => f.id)).toEqual(['private-key', 'private-key']);
  });

  test('a budget tolerates findings up to its count and blocks all of them beyond it', () => {
    const within = gate(juiceShop, {
      threshold: 'critical',
      policy: { ...EMPTY_POLICY, budgets: { medium: 50 } },
    });
    expect(within.blocking).toHaveLength(8);
    expect(within.budgets).toEqual([
      { severity: 'medium', limit: 50, count: 26, exceeded: false, tolerated: 0 },
    ]);
    const over = gate(juiceShop, {
      threshold: 'critical',
      policy: { ...EMPTY_POLICY, budgets: { medium: 20 } },
    });
    expect(over.blocking).toHaveLength(8 + 26);
    expect(over.budgets[0]?.exceeded).toBe(true);
  });

  test('a budget at or above the threshold allows that many instead of none', () => {
    const result = gate(juiceShop, { policy: { ...EMPTY_POLICY, budgets: { high: 25 } } });
    expect(result.blocking.map((f) => f.severity)).toEqual(Array(8).fill('critical'));
  });

  test('a budget never silently unblocks: what it lets pass at or above the threshold is listed', () => {
    const policy = parsePolicy('budgets:\n  critical: 8\n  high: 30\n  medium: 50\n', 'p.yml', { now: NOW });
    const result = gate(juiceShop, { policy });
    expect(result.passed).toBe(true);
    expect(result.tolerated).toHaveLength(8 + 25);
    expect(new Set(result.tolerated.map((f) => f.severity))).toEqual(new Set(['critical', 'high']));
    expect(result.budgets).toEqual([
      { severity: 'critical', limit: 8, count: 8, exceeded: false, tolerated: 8, line: 2 },
      { severity: 'high', limit: 30, count: 25, exceeded: false, tolerated: 25, line: 3 },
      { severity: 'medium', limit: 50, count: 26, exceeded: false, tolerated: 0, line: 4 },
    ]);
  });

  test('an exceeded budget tolerates nothing', () => {
    const result = gate(juiceShop, { policy: { ...EMPTY_POLICY, budgets: { critical: 7 } } });
    expect(result.tolerated).toEqual([]);
    expect(result.blocking).toHaveLength(33);
  });
});

describe('waivers', () => {
  const policyText = `
waivers:
  - id: CVE-2025-4802
    package: libc6
    reason: not reachable, no setuid binaries in the image
    expires: 2026-12-31
  - id: private-key
    target: bkimminich/juice-shop
    reason: test fixtures
    expires: 2026-01-31
  - id: cve-2023-45853
    package: not-this-package
    reason: wrong package on purpose
    expires: 2027-01-01
`;

  test('a waiver may expire at most max-waiver-days (365 by default) ahead; beyond that it is refused, naming the dates', () => {
    const text = (expires: string, extra = '') =>
      `${extra}waivers:\n  - id: CVE-2025-4802\n    reason: r\n    expires: ${expires}\n`;
    expect(parsePolicy(text('2027-06-15'), 'p.yml', { now: NOW }).waivers).toHaveLength(1);
    expect(() => parsePolicy(text('2027-06-16'), 'p.yml', { now: NOW })).toThrow(
      'p.yml:2: waiver 1 (CVE-2025-4802) expires on 2027-06-16, more than 365 days ahead (`max-waiver-days`); set `expires` to 2027-06-15 or earlier and renew the waiver when it is reviewed again.',
    );
    expect(() => parsePolicy(text('2999-12-31'), 'p.yml', { now: NOW })).toThrow(/2999-12-31/);
    const short = 'max-waiver-days: 30\n';
    expect(parsePolicy(text('2026-07-15', short), 'p.yml', { now: NOW })).toMatchObject({
      maxWaiverDays: 30,
    });
    expect(() => parsePolicy(text('2026-07-16', short), 'p.yml', { now: NOW })).toThrow(
      /expires on 2026-07-16, more than 30 days ahead .* set `expires` to 2026-07-15 or earlier/,
    );
  });

  test('max-waiver-days must be a whole number of days from 1', () => {
    for (const value of ['0', '-5', '1.5', 'forever', '[]']) {
      expect(policyError(`max-waiver-days: ${value}\n`)).toMatch(
        /^\.github\/scan-policy\.yml:1: `max-waiver-days` must be a whole number of days of at least 1/,
      );
    }
  });

  test('max-waiver-days is at most ten years', () => {
    expect(policyError('max-waiver-days: 9007199254740992\n')).toMatch(/at least 1 and at most 3650/);
  });

  test('a policy file over 64 KiB is refused before it is parsed', () => {
    const waiver = '  - {id: CVE-2024-0001, reason: accepted for now, expires: 2026-07-01}\n';
    const text = `waivers:\n${waiver.repeat(1_000)}`;
    expect(policyError(text)).toBe(
      `.github/scan-policy.yml is ${text.length} bytes; a policy file may hold at most 65536 (64 KiB): check that \`policy\` names the policy and not another file.`,
    );
  });

  test('values that are not plain text are named by what they are', () => {
    expect(policyError('waivers:\n  - {id: [A], reason: r, expires: 2026-07-01}\n')).toBe(
      '.github/scan-policy.yml:2: waiver 1 has `id` set to a list; write it as plain text.',
    );
    expect(policyError('waivers:\n  - {id: A, reason: r, expires: {y: 2026}}\n')).toMatch(
      /waiver 1 has `expires` set to a mapping; write it as plain text\./,
    );
    expect(policyError('budgets:\n  high: [1]\n')).toMatch(/the budget for `high` must be .*; got a list\./);
    expect(policyError('budgets:\n  ? [high]\n  : 1\n')).toMatch(/unknown severity a list in `budgets`/);
    expect(policyError('kinds: {a: 1}\n')).toMatch(/`kinds` must be a list of .*; got a mapping\./);
  });

  test('an alias cannot multiply a waiver', () => {
    expect(policyError('r: &r [a, b]\nwaivers:\n  - {id: A, reason: *r, expires: 2026-07-01}\n')).toMatch(
      /unknown key `r`/,
    );
    expect(
      policyError('waivers:\n  - {id: A, reason: &r [a, a, a], expires: 2026-07-01, package: *r}\n'),
    ).toMatch(/waiver 1 has `reason` set to a list/);
  });

  test('a date that does not exist is refused', () => {
    expect(policyError('waivers:\n  - {id: A, reason: r, expires: 2026-02-30}\n')).toMatch(
      /has `expires: 2026-02-30`; write the date as YYYY-MM-DD/,
    );
  });

  test('an active waiver removes its finding; an expired one no longer applies and is reported with its date', () => {
    const policy = parsePolicy(policyText, 'policy.yml', { now: NOW });
    const result = gate(juiceShop, { policy });
    expect(result.waived.map(({ finding, waiver }) => [finding.id, finding.package, waiver.line])).toEqual([
      ['CVE-2025-4802', 'libc6', 3],
    ]);
    expect(result.expiredWaivers).toEqual([
      {
        id: 'private-key',
        package: undefined,
        target: 'bkimminich/juice-shop',
        reason: 'test fixtures',
        expires: '2026-01-31',
        line: 7,
      },
    ]);
    expect(result.blocking).toHaveLength(33 - 1);
    expect(result.blocking.filter((f) => f.id === 'private-key')).toHaveLength(2);
  });

  test('a waiver holds through the whole day it expires', () => {
    const policy = parsePolicy(policyText, 'policy.yml', { now: NOW });
    const lastDay = gate(juiceShop, { policy, now: new Date('2026-01-31T23:59:00Z') });
    expect(lastDay.expiredWaivers).toEqual([]);
    expect(lastDay.waived.filter((w) => w.finding.id === 'private-key')).toHaveLength(2);
  });

  test('a waiver for one package leaves the same CVE in another package blocking', () => {
    const policy = parsePolicy(policyText, 'policy.yml', { now: NOW });
    const result = gate(juiceShop, { policy });
    expect(result.waived.some((w) => w.finding.id === 'CVE-2023-45853')).toBe(false);
  });
});

describe('policy file', () => {
  test('an empty file is the default policy', () => {
    expect(parsePolicy('', 'p.yml')).toEqual({ ...EMPTY_POLICY, file: 'p.yml' });
  });

  test('budgets and kinds are read', () => {
    expect(parsePolicy('budgets:\n  medium: 50\n  low: 0\nkinds: [vulnerability]\n', 'p.yml')).toMatchObject({
      budgets: { medium: 50, low: 0 },
      kinds: ['vulnerability'],
    });
  });

  test('invalid YAML names the line', () => {
    expect(policyError('waivers:\n  - id: CVE-1\n    reason: "unclosed\n')).toMatch(
      /^\.github\/scan-policy\.yml:\d+: invalid YAML at line \d+/,
    );
    expect(policyError('budgets:\n  medium: 1\n  low: a: b\n')).toMatch(
      /:3: invalid YAML at line 3: Nested mappings/,
    );
    expect(policyError('budgets:\n  medium: 1\n  medium: 2\n')).toMatch(
      /:3: invalid YAML at line 3: Map keys must be unique/,
    );
  });

  test('a waiver without reason is refused, naming it and its line', () => {
    expect(policyError('waivers:\n  - id: CVE-2024-1\n    expires: 2026-01-01\n')).toBe(
      '.github/scan-policy.yml:2: waiver 1 (CVE-2024-1) has no `reason`; every waiver must say why the finding is accepted.',
    );
  });

  test('a waiver without expires is refused', () => {
    expect(
      policyError(
        'waivers:\n  - id: CVE-2024-1\n    reason: ok\n    expires: 2026-01-01\n  - id: CVE-2024-2\n    reason: ok\n',
      ),
    ).toBe(
      '.github/scan-policy.yml:5: waiver 2 (CVE-2024-2) has no `expires`; set a date such as 2026-12-31 so the waiver is reviewed.',
    );
  });

  test('a malformed date, an unknown key and a bad budget are refused', () => {
    expect(policyError('waivers:\n  - {id: A, reason: r, expires: 31/12/2026}\n')).toMatch(
      /write the date as YYYY-MM-DD/,
    );
    expect(policyError('waivers:\n  - {id: A, reason: r, expires: 2026-01-01, until: x}\n')).toMatch(
      /unknown key `until`/,
    );
    expect(policyError('waiver:\n  - id: A\n')).toMatch(/:1: unknown key `waiver`/);
    expect(policyError('budgets:\n  medium: lots\n')).toMatch(/budget for `medium` must be a whole number/);
    expect(policyError('budgets:\n  severe: 1\n')).toMatch(/unknown severity `severe`/);
    expect(policyError('kinds: [vulns]\n')).toMatch(
      /`kinds` must be a list of vulnerability, misconfiguration, secret/,
    );
  });

  test('Trivy settings files are named as paths in the workspace', () => {
    expect(
      parsePolicy(
        'trivy:\n  config: .github/trivy.yaml\n  ignorefile: .trivyignore\n  secret-config: s.yaml\n',
        'p.yml',
      ).trivy,
    ).toEqual({ config: '.github/trivy.yaml', ignoreFile: '.trivyignore', secretConfig: 's.yaml' });
    expect(policyError('trivy:\n  ignorefile: /etc/trivyignore\n')).toMatch(
      /:2: `trivy\.ignorefile` must be a path inside the workspace such as `\.github\/trivy\.yaml`; got "\/etc\/trivyignore"\./,
    );
    expect(policyError('trivy:\n  config: ../outside.yaml\n')).toMatch(/must be a path inside the workspace/);
    expect(policyError('trivy:\n  vex: a.json\n')).toMatch(/unknown key `vex` in `trivy`/);
    expect(policyError('trivy: .trivyignore\n')).toMatch(
      /`trivy` must map `config`, `ignorefile`, `secret-config`/,
    );
  });

  test('an empty `kinds` would judge nothing and is refused', () => {
    expect(policyError('kinds: []\n')).toBe(
      '.github/scan-policy.yml:1: `kinds: []` leaves nothing for the gate to judge; list the kinds to judge (vulnerability, misconfiguration, secret) or remove `kinds` to judge all of them.',
    );
  });
});
