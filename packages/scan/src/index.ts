export { ScanInputError } from './errors.js';
export {
  compareFindings,
  countBySeverity,
  type Finding,
  fingerprint,
  KINDS,
  type Kind,
  type Location,
  mergeFindings,
  normaliseSeverity,
  SEVERITIES,
  type Severity,
  severityFromScore,
  severityRank,
  sortFindings,
  sortGroupsUpTo,
} from './finding.js';
export { type GateOutcome, type GateRun, loadPolicy, runGate } from './gate.js';
export {
  type GitHubRequest,
  type IssueOptions,
  type IssueSync,
  issueMarker,
  type Repository,
  syncIssues,
  type UploadOptions,
  type UploadResult,
  uploadSarif,
} from './github.js';
export { parseReportJson } from './json.js';
export {
  type BudgetResult,
  DEFAULT_MAX_WAIVER_DAYS,
  EMPTY_POLICY,
  evaluate,
  type GateOptions,
  type GateResult,
  isExpired,
  type Policy,
  parsePolicy,
  type Waiver,
} from './policy.js';
export { type Report, type ReportFormat, readReport } from './readers/index.js';
export { findReports, readReportFile } from './reports.js';
export {
  FINGERPRINT_KEY,
  GITHUB_SARIF_LIMITS,
  SARIF_TOOL_VERSION,
  type SarifFile,
  type SarifLimits,
  type SarifOptions,
  type SarifOutput,
  type SarifTruncation,
  sarifLimitProblems,
  writeSarif,
  writeSarifFile,
} from './sarif.js';
export {
  type DatabaseCache,
  type Exec,
  runTrivy,
  TrivyError,
  type TrivyRunResult,
  type TrivyScan,
  type TrivySettings,
  trivyArgs,
  trivyCacheKeys,
} from './trivy-runner.js';
