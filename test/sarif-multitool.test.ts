// Every kind of SARIF we write, checked by Microsoft's SARIF Multitool against the SARIF rules and
// GitHub Advanced Security's ingestion rules (`--rule-kind "Sarif;Ghas"`): the JSON schema says a log
// is well-formed, this says GitHub code scanning takes it as meant.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkMigrations, RULE_IDS } from '@digestline/migrations';
import { type Finding, mergeFindings, readReport, runGate, writeSarif } from '@digestline/scan';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { corpusText } from './harness/corpus.js';

// The npm package's bin joins its arguments into a shell line, so `Sarif;Ghas` would be split at `;`:
// its index resolves the platform package's binary, which is run directly.
const multitool = createRequire(import.meta.url)('@microsoft/sarif-multitool') as string;

interface Issue {
  ruleId: string;
  name: string;
  level: string;
  /** The level the Multitool gives the rule by default. */
  ruleLevel: string;
  message: string;
  where: string;
}

interface Notification {
  level?: string;
  message: { text: string };
  descriptor?: { id?: string };
}

interface MultitoolLog {
  runs: {
    tool: {
      driver: {
        rules?: {
          id: string;
          name?: string;
          defaultConfiguration?: { level?: string };
          messageStrings?: Record<string, { text: string }>;
        }[];
      };
    };
    invocations?: {
      executionSuccessful: boolean;
      toolExecutionNotifications?: Notification[];
      toolConfigurationNotifications?: Notification[];
    }[];
    results?: {
      ruleId: string;
      level?: string;
      message: { text?: string; id?: string; arguments?: string[] };
      locations?: { physicalLocation?: { region?: { startLine?: number; startColumn?: number } } }[];
    }[];
  }[];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'digestline-sarif-multitool-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function execute(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// UrisShouldBeReachable (SARIF2006) fetches every URI in the log over HTTP: one GET per CVE page at NVD,
// which makes the result depend on the network and a run take seconds per hundred rules. It is off; the
// URIs are still checked for syntax by SARIF1003 and the JSON schema.
const CONFIG = `<?xml version="1.0" encoding="utf-8"?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">
    <Property Key="RuleEnabled" Value="Disabled" />
  </Properties>
</Properties>
`;
const DISABLED = new Set(['SARIF2006']);

/**
 * Advice the Multitool files at `note` that our logs do not follow, each for a reason; GitHub ingests
 * a log that has them. Any other note, and every warning and error, fails the test.
 */
const TOLERATED_NOTES: Record<string, string> = {
  SARIF2002:
    'ProvideMessageArguments: message.id/arguments instead of message.text; GitHub documents message.text as required.',
  SARIF2003:
    'ProvideVersionControlProvenance: the upload names the commit and ref to GitHub; the writers do not know the repository.',
  SARIF2009:
    'ConsiderConventionalIdentifierValues: rule ids are CVE/GHSA/scanner ids, and migration-check ids that ignore comments name; renaming them would close and reopen every alert.',
  SARIF2010:
    'ProvideCodeSnippets: image findings have no source line to quote; GitHub shows the file from the repository.',
  SARIF2011: 'ProvideContextRegion: as for SARIF2010.',
  SARIF2012:
    'ProvideRuleProperties: helpUri is given where a page exists (NVD, GitHub advisories); the other rules carry their remedy in help.text, and an empty run has no rules to describe.',
};

/** Writes `text` as `<name>.sarif`, validates it and returns every finding at any level. */
async function validate(name: string, text: string): Promise<Issue[]> {
  const input = join(dir, `${name}.sarif`);
  const output = join(dir, `${name}.validation.sarif`);
  const config = join(dir, 'multitool.xml');
  await writeFile(input, text);
  await writeFile(config, CONFIG);
  // Options that take lists (`--level`, `--log`) swallow every value after them: the input goes last,
  // after `-o`.
  const run = await execute(multitool, [
    'validate',
    '--config',
    config,
    '--rule-kind',
    'Sarif;Ghas',
    '--level',
    'Error;Warning;Note',
    '--log',
    'ForceOverwrite',
    '-o',
    output,
    input,
  ]);
  const stdout = `${run.stdout}${run.stderr}`;
  let log: MultitoolLog;
  try {
    log = JSON.parse(await readFile(output, 'utf8')) as MultitoolLog;
  } catch (error) {
    throw new Error(`the Multitool wrote no readable log (exit ${run.code}): ${String(error)}\n${stdout}`);
  }
  const [run0] = log.runs;
  const invocation = run0?.invocations?.[0];
  const failures = [
    ...(invocation?.toolExecutionNotifications ?? []),
    ...(invocation?.toolConfigurationNotifications ?? []),
  ].filter(
    (n) =>
      (n.level ?? 'warning') !== 'note' &&
      !(
        n.descriptor?.id === 'WRN999.RuleExplicitlyDisabled' &&
        [...DISABLED].some((id) => n.message.text.includes(`'${id}'`))
      ),
  );
  if (!invocation?.executionSuccessful || failures.length > 0) {
    throw new Error(
      `the Multitool did not analyse ${input} (exit ${run.code}): ${failures.map((n) => n.message.text).join('; ')}\n${stdout}`,
    );
  }
  const rules = new Map((run0?.tool.driver.rules ?? []).map((r) => [r.id, r]));
  return (run0?.results ?? []).map((r) => {
    const rule = rules.get(r.ruleId);
    const region = r.locations?.[0]?.physicalLocation?.region;
    const template = r.message.id ? rule?.messageStrings?.[r.message.id]?.text : undefined;
    const args = r.message.arguments ?? [];
    return {
      ruleId: r.ruleId,
      name: rule?.name ?? '',
      // An absent level is the rule's default, and SARIF's default of defaults is `warning`.
      level: r.level ?? rule?.defaultConfiguration?.level ?? 'warning',
      ruleLevel: rule?.defaultConfiguration?.level ?? 'warning',
      message:
        r.message.text ??
        template?.replace(/\{(\d+)\}/g, (_, i: string) => args[Number(i)] ?? '') ??
        [r.message.id, ...args].join(' '),
      where: region ? `(${region.startLine},${region.startColumn})` : '',
    };
  });
}

/** Tolerated: a note of a listed rule that the Multitool itself defines at `note`. */
const tolerated = (i: Issue) =>
  i.level === 'note' && i.ruleLevel === 'note' && Object.hasOwn(TOLERATED_NOTES, i.ruleId);

/** Asserts no error, no warning and no unlisted note; a failure shows counts by rule and the findings. */
async function expectAccepted(name: string, text: string): Promise<void> {
  const issues = (await validate(name, text)).filter((i) => !tolerated(i));
  const counts = Object.entries(
    issues.reduce<Record<string, number>>((acc, i) => {
      const key = `${i.level} ${i.ruleId} ${i.name}`;
      acc[key] = (acc[key] ?? 0) + 1;
      return acc;
    }, {}),
  ).map(([key, n]) => `${n}× ${key}`);
  const shown = issues.map((i) => `${i.level} ${i.ruleId} ${i.name}${i.where}: ${i.message}`);
  expect({ file: `${name}.sarif`, counts, findings: shown.slice(0, 40) }).toEqual({
    file: `${name}.sarif`,
    counts: [],
    findings: [],
  });
}

const read = (path: string): Finding[] => readReport(corpusText(path), path).findings;
const options = { category: 'scan-gate', dockerfile: 'Dockerfile' };

describe('the Multitool itself', () => {
  test('reports what GitHub rejects: no fullDescription, no tool version, a rule name equal to its id', async () => {
    const rule = (id: string, name: string) => ({ id, name, shortDescription: { text: 'A rule.' } });
    const log = {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'bare', rules: [rule('R1', 'SomeRule'), rule('truncate', 'Truncate')] } },
          results: [
            {
              ruleId: 'R1',
              ruleIndex: 0,
              level: 'error',
              message: { text: 'Something is wrong.' },
              locations: [
                { physicalLocation: { artifactLocation: { uri: 'a.txt' }, region: { startLine: 1 } } },
              ],
            },
          ],
        },
      ],
    };
    const issues = (await validate('known-bad', JSON.stringify(log))).filter((i) => !tolerated(i));
    expect(issues.map((i) => `${i.level} ${i.ruleId}: ${i.message}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^error GH2012: runs\[0\]\.tool\.driver\.rules\[0\]: .*'fullDescription'/),
        expect.stringMatching(/^warning SARIF2005: .*version-related properties/),
        expect.stringMatching(/^warning SARIF1001: .*'truncate' has a 'name' property that is identical/),
      ]),
    );
  });
});

describe("scan-gate's SARIF is accepted by GitHub's rules", () => {
  const cases: [string, string[]][] = [
    ['trivy-image', ['trivy/trivy-image-alpine-310.json', 'trivy/trivy-image-spring4shell-jre11.json']],
    ['trivy-config', ['trivy/trivy-config-helm-misconfig.json']],
    ['trivy-secret', ['trivy/trivy-repo-secret-scan.json']],
    [
      'grype',
      ['grype/grype-dir-msn-weather-wrapper.stdout-polluted.json', 'grype/grype-image-presenter-golden.json'],
    ],
    ['npm-audit', ['npm-audit/npm-audit-v2-react-scripts.json', 'npm-audit/pnpm-audit-react-scripts.json']],
    ['sarif-inputs', ['sarif/trivy-image-alpine-310.sarif', 'sarif/trivy-config-terraform.sarif']],
  ];

  test.each(cases)('%s', async (name, paths) => {
    const findings = mergeFindings(paths.flatMap(read));
    expect(findings.length).toBeGreaterThan(0);
    await expectAccepted(name, writeSarif(findings, options).text);
  });

  test('every corpus report merged into one run, with a tool version given', async () => {
    const all = mergeFindings(
      [
        'trivy/trivy-image-juice-shop-LARGE.json',
        'trivy/trivy-repo-juice-shop-LARGE.json',
        'trivy/trivy-fs-npm.json',
        'grype/grype-dir-presenter-golden.json',
        ...cases.flatMap(([, paths]) => paths),
      ].flatMap(read),
    );
    await expectAccepted('all', writeSarif(all, { ...options, toolVersion: '2.3.4' }).text);
  });

  test('no findings at all', async () => {
    await expectAccepted('empty', writeSarif([], options).text);
  });

  test('through the gate, with waived findings and an expired waiver', async () => {
    const cwd = join(dir, 'gate');
    await mkdir(join(cwd, 'reports'), { recursive: true });
    await writeFile(join(cwd, 'reports/trivy.json'), corpusText('trivy/trivy-image-juice-shop-LARGE.json'));
    await writeFile(
      join(cwd, 'policy.yml'),
      `waivers:
  - id: CVE-2025-4802
    package: libc6
    reason: not reachable, no setuid binaries in the image
    expires: 2026-12-31
  - id: private-key
    target: bkimminich/juice-shop
    reason: test fixtures
    expires: 2026-01-31
`,
    );
    const outcome = await runGate({
      reports: ['reports/*.json'],
      cwd,
      threshold: 'high',
      ignoreUnfixed: false,
      policy: 'policy.yml',
      category: 'container/juice-shop',
      dockerfile: 'docker/Dockerfile',
      sarif: 'out/scan-gate.sarif',
      now: new Date('2026-06-01T00:00:00Z'),
    });
    expect(outcome.waived.length).toBeGreaterThan(0);
    expect(outcome.expiredWaivers).toHaveLength(1);
    await expectAccepted('gate-waived', await readFile(join(cwd, 'out/scan-gate.sarif'), 'utf8'));
  });
});

describe("migration-check's SARIF is accepted by GitHub's rules", () => {
  const LOCKED = "SET lock_timeout = '2s';\n";
  const RISKY = [
    'DROP TABLE IF EXISTS public.sessions;',
    'ALTER TABLE users DROP COLUMN legacy_flag;',
    'TRUNCATE TABLE events, sessions;',
    'ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;',
    'ALTER TABLE users RENAME COLUMN email TO email_address;',
    'ALTER TABLE users RENAME TO accounts;',
    'CREATE INDEX users_email_idx ON users (email);',
    'DROP INDEX users_email_idx;',
    'ALTER TABLE users ALTER COLUMN id TYPE bigint;',
    'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
    'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
    'ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0);',
    'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);',
    'ALTER TABLE users ADD PRIMARY KEY (id);',
    'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    'VACUUM (FULL, ANALYZE) users;',
    'CLUSTER users USING users_pkey;',
    'DROP DATABASE legacy;',
    'DROP SCHEMA reporting CASCADE;',
    'SELECT 1; -- migration-check:ignore truncate',
    'SELECT 2;',
  ];
  const FILES: Record<string, string> = {
    // Flyway versioned migrations without U… undo files: missing-down on each.
    'db/migrations/V1__create.sql': `${LOCKED}CREATE TABLE events (id serial, at timestamp, kind varchar(20));\n`,
    'db/migrations/V2__risky changes.sql': `${LOCKED}${RISKY.join('\n')}\n`,
    'db/migrations/V3__no_timeout.sql': 'ALTER TABLE users ADD COLUMN b text;\n',
    'db/migrations/V4__concurrently.sql': 'BEGIN;\nCREATE INDEX CONCURRENTLY a_idx ON a (x);\nCOMMIT;\n',
    'db/migrations/V5__broken.sql': `${LOCKED}SELEC 1;\n`,
  };

  test('from migrations that trigger every rule', async () => {
    const root = join(dir, 'migrations-ws');
    for (const [path, content] of Object.entries(FILES)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
    const { sarif } = await checkMigrations({ root, paths: ['db/migrations'], requireDown: true });
    const log = sarif as { runs: { results: { ruleId: string }[] }[] };
    const reported = new Set(log.runs[0]?.results.map((r) => r.ruleId));
    expect(RULE_IDS.filter((id) => !reported.has(id))).toEqual([]);
    // As the action writes it.
    await expectAccepted('migration-check', `${JSON.stringify(sarif, null, 2)}\n`);
  });
});
