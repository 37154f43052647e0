export { changedFiles } from './changed.js';
export { type CheckOptions, type CheckResult, checkMigrations, DEFAULT_POSTGRES_VERSION } from './check.js';
export { type LintConfig, loadConfig, parseConfig, type RuleSetting } from './config.js';
export { type Direction, discoverMigrations, FORMATS, type Format, type Migration } from './discovery.js';
export {
  DEFAULT_DRY_RUN_DEADLINE_MS,
  type DryRunFailure,
  type DryRunHistory,
  type DryRunLock,
  type DryRunResult,
  type DryRunRewrite,
  describeDatabase,
  dryRun,
  isLoopbackHost,
} from './dry-run.js';
export { DatabaseUnavailableError, MigrationInputError } from './errors.js';
export {
  type AppliedHistory,
  type HistoryQuery,
  historyTableName,
  MigrationHistoryError,
  pendingMigrations,
  readHistory,
} from './history.js';
export {
  type Finding,
  type LintOptions,
  type LintResult,
  lintMigrations,
  type ParsedMigration,
} from './lint.js';
export {
  isParserThread,
  PARALLEL_FROM_CHARS,
  ParallelParser,
  ParserThread,
  serveParser,
} from './parallel.js';
export { LineIndex, loadParser, parseSql, type Statement } from './parser.js';
export {
  buildReport,
  buildSarif,
  PRETTY_FINDINGS_LIMIT,
  type Report,
  SARIF_TOOL_VERSION,
  writeReport,
  writeSarif,
} from './report.js';
export { RULE_IDS, RULES, type RuleId, type Severity } from './rules.js';
