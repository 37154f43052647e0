import { details, table } from '@digestline/action-kit';
import type { Report } from '@digestline/migrations';

// A summary is for reading; the full list is in the JSON report and the annotations.
const MAX_ROWS = 200;

const where = (file: string, line: number) => `${file}:${line}`;

/** The job summary: findings per file first, then the findings and the dry-run's locks and rewrites. */
export function summarize(report: Report, reportPath: string): string[] {
  const { counts, findings, dryRun } = report;
  const sections = [
    '### migration-check',
    `${report.files.length} migration(s) checked against PostgreSQL ${report.postgresVersion}: **${counts.error} error(s)**, ${counts.warning} warning(s), ${counts.info} info. Full report: \`${reportPath}\`.`,
  ];
  const perFile = new Map<string, { error: number; warning: number; info: number }>();
  for (const file of report.files) perFile.set(file.file, { error: 0, warning: 0, info: 0 });
  for (const finding of findings) {
    const row = perFile.get(finding.file) ?? { error: 0, warning: 0, info: 0 };
    row[finding.severity]++;
    perFile.set(finding.file, row);
  }
  if (perFile.size > 0) {
    sections.push(
      table(
        ['file', 'errors', 'warnings', 'info'],
        [...perFile].map(([file, c]) => [file, c.error, c.warning, c.info]),
      ),
    );
  }
  if (findings.length > 0) {
    const rows = findings
      .slice(0, MAX_ROWS)
      .map((f) => [where(f.file, f.line), f.severity, f.rule, f.message]);
    const more = findings.length > MAX_ROWS ? `\n\n${findings.length - MAX_ROWS} more in ${reportPath}.` : '';
    sections.push(
      details(
        `Findings (${findings.length})`,
        `${table(['where', 'severity', 'rule', 'message'], rows)}${more}`,
      ),
    );
  }
  if (dryRun) {
    const status = dryRun.failure
      ? `**failed** at ${where(dryRun.failure.file, dryRun.failure.line)}: ${dryRun.failure.message}`
      : `passed: ${dryRun.executed} statement(s) executed`;
    const { history } = dryRun;
    const replayed = history.table
      ? `${dryRun.migrations} pending migration(s) replayed; ${history.applied} already applied according to \`${history.table}\` (${history.tool}) were not.`
      : `${dryRun.migrations} migration(s) replayed from the first: the database has no migration history table.`;
    sections.push(
      `#### Dry-run on ${dryRun.database}\n\n${replayed} ${status}; rolled back, nothing committed (${dryRun.durationMs} ms).`,
    );
    if (dryRun.locks.length > 0) {
      sections.push(
        details(
          `Locks taken (${dryRun.locks.length})`,
          table(
            ['where', 'relation', 'mode'],
            dryRun.locks.slice(0, MAX_ROWS).map((l) => [where(l.file, l.line), l.relation, l.mode]),
          ),
        ),
      );
    }
    sections.push(
      dryRun.rewrites.length === 0
        ? 'No table was rewritten.'
        : table(
            ['where', 'table rewritten', 'relfilenode before → after'],
            dryRun.rewrites.map((r) => [
              where(r.file, r.line),
              r.relation,
              `${r.relfilenodeBefore} → ${r.relfilenodeAfter}`,
            ]),
          ),
    );
    if (dryRun.notRun.length > 0) {
      sections.push(
        table(
          ['where', 'not dry-run', 'why'],
          dryRun.notRun.map((s) => [where(s.file, s.line), s.statement.slice(0, 80), s.reason]),
        ),
      );
    }
  }
  return sections;
}
