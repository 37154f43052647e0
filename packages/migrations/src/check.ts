import { isAbsolute, join } from 'node:path';
import { changedFiles } from './changed.js';
import { type LintConfig, loadConfig } from './config.js';
import { discoverMigrations, type Format, type Migration } from './discovery.js';
import { type DryRunResult, dryRun } from './dry-run.js';
import { historyTableName } from './history.js';
import { type LintResult, lintMigrations } from './lint.js';
import { ParallelParser, type ParserThread } from './parallel.js';
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
  /** The dry-run reads this history table instead of the tool's default one. */
  historyTable?: string;
  /**
   * A second thread serving PostgreSQL's parser (see ParserThread): given, a large migration set is
   * parsed on both threads. It is stopped when the lint is done.
   */
  parserThread?: ParserThread;
}

export interface CheckResult {
  report: Report;
  /** The SARIF log as an object, built when read (writeSarif streams it to a file without one). */
  readonly sarif: object;
}

export const DEFAULT_POSTGRES_VERSION = 15;

/** Discovery, lint on PostgreSQL's parser and, with a database URL, the dry-run: the whole check. */
export async function checkMigrations(options: CheckOptions): Promise<CheckResult> {
  const postgresVersion = options.postgresVersion ?? DEFAULT_POSTGRES_VERSION;
  // Refused before anything is read or connected to.
  if (options.historyTable !== undefined) historyTableName(options.historyTable);
  let migrations: Migration[];
  let linted: LintResult;
  let parallel: ParallelParser | undefined;
  try {
    let config: LintConfig | undefined;
    if (options.config !== undefined) {
      const file = isAbsolute(options.config) ? options.config : join(options.root, options.config);
      config = await loadConfig(file, options.config);
    }
    const only =
      options.changedSince === undefined ? undefined : await changedFiles(options.root, options.changedSince);
    migrations = await discoverMigrations({
      paths: options.paths,
      root: options.root,
      format: options.format,
      only,
    });
    // Loaded once there is something to parse: a step that fails on its inputs exits sooner.
    await loadParser();
    parallel = ParallelParser.start(
      options.parserThread,
      migrations.map((migration) => migration.sql),
    );
    linted = lintMigrations(migrations, {
      postgresVersion,
      requireDown: options.requireDown,
      config,
      keepStatements: options.databaseUrl !== undefined,
      parallel,
    });
  } finally {
    // Done with, whether or not it was used: the lint is over.
    parallel?.close();
    options.parserThread?.stop();
  }
  const { findings, parsed } = linted;

  let dryRunResult: DryRunResult | undefined;
  if (options.databaseUrl !== undefined) {
    dryRunResult = await dryRun(parsed, {
      databaseUrl: options.databaseUrl,
      lockTimeoutMs: options.lockTimeoutMs,
      statementTimeoutMs: options.statementTimeoutMs,
      format: options.format,
      historyTable: options.historyTable,
    });
  }
  const report = buildReport(migrations, findings, dryRunResult, postgresVersion);
  return {
    report,
    get sarif() {
      return buildSarif(report);
    },
  };
}
