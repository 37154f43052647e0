import { annotate, details, table } from '@digestline/action-kit';
import {
  type Finding,
  type GateOutcome,
  type IssueSync,
  SEVERITIES,
  type UploadResult,
} from '@digestline/scan';
import type { Inputs } from './inputs.js';

const BLOCKING_SHOWN = 20;
// GitHub shows the first 10 error and the first 10 warning annotations of a step, and the step's own
// failure is one of the errors: beyond that an annotation is a line of log nobody sees, so the last one
// shown points at where the rest are.
const ERRORS_SHOWN = 10;
const WARNINGS_SHOWN = 10;

const where = (finding: Finding) =>
  finding.location
    ? `${finding.location.file}${finding.location.line ? `:${finding.location.line}` : ''}`
    : [finding.targets.join(', '), finding.artifactPath].filter(Boolean).join(' ');

type Annotation = [message: string, location?: Parameters<typeof annotate>[2]];

export function annotateOutcome(outcome: GateOutcome, inputs: Inputs, issues: IssueSync | undefined): void {
  const warnings: Annotation[] = [];
  for (const budget of outcome.budgets.filter((b) => b.tolerated > 0)) {
    const ids = outcome.tolerated.filter((f) => f.severity === budget.severity).map((f) => f.id);
    warnings.push([
      `The budget \`${budget.severity}: ${budget.limit}\` lets ${budget.tolerated} ${budget.severity} finding(s) pass that the threshold ${inputs.threshold} would block: ${listed(ids)}. Fix them, or waive each one with a reason and an expiry date.`,
      { file: outcome.policy.file, line: budget.line, title: 'Budget lets blocking findings pass' },
    ]);
  }
  for (const waiver of outcome.expiredWaivers) {
    warnings.push([
      `The waiver for ${waiver.id}${waiver.package ? ` in ${waiver.package}` : ''} expired on ${waiver.expires} and no longer applies: fix the finding, or renew the waiver with a new date and reason.`,
      { file: outcome.policy.file, line: waiver.line, title: 'Expired waiver' },
    ]);
  }
  const { truncation } = outcome.sarif;
  if (truncation) {
    const why =
      truncation.reason === 'results'
        ? 'GitHub stores at most 5,000 results of a run (it accepts 25,000 and drops the rest)'
        : 'GitHub accepts at most 10 MB gzipped';
    warnings.push([
      `The SARIF holds the ${truncation.kept} most severe of ${truncation.total} findings: ${why}. Every finding is counted in the job summary.`,
    ]);
  }
  if (issues && issues.deferred > 0) {
    warnings.push([
      `${issues.deferred} blocking finding(s) got no issue yet: at most 50 issues are opened per run.`,
    ]);
  }
  const errors: Annotation[] = [];
  // Only as many as leave room for the step's failure and, when some are left out, the pointer.
  const located = outcome.blocking.filter((f) => f.location);
  const room = located.length > ERRORS_SHOWN - 1 ? ERRORS_SHOWN - 2 : ERRORS_SHOWN - 1;
  for (const finding of located.slice(0, room)) {
    errors.push([
      `${finding.id} (${finding.severity}): ${finding.title}${fixNote(finding)}`,
      {
        file: finding.location?.file,
        line: finding.location?.line,
        endLine: finding.location?.endLine,
        title: `Blocking ${finding.kind}`,
      },
    ]);
  }
  if (located.length > room) {
    errors.push([
      `${located.length - room} more blocking finding(s) in files are not annotated (GitHub shows ${ERRORS_SHOWN} errors per step): every blocking finding is in the job summary and in ${outcome.sarif.path}.`,
    ]);
  }
  for (const [message, location] of errors) annotate('error', message, location);
  const shownWarnings = warnings.length > WARNINGS_SHOWN ? WARNINGS_SHOWN - 1 : WARNINGS_SHOWN;
  for (const [message, location] of warnings.slice(0, shownWarnings)) annotate('warning', message, location);
  if (warnings.length > shownWarnings) {
    annotate(
      'warning',
      `${warnings.length - shownWarnings} more warning(s) are not annotated (GitHub shows ${WARNINGS_SHOWN} warnings per step): budgets and waivers are listed in the job summary.`,
    );
  }
}

function listed(ids: string[], max = 5): string {
  const unique = [...new Set(ids)];
  const shown = unique.slice(0, max).join(', ');
  return unique.length > max ? `${shown} and ${unique.length - max} more` : shown;
}

const fixNote = (finding: Finding) =>
  finding.kind !== 'vulnerability'
    ? ''
    : finding.fixedVersion
      ? ` (fixed in ${finding.fixedVersion})`
      : ' (no fix yet)';

export function summarySections(
  outcome: GateOutcome,
  inputs: Inputs,
  upload: UploadResult | undefined,
  issues: IssueSync | undefined,
): string[] {
  const blockingBySeverity = new Map<string, number>();
  for (const finding of outcome.blocking) {
    blockingBySeverity.set(finding.severity, (blockingBySeverity.get(finding.severity) ?? 0) + 1);
  }
  const letThrough =
    outcome.tolerated.length > 0 ? `, ${outcome.tolerated.length} let through by budgets` : '';
  const sections = [
    `### scan-gate ${outcome.passed ? 'passed' : 'failed'}: ${outcome.blocking.length} blocking finding(s) at threshold \`${inputs.threshold}\`${letThrough}`,
    table(
      ['severity', 'findings', 'blocking'],
      SEVERITIES.map((severity) => [
        severity,
        outcome.counts[severity],
        blockingBySeverity.get(severity) ?? 0,
      ]),
    ),
  ];
  sections.push(
    ...findingTable('Blocking', outcome.blocking),
    ...findingTable('Let through by budgets', outcome.tolerated),
  );
  if (outcome.waived.length > 0 || outcome.expiredWaivers.length > 0) {
    sections.push(
      '#### Waivers',
      table(
        ['waiver', 'status', 'expires', 'findings', 'reason'],
        [
          ...outcome.policy.waivers
            .filter((waiver) => outcome.waived.some((w) => w.waiver === waiver))
            .map((waiver) => [
              waiver.id,
              'applied',
              waiver.expires,
              outcome.waived.filter((w) => w.waiver === waiver).length,
              waiver.reason,
            ]),
          ...outcome.expiredWaivers.map((waiver) => [
            waiver.id,
            '**expired**',
            waiver.expires,
            0,
            waiver.reason,
          ]),
        ],
      ),
    );
  }
  if (outcome.budgets.length > 0) {
    sections.push(
      table(
        ['budget', 'allowed', 'found', 'status'],
        outcome.budgets.map((b) => [b.severity, b.limit, b.count, b.exceeded ? '**exceeded**' : 'within']),
      ),
    );
  }
  const notes = [
    outcome.ignoredUnfixed > 0
      ? `${outcome.ignoredUnfixed} unfixed vulnerabilities ignored (\`ignore-unfixed\`).`
      : '',
    outcome.excludedByKind > 0 ? `${outcome.excludedByKind} findings of kinds the policy leaves out.` : '',
    `SARIF: \`${outcome.sarif.path}\`, ${outcome.sarif.results} results, category \`${inputs.category}\`${
      outcome.sarif.truncation
        ? ` (the ${outcome.sarif.truncation.kept} most severe of ${outcome.sarif.truncation.total})`
        : ''
    }${upload ? `; uploaded as ${upload.id}, processing ${upload.processingStatus}` : ''}.`,
    issues
      ? `Issues: ${issues.created.length} opened, ${issues.open.length} still open, ${issues.closed.length} closed.`
      : '',
  ].filter(Boolean);
  sections.push(notes.join('\n'));
  sections.push(
    details(
      `Reports (${outcome.reports.length})`,
      table(
        ['report', 'format', 'findings'],
        outcome.reports.map((r) => [r.file, r.format, r.findings]),
      ),
    ),
  );
  return sections;
}

/** A heading and a table of the most severe findings, or nothing when there are none. */
function findingTable(heading: string, findings: Finding[]): string[] {
  if (findings.length === 0) return [];
  const shown = findings.slice(0, BLOCKING_SHOWN);
  return [
    `#### ${heading}${findings.length > shown.length ? ` (top ${shown.length} of ${findings.length})` : ''}`,
    table(
      ['id', 'severity', 'package', 'installed', 'fixed in', 'where'],
      shown.map((f) => [
        f.id,
        f.severity,
        f.package ?? '',
        f.installedVersion ?? '',
        f.kind === 'vulnerability' ? (f.fixedVersion ?? 'no fix yet') : '',
        where(f),
      ]),
    ),
  ];
}

/** Why the step fails, or undefined when it passes. */
export function failureMessage(
  outcome: GateOutcome,
  inputs: Inputs,
  upload: UploadResult | undefined,
): string | undefined {
  if (upload?.processingStatus === 'failed') {
    return `GitHub could not process the SARIF upload ${upload.id}: ${upload.errors.join('; ') || 'no reason given'}.`;
  }
  if (outcome.passed || inputs.failOn === 'never') return undefined;
  const bySeverity = SEVERITIES.map(
    (severity) => [severity, outcome.blocking.filter((f) => f.severity === severity).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`)
    .join(', ');
  return `scan-gate found ${outcome.blocking.length} blocking finding(s) (${bySeverity}) at threshold ${inputs.threshold}: fix them, or waive each with a reason and an expiry date in the policy file.`;
}
