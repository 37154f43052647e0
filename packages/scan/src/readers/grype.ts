import { type Finding, normaliseSeverity } from '../finding.js';
import { type ReportContext, repoPath } from './common.js';
import { checkShape, type Shape } from './shape.js';

interface GrypeMatch {
  vulnerability: {
    id: string;
    severity?: string;
    description?: string;
    cvss?: { type?: string; metrics?: { baseScore?: number } }[];
    fix?: { versions?: string[]; state?: string };
  };
  artifact: { name: string; version?: string; type?: string; purl?: string; locations?: { path: string }[] };
}

export interface GrypeReport {
  matches: GrypeMatch[];
  source?: { type?: string; target?: string | { userInput?: string } };
}

/** What readGrype reads, and of which type. */
const SHAPE: Shape = {
  required: ['matches'],
  fields: {
    matches: {
      list: {
        required: ['vulnerability', 'artifact'],
        fields: {
          vulnerability: {
            required: ['id'],
            fields: {
              id: 'name',
              severity: 'string',
              description: 'string',
              cvss: { list: { fields: { type: 'string', metrics: { fields: { baseScore: 'number' } } } } },
              fix: { fields: { versions: { list: 'string' }, state: 'string' } },
            },
          },
          artifact: {
            required: ['name'],
            fields: {
              name: 'name',
              version: 'string',
              type: 'string',
              purl: 'string',
              locations: { list: { required: ['path'], fields: { path: 'string' } } },
            },
          },
        },
      },
    },
    source: {
      fields: { type: 'string', target: { either: ['string', { fields: { userInput: 'string' } }] } },
    },
  },
};

export function isGrype(value: Record<string, unknown>): boolean {
  return Array.isArray(value.matches) && ('source' in value || 'descriptor' in value);
}

const STATUS: Record<string, string> = {
  fixed: 'fixed',
  'not-fixed': 'affected',
  'wont-fix': 'will_not_fix',
};

function score(match: GrypeMatch): number | undefined {
  const scores = (match.vulnerability.cvss ?? [])
    .map((cvss) => cvss.metrics?.baseScore)
    .filter((value): value is number => typeof value === 'number');
  return scores.length > 0 ? Math.max(...scores) : undefined;
}

// A description is a paragraph; its first sentence makes a usable title.
function firstSentence(text: string): string {
  const end = text.search(/\.\s/);
  return end > 0 && end < 200 ? text.slice(0, end + 1) : text.slice(0, 200);
}

// Operating-system packages are installed once; their database path says nothing, and Trivy has none.
const OS_PACKAGES = new Set(['deb', 'rpm', 'apk', 'alpm', 'portage']);

export function readGrype(report: GrypeReport, context: ReportContext): Finding[] {
  checkShape(report, SHAPE, { file: context.file, format: 'Grype' });
  const source = report.source ?? {};
  const inRepository = source.type === 'directory' || source.type === 'file';
  const target =
    typeof source.target === 'string' ? source.target : (source.target?.userInput ?? 'unknown target');
  return report.matches.map((match) => {
    const { vulnerability: v, artifact } = match;
    const path = artifact.locations?.[0]?.path;
    const fixed = v.fix?.state === 'fixed' ? v.fix.versions?.[0] : undefined;
    return {
      id: v.id,
      kind: 'vulnerability',
      severity: normaliseSeverity(v.severity),
      package: artifact.name,
      installedVersion: artifact.version,
      fixedVersion: fixed,
      purl: artifact.purl || undefined,
      targets: [target],
      location: inRepository && path ? { file: repoPath(path) } : undefined,
      artifactPath:
        !inRepository && path && !OS_PACKAGES.has(artifact.type ?? '') ? repoPath(path) : undefined,
      status: STATUS[v.fix?.state ?? ''] ?? 'unknown',
      title: v.description ? firstSentence(v.description) : `${v.id} in ${artifact.name}`,
      cvss: score(match),
      tools: ['grype'],
    } satisfies Finding;
  });
}
