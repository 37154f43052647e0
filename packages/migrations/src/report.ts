import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
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
    // The lint's own array, sorted in place: a copy of every finding would only feed the collector.
    findings: findings.sort((a, b) =>
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
  return sarifLog(report.findings.map(sarifResult), toolVersion);
}

/** The SARIF log around its results: the tool with every rule, the category and the source root. */
function sarifLog(results: unknown, toolVersion: string) {
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
        results,
      },
    ],
  };
}

const RULE_INDEX = new Map(RULE_IDS.map((id, index) => [id, index]));

function sarifResult(finding: Finding) {
  return {
    ruleId: finding.rule,
    ruleIndex: RULE_INDEX.get(finding.rule) as number,
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
            endColumn: Math.max(finding.endColumn, finding.endLine === finding.line ? finding.column : 1),
          },
        },
      },
    ],
  };
}

/**
 * Up to this many findings the report and the SARIF are indented for reading; above it they are written
 * compact (a person reads them through the summary, a tool does not mind): indenting 8,000 findings made
 * a 10 MB report and a 17 MB SARIF and cost more than the lint.
 */
export const PRETTY_FINDINGS_LIMIT = 500;

// Stands where the findings (or results) go in the document around them; JSON.stringify writes it as
// `"\u0000items"`, which no other value of these documents can contain.
const ITEMS = '\u0000items';
const ITEMS_JSON = JSON.stringify(ITEMS);
// Pieces are gathered into writes of about this many characters.
const WRITE_CHARS = 1 << 20;

/**
 * Writes `document` with `items` in place of the ITEMS marker: indented when small, else compact, one
 * item at a time, so no string of the whole document is ever built. Compact output is byte for byte what
 * JSON.stringify would write for the whole. The writes are synchronous: nothing else is left to run
 * meanwhile, and on a busy runner each hop to the thread pool and back waited longer than the write.
 */
function writeJsonDocument<T>(
  file: string,
  document: (items: unknown) => unknown,
  items: readonly T[],
  item: (value: T) => unknown,
): void {
  mkdirSync(dirname(file), { recursive: true });
  if (items.length <= PRETTY_FINDINGS_LIMIT) {
    writeFileSync(file, `${JSON.stringify(document(items.map(item)), null, 2)}\n`);
    return;
  }
  const fd = openSync(file, 'w');
  try {
    const [head, tail] = JSON.stringify(document(ITEMS)).split(ITEMS_JSON) as [string, string];
    let chunk = `${head}[`;
    for (let i = 0; i < items.length; i++) {
      chunk += (i === 0 ? '' : ',') + JSON.stringify(item(items[i] as T));
      if (chunk.length >= WRITE_CHARS) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, `${chunk}]${tail}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Writes the JSON report (indented up to {@link PRETTY_FINDINGS_LIMIT} findings, compact above). */
export function writeReport(file: string, report: Report): void {
  writeJsonDocument(
    file,
    (findings) => ({ ...report, findings }),
    report.findings,
    (f) => f,
  );
}

/** Writes the SARIF log of `report` (indented when small, compact above), one result at a time. */
export function writeSarif(file: string, report: Report, toolVersion = SARIF_TOOL_VERSION): void {
  writeJsonDocument(file, (results) => sarifLog(results, toolVersion), report.findings, sarifResult);
}
