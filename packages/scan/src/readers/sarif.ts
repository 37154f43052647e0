import { ScanInputError } from '../errors.js';
import { type Finding, type Kind, normaliseSeverity, type Severity, severityFromScore } from '../finding.js';
import { type ReportContext, repoPath } from './common.js';
import { checkShape, type Shape } from './shape.js';

interface SarifRule {
  id: string;
  shortDescription?: { text?: string };
  properties?: { 'security-severity'?: string | number; tags?: string[] };
}

interface SarifResult {
  ruleId?: string;
  rule?: { id?: string; index?: number };
  ruleIndex?: number;
  level?: string;
  message?: { text?: string };
  locations?: {
    physicalLocation?: {
      artifactLocation?: { uri?: string };
      region?: { startLine?: number; endLine?: number };
    };
  }[];
}

interface SarifRun {
  tool?: { driver?: { name?: string; rules?: SarifRule[] } };
  results?: SarifResult[];
}

export interface SarifLog {
  version?: unknown;
  $schema?: unknown;
  runs: SarifRun[];
}

/** What readSarif reads, and of which type. */
const SHAPE: Shape = {
  fields: {
    runs: {
      list: {
        fields: {
          tool: {
            fields: {
              driver: {
                fields: {
                  name: 'string',
                  rules: {
                    list: {
                      required: ['id'],
                      fields: {
                        id: 'name',
                        shortDescription: { fields: { text: 'string' } },
                        properties: {
                          fields: {
                            'security-severity': { either: ['string', 'number'] },
                            tags: { list: 'string' },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
          results: {
            list: {
              fields: {
                ruleId: 'name',
                rule: { fields: { id: 'name', index: 'integer' } },
                ruleIndex: 'integer',
                level: 'string',
                message: { fields: { text: 'string' } },
                locations: {
                  list: {
                    fields: {
                      physicalLocation: {
                        fields: {
                          artifactLocation: { fields: { uri: 'string' } },
                          region: { fields: { startLine: 'integer', endLine: 'integer' } },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

export function isSarif(value: Record<string, unknown>): boolean {
  return Array.isArray(value.runs) && ('version' in value || '$schema' in value);
}

const LEVEL_SEVERITY: Record<string, Severity> = {
  error: 'high',
  warning: 'medium',
  note: 'low',
  none: 'unknown',
};

function kindOf(rule: SarifRule | undefined, id: string): Kind {
  const tags = (rule?.properties?.tags ?? []).map((tag) => tag.toLowerCase());
  if (tags.includes('secret')) return 'secret';
  if (tags.includes('misconfiguration')) return 'misconfiguration';
  if (tags.includes('vulnerability') || /^(CVE|GHSA)-/i.test(id)) return 'vulnerability';
  return 'misconfiguration';
}

// Trivy (and tools copying its layout) put the package in the message as `Package: name` lines.
const messageField = (text: string, field: string) =>
  new RegExp(`^${field}: (.+)$`, 'm').exec(text)?.[1]?.trim();

export function readSarif(log: SarifLog, context: ReportContext): Finding[] {
  if (log.version !== '2.1.0') {
    throw new ScanInputError(
      `${context.file} is SARIF version ${JSON.stringify(log.version)}; only SARIF 2.1.0 is supported (as by GitHub code scanning): configure the tool to write SARIF 2.1.0.`,
      { file: context.file },
    );
  }
  checkShape(log, SHAPE, { file: context.file, format: 'SARIF' });
  const findings: Finding[] = [];
  for (const run of log.runs) {
    const tool = run.tool?.driver?.name ?? 'sarif';
    const rules = run.tool?.driver?.rules ?? [];
    const ruleById = new Map(rules.map((rule) => [rule.id, rule]));
    for (const result of run.results ?? []) {
      const index = result.ruleIndex ?? result.rule?.index;
      const id = result.ruleId ?? result.rule?.id ?? (index !== undefined ? rules[index]?.id : undefined);
      if (id === undefined) continue;
      const rule = ruleById.get(id) ?? (index !== undefined ? rules[index] : undefined);
      const scoreText = rule?.properties?.['security-severity'];
      const score = scoreText === undefined ? undefined : Number(scoreText);
      const severity =
        score !== undefined && Number.isFinite(score)
          ? severityFromScore(score)
          : normaliseSeverity(LEVEL_SEVERITY[result.level ?? 'warning']);
      const physical = result.locations?.[0]?.physicalLocation;
      const uri = physical?.artifactLocation?.uri;
      const text = result.message?.text ?? '';
      const fixed = messageField(text, 'Fixed Version');
      findings.push({
        id,
        kind: kindOf(rule, id),
        severity,
        package: messageField(text, 'Package'),
        installedVersion: messageField(text, 'Installed Version'),
        fixedVersion: fixed,
        targets: [uri ?? context.file],
        location:
          uri === undefined
            ? undefined
            : { file: repoPath(uri), line: physical?.region?.startLine, endLine: physical?.region?.endLine },
        status: fixed ? 'fixed' : 'unknown',
        title: rule?.shortDescription?.text ?? (text.split('\n')[0] || id),
        cvss: score !== undefined && Number.isFinite(score) && score > 0 ? score : undefined,
        tools: [tool.toLowerCase()],
      });
    }
  }
  return findings;
}
