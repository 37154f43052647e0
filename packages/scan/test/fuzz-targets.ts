// What the fuzz test runs in its worker: a report or a policy through the gate, as runGate takes it,
// up to the SARIF, so that a reader's result is also one the rest of the gate can use.
import {
  EMPTY_POLICY,
  evaluate,
  type Finding,
  mergeFindings,
  parsePolicy,
  readReport,
  writeSarif,
} from '../src/index.js';

const NOW = new Date('2026-06-15T12:00:00Z');

const SAMPLE: Finding[] = [
  {
    id: 'CVE-2024-0001',
    kind: 'vulnerability',
    severity: 'high',
    package: 'libc6',
    targets: ['app:1'],
    status: 'fixed',
    fixedVersion: '2',
    title: 'a vulnerability',
    tools: ['trivy'],
  },
  {
    id: 'private-key',
    kind: 'secret',
    severity: 'critical',
    targets: ['app:1'],
    location: { file: 'key.pem', line: 1 },
    status: 'affected',
    title: 'a key',
    tools: ['trivy'],
  },
];

export function report(bytes: Uint8Array): void {
  const { findings } = readReport(Buffer.from(bytes).toString('utf8'), 'fuzz.json');
  const result = evaluate(mergeFindings(findings), {
    threshold: 'high',
    ignoreUnfixed: false,
    policy: EMPTY_POLICY,
    now: NOW,
  });
  writeSarif(result.findings, { category: 'fuzz', dockerfile: 'Dockerfile', waived: result.waived });
}

export function policy(text: string): void {
  const parsed = parsePolicy(text, 'policy.yml', { now: NOW });
  const result = evaluate(SAMPLE, { threshold: 'high', ignoreUnfixed: true, policy: parsed, now: NOW });
  writeSarif(result.findings, { category: 'fuzz', dockerfile: 'Dockerfile', waived: result.waived });
}
