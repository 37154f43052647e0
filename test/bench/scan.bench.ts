// scan-gate on a generated Trivy report with 100,000 vulnerabilities: the whole gate (read, merge,
// policy, SARIF written and gzipped) against JSON.parse of the same file alone, and peak RSS. Each
// measurement runs in its own Node 24 child, so the RSS peak belongs to that work alone
// (process.resourceUsage().maxRSS; /usr/bin/time is not installed here).
import { spawnSync } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeTempDir, node24, repoRoot } from '@digestline/local';
import { runGate } from '../../packages/scan/src/index.js';
import { type BenchTable, round } from './lib.js';

const VULNERABILITIES = 100_000;
const TARGETS = 100;
const RUNS = 3;
const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'MEDIUM', 'LOW', 'LOW', 'UNKNOWN'];

/** One vulnerability shaped like Trivy 0.6x writes it for a language package in an image. */
function vulnerability(i: number): object {
  const id = `CVE-${2015 + (i % 10)}-${String(10_000 + i)}`;
  const name = `package-${i % 5_000}`;
  const installed = `${i % 7}.${i % 13}.${i % 3}`;
  const severity = SEVERITIES[i % SEVERITIES.length] as string;
  const fixed = i % 4 === 0 ? '' : `${(i % 7) + 1}.0.0`;
  return {
    VulnerabilityID: id,
    PkgID: `${name}@${installed}`,
    PkgName: name,
    PkgPath: `app/node_modules/${name}/package.json`,
    PkgIdentifier: { PURL: `pkg:npm/${name}@${installed}`, UID: (i * 2654435761).toString(16).slice(-16) },
    InstalledVersion: installed,
    FixedVersion: fixed,
    Status: fixed ? 'fixed' : 'affected',
    Layer: {
      Digest: 'sha256:9d48c3bd43c520dc2784e868a780e976b207cbf493eaff8c6596eb871cbd9609',
      DiffID: 'sha256:03901b4a2ea88eeaad62dbe59b072b28b6efa00491962b8741081c5df50c65e0',
    },
    SeveritySource: 'ghsa',
    PrimaryURL: `https://avd.aquasec.com/nvd/${id.toLowerCase()}`,
    DataSource: {
      ID: 'ghsa',
      Name: 'GitHub Security Advisory npm',
      URL: 'https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm',
    },
    Title: `${name}: uncontrolled resource consumption when parsing crafted input`,
    Description: `A flaw was found in ${name} before ${fixed || 'any released version'}. Parsing a crafted input causes excessive CPU and memory consumption, which lets a remote attacker cause a denial of service. Applications that pass untrusted data to the affected function are vulnerable.`,
    Severity: severity,
    CweIDs: ['CWE-400'],
    VendorSeverity: { ghsa: 3, nvd: 3 },
    CVSS: {
      ghsa: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', V3Score: 7.5 },
      nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', V3Score: 7.5 },
    },
    References: [
      `https://github.com/advisories/GHSA-${(i % 9000) + 1000}-abcd-efgh`,
      `https://nvd.nist.gov/vuln/detail/${id}`,
      `https://www.npmjs.com/package/${name}`,
    ],
    PublishedDate: '2024-03-04T16:15:08.977Z',
    LastModifiedDate: '2024-11-21T09:03:15.687Z',
  };
}

/** Written target by target, so the generator never holds the whole report as one string. */
async function generate(path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.write(
      `{"SchemaVersion":2,"CreatedAt":"2026-06-15T12:00:00Z","ArtifactName":"registry.example/app:1.2.3","ArtifactType":"container_image","Metadata":{"OS":{"Family":"debian","Name":"12.11"}},"Results":[`,
    );
    const perTarget = VULNERABILITIES / TARGETS;
    for (let t = 0; t < TARGETS; t++) {
      const vulnerabilities = Array.from({ length: perTarget }, (_, k) => vulnerability(t * perTarget + k));
      const result = {
        Target: `Node.js ${t}`,
        Class: 'lang-pkgs',
        Type: 'node-pkg',
        Vulnerabilities: vulnerabilities,
      };
      await file.write(`${t === 0 ? '' : ','}${JSON.stringify(result, null, 2)}`);
    }
    await file.write(']}\n');
  } finally {
    await file.close();
  }
}

interface Measurement {
  ms: number;
  parseMs?: number;
  maxRssKiB: number;
  results?: number;
  blocking?: number;
}

/** What a child does: `idle` (the runtime alone), `parse` (read + JSON.parse) or `gate`. */
async function child(mode: string, report: string): Promise<Measurement> {
  if (mode === 'idle') return { ms: 0, maxRssKiB: process.resourceUsage().maxRSS };
  if (mode === 'parse') {
    const started = performance.now();
    const text = await readFile(report, 'utf8');
    const parseStarted = performance.now();
    const parsed = JSON.parse(text) as { Results: unknown[] };
    const ended = performance.now();
    if (parsed.Results.length !== TARGETS) throw new Error('the generated report did not parse as written');
    return { ms: ended - started, parseMs: ended - parseStarted, maxRssKiB: process.resourceUsage().maxRSS };
  }
  const dir = join(report, '..');
  const started = performance.now();
  const outcome = await runGate({
    reports: ['report.json'],
    cwd: dir,
    threshold: 'high',
    ignoreUnfixed: false,
    category: 'bench',
    dockerfile: 'Dockerfile',
    sarif: 'out/scan-gate.sarif',
  });
  return {
    ms: performance.now() - started,
    maxRssKiB: process.resourceUsage().maxRSS,
    results: outcome.sarif.results,
    blocking: outcome.blocking.length,
  };
}

function measure(mode: string, report: string): Measurement {
  const run = spawnSync(node24, ['--import', 'tsx', fileURLToPath(import.meta.url), mode, report], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`bench child ${mode} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as Measurement;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

export default async function scanBench(): Promise<BenchTable> {
  const temp = await makeTempDir('scan-bench');
  try {
    const report = join(temp.path, 'report.json');
    await generate(report);
    const { size } = await stat(report);
    const runs = (mode: string) => Array.from({ length: RUNS }, () => measure(mode, report));
    const idle = [measure('idle', report)];
    const parse = runs('parse');
    const gate = runs('gate');
    const mib = (kib: number) => round(kib / 1024);
    const sizeMiB = size / 1024 / 1024;
    const parseMs = median(parse.map((m) => m.parseMs ?? 0));
    const readParseMs = median(parse.map((m) => m.ms));
    const gateMs = median(gate.map((m) => m.ms));
    const rss = (ms: Measurement[]) => median(ms.map((m) => m.maxRssKiB));
    return {
      name: 'scan',
      title: `scan-gate on a Trivy report with ${VULNERABILITIES.toLocaleString('en')} vulnerabilities (${round(sizeMiB)} MiB), median of ${RUNS} runs, each in its own Node 24 process`,
      columns: ['work', 'ms', '× JSON.parse', 'peak RSS MiB', '× file size'],
      rows: [
        ['Node 24 + tsx, nothing else (1 run)', '', '', mib(rss(idle)), round(rss(idle) / 1024 / sizeMiB, 2)],
        ['JSON.parse alone', round(parseMs), 1, '', ''],
        [
          'readFile + JSON.parse',
          round(readParseMs),
          round(readParseMs / parseMs, 2),
          mib(rss(parse)),
          round(rss(parse) / 1024 / sizeMiB, 2),
        ],
        [
          'scan-gate: read, merge, gate, SARIF (gzipped, written)',
          round(gateMs),
          round(gateMs / parseMs, 2),
          mib(rss(gate)),
          round(rss(gate) / 1024 / sizeMiB, 2),
        ],
      ],
      notes: [
        `targets: total ≤ 2× JSON.parse, peak RSS ≤ 4× the file size (${round(sizeMiB)} MiB).`,
        `gate: ${gate[0]?.blocking} blocking; SARIF holds ${gate[0]?.results} results (GitHub's 25,000 limit, most severe kept).`,
        'peak RSS includes the runtime and the TypeScript loader (first row).',
      ],
    };
  } finally {
    await temp.remove();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode = 'idle', report = ''] = process.argv.slice(2);
  console.log(JSON.stringify(await child(mode, report)));
}
