import { parseArgs } from 'node:util';
import { ExitCode, exitCodeOf, reportError } from '@digestline/base';
import { checkMigrations } from './check.js';
import { FORMATS, type Format } from './discovery.js';
import type { Report } from './report.js';

const USAGE = `usage: migration-check [path ...] [options]

Lints PostgreSQL migrations (files, directories or globs; default: migrations) on PostgreSQL's own
parser and, with --database-url, dry-runs them in a transaction that is rolled back.

  --format <f>            ${FORMATS.join(' | ')} (default auto)
  --postgres-version <n>  target PostgreSQL major version (default 15)
  --config <file>         YAML rule overrides
  --database-url <url>    dry-run on this database (or set MIGRATION_CHECK_DATABASE_URL)
  --history-table <name>  the tool's history table, when it has a name of its own (schema.name)
  --require-down          fail up migrations without a down/undo migration
  --fail-on <level>       error | warning | never (default error)
  --json                  print the JSON report instead of one line per finding`;

/**
 * Exit codes as in every digestline command: 0 passed; 1 findings at fail-on or a failed dry-run; 2 the
 * input is unusable; 3 the database did not answer; 4 a bug.
 */
export async function cli(argv: string[], cwd: string = process.cwd()): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return ExitCode.user;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const failOn = values['fail-on'] ?? 'error';
  const format = (values.format ?? 'auto') as Format;
  const postgresVersion = Number(values['postgres-version'] ?? '15');
  if (
    !['error', 'warning', 'never'].includes(failOn) ||
    !FORMATS.includes(format) ||
    !(postgresVersion >= 10)
  ) {
    process.stderr.write(`invalid --fail-on, --format or --postgres-version\n\n${USAGE}\n`);
    return ExitCode.user;
  }
  let report: Report;
  try {
    ({ report } = await checkMigrations({
      root: cwd,
      paths: positionals.length > 0 ? positionals : ['migrations'],
      format,
      postgresVersion,
      config: values.config,
      requireDown: values['require-down'],
      databaseUrl: values['database-url'] ?? (process.env.MIGRATION_CHECK_DATABASE_URL || undefined),
      historyTable: values['history-table'],
    }));
  } catch (error) {
    process.stderr.write(`migration-check: ${reportError(error)}\n`);
    return exitCodeOf(error);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(render(report));
  const { error, warning } = report.counts;
  if (report.dryRun?.failure) return 1;
  if (failOn === 'error' && error > 0) return 1;
  return failOn === 'warning' && error + warning > 0 ? 1 : 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      'postgres-version': { type: 'string' },
      config: { type: 'string' },
      'database-url': { type: 'string' },
      'history-table': { type: 'string' },
      'require-down': { type: 'boolean', default: false },
      'fail-on': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function render(report: Report): string {
  const lines = report.findings.map(
    (f) => `${f.file}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${f.message}`,
  );
  const dry = report.dryRun;
  if (dry) {
    lines.push(
      dry.failure
        ? `dry-run on ${dry.database} FAILED at ${dry.failure.file}:${dry.failure.line}: ${dry.failure.message} (rolled back)`
        : `dry-run on ${dry.database}: ${dry.migrations} pending migration(s)${dry.history.table ? ` (${dry.history.applied} applied per ${dry.history.table})` : ''}, ${dry.executed} statement(s) ran, ${dry.rewrites.length} rewrite(s), ${dry.notRun.length} not run; rolled back`,
    );
    for (const r of dry.rewrites) lines.push(`  rewrite ${r.relation} at ${r.file}:${r.line}`);
    for (const l of dry.locks) lines.push(`  lock ${l.mode} on ${l.relation} at ${l.file}:${l.line}`);
  }
  const { error, warning, info } = report.counts;
  lines.push(`${report.files.length} migration(s): ${error} error(s), ${warning} warning(s), ${info} info`);
  return `${lines.join('\n')}\n`;
}
