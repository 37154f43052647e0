import type { Migration } from './discovery.js';
import type { DryRunResult } from './dry-run.js';
import type { Finding } from './lint.js';
import { RULE_IDS, RULES, ruleName, type Severity } from './rules.js';

/** The JSON report: the contract other tools read. `version` changes only when the shape breaks. */
export interface Report {
  version: 1;
  postgresVersion: number;
  files: { file: string; format: string; direction: string }[];
  findings: Finding[];
  counts: Record<Severity, number>;
  dryRun: DryRunResult | null;
}

export function buildReport(
  migrations: Migration[],
  findings: Finding[],
  dryRun: DryRunResult | undefined,
  postgresVersion: number,
): Report {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const finding of findings) counts[finding.severity]++;
  return {
    version: 1,
    postgresVersion,
    files: migrations.map((m) => ({ file: m.path, format: m.format, direction: m.direction })),
    findings: [...findings].sort((a, b) =>
      a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column,
    ),
    counts,
    dryRun: dryRun ?? null,
  };
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  error: 'error',
  warning: 'warning',
  info: 'note',
};

/** The version migration-check's SARIF names when none is given: GitHub compares runs of one tool by it. */
export const SARIF_TOOL_VERSION = '1.0.0';

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** SARIF 2.1.0 for GitHub code scanning, category `migration-check`. */
export function buildSarif(report: Report, toolVersion = SARIF_TOOL_VERSION): object {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'migration-check',
            version: toolVersion,
            ...(SEMVER.test(toolVersion) ? { semanticVersion: toolVersion } : {}),
            informationUri: 'https://github.com/digestline/digestline/tree/main/actions/migration-check',
            rules: RULE_IDS.map((id) => ({
              id,
              name: ruleName(id),
              shortDescription: { text: RULES[id].title },
              fullDescription: { text: `${RULES[id].title}. ${RULES[id].fix}` },
              help: { text: RULES[id].fix },
              defaultConfiguration: { level: SARIF_LEVEL[RULES[id].severity] },
            })),
          },
        },
        automationDetails: { id: 'migration-check/' },
        originalUriBaseIds: { '%SRCROOT%': { uri: 'file:///' } },
        results: report.findings.map((finding) => ({
          ruleId: finding.rule,
          ruleIndex: RULE_IDS.indexOf(finding.rule),
          level: SARIF_LEVEL[finding.severity],
          message: { text: finding.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: encodeURI(finding.file), uriBaseId: '%SRCROOT%' },
                region: {
                  startLine: finding.line,
                  startColumn: finding.column,
                  endLine: finding.endLine,
                  endColumn: Math.max(
                    finding.endColumn,
                    finding.endLine === finding.line ? finding.column : 1,
                  ),
                },
              },
            },
          ],
        })),
      },
    ],
  };
}
