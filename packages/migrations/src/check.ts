import { isAbsolute, join } from 'node:path';
import { changedFiles } from './changed.js';
import { type LintConfig, loadConfig } from './config.js';
import { discoverMigrations, type Format } from './discovery.js';
import { type DryRunResult, dryRun } from './dry-run.js';
import { lintMigrations } from './lint.js';
import { loadParser } from './parser.js';
import { buildReport, buildSarif, type Report } from './report.js';

export interface CheckOptions {
  /** The workspace: paths, globs, the config file and report paths are relative to it. */
  root: string;
  paths: string[];
  format?: Format;
  postgresVersion?: number;
  /** YAML config file, relative to root. */
  config?: string;
  requireDown?: boolean;
  /** Lint (and dry-run) only files changed since this commit or ref (a pull request's base). */
  changedSince?: string;
  databaseUrl?: string;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export interface CheckResult {
  report: Report;
  sarif: object;
}

export const DEFAULT_POSTGRES_VERSION = 15;

/** Discovery, lint on PostgreSQL's parser and, with a database URL, the dry-run: the whole check. */
export async function checkMigrations(options: CheckOptions): Promise<CheckResult> {
  const postgresVersion = options.postgresVersion ?? DEFAULT_POSTGRES_VERSION;
  let config: LintConfig | undefined;
  if (options.config !== undefined) {
    const file = isAbsolute(options.config) ? options.config : join(options.root, options.config);
    config = await loadConfig(file, options.config);
  }
  const only =
    options.changedSince === undefined ? undefined : await changedFiles(options.root, options.changedSince);
  const migrations = await discoverMigrations({
    paths: options.paths,
    root: options.root,
    format: options.format,
    only,
  });
  await loadParser();
  const { findings, parsed } = lintMigrations(migrations, {
    postgresVersion,
    requireDown: options.requireDown,
    config,
  });

  let dryRunResult: DryRunResult | undefined;
  if (options.databaseUrl !== undefined) {
    const ups = parsed.filter((p) => p.migration.direction === 'up');
    const broken = ups.findIndex((p) => p.syntaxError !== undefined);
    dryRunResult = await dryRun(broken === -1 ? ups : ups.slice(0, broken), {
      databaseUrl: options.databaseUrl,
      lockTimeoutMs: options.lockTimeoutMs,
      statementTimeoutMs: options.statementTimeoutMs,
    });
    const syntax = ups[broken]?.syntaxError;
    if (syntax && dryRunResult.failure === undefined) {
      dryRunResult.failure = {
        file: syntax.file,
        line: syntax.line,
        column: syntax.column,
        statement: syntax.statement,
        message: `not run: the migration does not parse (${syntax.message.split('. ')[0]})`,
      };
    }
  }
  const report = buildReport(migrations, findings, dryRunResult, postgresVersion);
  return { report, sarif: buildSarif(report) };
}
