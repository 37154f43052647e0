import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type LocalPostgres, makeTempDir, repoRoot, startPostgres } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { corpusText } from '../../../test/harness/corpus.js';
import { runCli } from './run-cli.js';

let project: { path: string; remove(): Promise<void> };
let postgres: LocalPostgres;

async function write(files: Record<string, string>) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(project.path, path)), { recursive: true });
    await writeFile(join(project.path, path), content);
  }
}

beforeAll(async () => {
  [project, postgres] = await Promise.all([makeTempDir('cli-preflight'), startPostgres()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([project?.remove(), postgres?.stop()]);
});

describe('preflight', () => {
  test('passes the demo app: safe migrations dry-run on PostgreSQL, a report with nothing at high, the own workflow templates', async () => {
    const result = await runCli(
      [
        'preflight',
        '--dir',
        join(repoRoot, 'demo', 'app'),
        '--reports',
        'reports/*.json',
        '--workflows',
        join(repoRoot, 'workflows-templates'),
      ],
      // The documented way: a URL with a password on the command line is visible in ps.
      { env: { DIGESTLINE_DATABASE_URL: postgres.url } },
    );
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      '✔ migrations: 2 file(s), 0 error(s), 0 warning(s); dry-run passed (rolled back)',
    );
    expect(result.stdout).toContain('✔ scan: 1 report(s), 0 critical, 0 high, 1 medium');
    expect(result.stdout).toMatch(/✔ workflows: \d+ file\(s\) checked/);
    expect(result.stdout).toMatch(/preflight passed\n$/);
  });

  test('fails with exit 1 and names every problem: a destructive migration, findings at the threshold, an unsafe workflow', async () => {
    await write({
      'migrations/V1__drop_orders.sql': 'DROP TABLE orders;\n',
      'reports/trivy.json': corpusText('trivy/trivy-image-alpine-310.json'),
      '.github/workflows/greet.yml': [
        'on: issues',
        'permissions: {}',
        'jobs:',
        '  greet:',
        '    runs-on: ubuntu-latest',
        '    steps:',
        '      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the workflow expression is the point of this case
        '      - run: echo "${{ github.event.issue.title }}"',
        '',
      ].join('\n'),
    });
    const result = await runCli([
      'preflight',
      '--dir',
      project.path,
      '--reports',
      'reports/trivy.json',
      '--severity-threshold',
      'medium',
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/error +migrations\/V1__drop_orders.sql:1:1 drop-table:/);
    expect(result.stdout).toMatch(/✘ migrations: 1 file\(s\), 1 error\(s\)/);
    expect(result.stdout).toMatch(
      /blocking medium +CVE-2019-1549 libcrypto1.1 1.1.1c-r0: openssl: information disclosure in fork\(\)/,
    );
    expect(result.stdout).toMatch(/✘ scan: 1 report\(s\), .*; 4 blocking at medium and above/);
    expect(result.stdout).toContain(
      '.github/workflows/greet.yml: jobs.greet.steps[1]: an expression inside run:',
    );
    expect(result.stdout).toContain('jobs.greet.steps[0]: actions/checkout keeps the token');
    expect(result.stdout).toMatch(/preflight FAILED\n$/);
  });

  test('a migration that lints clean but fails on the database fails the dry-run', async () => {
    const dir = await makeTempDir('cli-preflight-dry');
    try {
      await mkdir(join(dir.path, 'migrations'));
      await writeFile(
        join(dir.path, 'migrations', 'V1__note.sql'),
        'ALTER TABLE invoices ADD COLUMN note text;\n',
      );
      const result = await runCli(['preflight', '--dir', dir.path, '--database-url', postgres.url]);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(
        /✘ migrations: 1 file\(s\), 0 error\(s\).*dry-run FAILED at migrations\/V1__note.sql:1: .*invoices/,
      );
    } finally {
      await dir.remove();
    }
  });
});
