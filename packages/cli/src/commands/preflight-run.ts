import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { checkMigrations } from '@digestline/migrations';
import { runGate, SEVERITIES, type Severity } from '@digestline/scan';
import { ExitCode, type Io, UsageError } from '../errors.js';
import type { CommandArgs } from '../main.js';
import { validateWorkflow } from '../workflows.js';

const list = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((v) =>
    String(v)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Whether a connection URL carries a password (postgres://user:password@host/db). */
function passwordIn(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

async function migrationsSection(root: string, paths: string[], values: Record<string, unknown>, io: Io) {
  const version = values['postgres-version'] === undefined ? undefined : Number(values['postgres-version']);
  if (version !== undefined && !(Number.isInteger(version) && version >= 10 && version <= 18)) {
    throw new UsageError(
      `--postgres-version must be a major version from 10 to 18, got "${values['postgres-version']}"`,
    );
  }
  const given = values['database-url'] as string | undefined;
  if (given !== undefined && passwordIn(given)) {
    io.err(
      'warning: the password in --database-url is visible to other users of this machine (ps, /proc); set DIGESTLINE_DATABASE_URL instead.',
    );
  }
  const databaseUrl = given ?? (process.env.DIGESTLINE_DATABASE_URL || undefined);
  // Errors keep their fault: a bad migration file exits 2, a database that does not answer exits 3.
  const result = await checkMigrations({
    root,
    paths,
    ...(version === undefined ? {} : { postgresVersion: version }),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
  });
  const { report } = result;
  for (const f of report.findings) {
    io.out(`  ${f.severity.padEnd(7)} ${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}`);
  }
  const dry = report.dryRun;
  const dryLine =
    dry === null
      ? 'dry-run skipped (no --database-url)'
      : dry.failure === undefined
        ? 'dry-run passed (rolled back)'
        : `dry-run FAILED at ${dry.failure.file}:${dry.failure.line}: ${dry.failure.message}`;
  const passed = report.counts.error === 0 && (dry === null || dry.failure === undefined);
  io.out(
    `${passed ? '✔' : '✘'} migrations: ${report.files.length} file(s), ${report.counts.error} error(s), ${report.counts.warning} warning(s); ${dryLine}`,
  );
  return passed;
}

async function scanSection(root: string, reports: string[], values: Record<string, unknown>, io: Io) {
  const threshold = (values['severity-threshold'] as string | undefined) ?? 'high';
  if (!(SEVERITIES as readonly string[]).includes(threshold)) {
    throw new UsageError(`--severity-threshold must be one of ${SEVERITIES.join(', ')}, got "${threshold}"`);
  }
  const temp = await mkdtemp(join(tmpdir(), 'digestline-preflight-'));
  try {
    const outcome = await runGate({
      reports,
      cwd: root,
      threshold: threshold as Severity,
      ignoreUnfixed: values['ignore-unfixed'] === true,
      ...(values.policy === undefined ? {} : { policy: values.policy as string }),
      category: 'preflight',
      dockerfile: 'Dockerfile',
      sarif: (values.sarif as string | undefined) ?? join(temp, 'scan-gate.sarif'),
    });
    for (const f of outcome.blocking) {
      io.out(
        `  blocking ${f.severity.padEnd(8)} ${f.id} ${f.package ?? ''} ${f.installedVersion ?? ''}: ${f.title ?? ''}`,
      );
    }
    const counts = Object.entries(outcome.counts)
      .map(([severity, n]) => `${n} ${severity}`)
      .join(', ');
    io.out(
      `${outcome.passed ? '✔' : '✘'} scan: ${outcome.reports.length} report(s), ${counts}; ${outcome.blocking.length} blocking at ${threshold} and above`,
    );
    return outcome.passed;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function workflowsSection(root: string, dirs: string[], io: Io) {
  let passed = true;
  let count = 0;
  for (const dir of dirs) {
    const absolute = resolve(root, dir);
    const files = (
      await readdir(absolute).catch(() => {
        throw new UsageError(`--workflows ${dir}: no such directory under ${root}`);
      })
    ).filter((f) => /\.ya?ml$/.test(f));
    for (const file of files) {
      count++;
      const path = join(absolute, file);
      const problems = await validateWorkflow(relative(root, path), await readFile(path, 'utf8'));
      for (const problem of problems) io.out(`  ${relative(root, path)}: ${problem}`);
      if (problems.length > 0) passed = false;
    }
  }
  io.out(
    `${passed ? '✔' : '✘'} workflows: ${count} file(s) checked with GitHub's workflow parser and the hardening rules`,
  );
  return passed;
}

export async function preflight({ positionals, values }: CommandArgs, io: Io): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`takes no arguments, got "${positionals.join(' ')}"`);
  const root = resolve((values.dir as string | undefined) ?? process.cwd());
  if (!existsSync(root)) throw new UsageError(`--dir ${root} does not exist`);
  const migrations = list(values.migrations);
  if (migrations.length === 0 && existsSync(join(root, 'migrations'))) migrations.push('migrations');
  const reports = list(values.reports);
  const workflows = list(values.workflows);
  if (workflows.length === 0 && existsSync(join(root, '.github', 'workflows')))
    workflows.push('.github/workflows');
  if (migrations.length + reports.length + workflows.length === 0) {
    throw new UsageError(
      `nothing to check in ${root}: no migrations/ or .github/workflows/ there, and no --migrations, --reports or --workflows given`,
    );
  }
  const results: boolean[] = [];
  if (migrations.length > 0) results.push(await migrationsSection(root, migrations, values, io));
  if (reports.length > 0) results.push(await scanSection(root, reports, values, io));
  if (workflows.length > 0) results.push(await workflowsSection(root, workflows, io));
  const passed = results.every(Boolean);
  io.out(passed ? 'preflight passed' : 'preflight FAILED');
  return passed ? ExitCode.ok : ExitCode.failed;
}
