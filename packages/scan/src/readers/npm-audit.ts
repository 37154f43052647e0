import { type Finding, normaliseSeverity, type Severity, severityRank } from '../finding.js';
import type { ReportContext } from './common.js';
import { checkShape, type Shape } from './shape.js';

interface NpmAdvisory {
  source?: number;
  name?: string;
  title?: string;
  url?: string;
  severity?: string;
  cvss?: { score?: number };
  range?: string;
}

interface NpmVulnerability {
  name: string;
  severity?: string;
  via?: (string | NpmAdvisory)[];
  range?: string;
  fixAvailable?: boolean | { name: string; version: string };
}

export interface NpmAuditV2 {
  auditReportVersion: 2;
  vulnerabilities: Record<string, NpmVulnerability>;
}

interface LegacyAdvisory {
  id: number | string;
  module_name: string;
  severity?: string;
  title?: string;
  github_advisory_id?: string;
  cves?: string[];
  url?: string;
  patched_versions?: string;
  cvss?: { score?: number };
  findings?: { version?: string }[];
}

/** `npm audit --json` before npm 7, and `pnpm audit --json` to this day. */
export interface NpmAuditLegacy {
  advisories: Record<string, LegacyAdvisory>;
}

const SCORE: Shape = { fields: { score: 'number' } };

/** What readNpmAuditV2 reads, and of which type. */
const V2_SHAPE: Shape = {
  fields: {
    vulnerabilities: {
      map: {
        required: ['name'],
        fields: {
          name: 'name',
          severity: 'string',
          range: 'string',
          via: {
            list: {
              either: [
                'string',
                {
                  fields: {
                    source: 'number',
                    name: 'string',
                    title: 'string',
                    url: 'string',
                    severity: 'string',
                    range: 'string',
                    cvss: SCORE,
                  },
                },
              ],
            },
          },
          fixAvailable: {
            either: [
              'boolean',
              { required: ['name', 'version'], fields: { name: 'string', version: 'string' } },
            ],
          },
        },
      },
    },
  },
};

/** What readNpmAuditLegacy reads, and of which type. */
const LEGACY_SHAPE: Shape = {
  fields: {
    advisories: {
      map: {
        required: ['id', 'module_name'],
        fields: {
          id: { either: ['integer', 'name'] },
          module_name: 'name',
          severity: 'string',
          title: 'string',
          github_advisory_id: 'string',
          url: 'string',
          patched_versions: 'string',
          cvss: SCORE,
          findings: { list: { fields: { version: 'string' } } },
        },
      },
    },
  },
};

export function isNpmAuditV2(value: Record<string, unknown>): boolean {
  return value.auditReportVersion === 2 && typeof value.vulnerabilities === 'object';
}

export function isNpmAuditLegacy(value: Record<string, unknown>): boolean {
  return typeof value.advisories === 'object' && value.advisories !== null && 'metadata' in value;
}

const ghsa = (url: string | undefined) => /GHSA(?:-[a-z0-9]{4}){3}/i.exec(url ?? '')?.[0];
// npm's own scores of 0 mean "not scored", not "harmless".
const scoreOf = (cvss: { score?: number } | undefined) => (cvss?.score ? cvss.score : undefined);

/**
 * One finding per vulnerable package, as npm counts them in `metadata.vulnerabilities`. A package that
 * is only vulnerable through a dependency (its `via` names packages, not advisories) is reported with
 * the most severe advisory reachable through it, so a waiver for that advisory covers it too.
 */
export function readNpmAuditV2(report: NpmAuditV2, context: ReportContext): Finding[] {
  checkShape(report, V2_SHAPE, { file: context.file, format: 'npm audit' });
  const entries = report.vulnerabilities;
  // A walk with its own stack: a chain of packages as long as the report must not exhaust the call stack.
  const advisoriesOf = (start: string): NpmAdvisory[] => {
    const found: NpmAdvisory[] = [];
    const seen = new Set<string>();
    const queue = [start];
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const entry = Object.hasOwn(entries, name) ? entries[name] : undefined;
      for (const via of entry?.via ?? []) {
        if (typeof via === 'string') queue.push(via);
        else found.push(via);
      }
    }
    return found;
  };
  return Object.values(entries).map((entry) => {
    const direct = (entry.via ?? []).filter((via): via is NpmAdvisory => typeof via !== 'string');
    const advisories = direct.length > 0 ? direct : advisoriesOf(entry.name);
    const worst = advisories.reduce<NpmAdvisory | undefined>(
      (best, next) =>
        !best ||
        severityRank(normaliseSeverity(next.severity)) > severityRank(normaliseSeverity(best.severity))
          ? next
          : best,
      undefined,
    );
    const id = ghsa(worst?.url) ?? (worst?.source ? `npm-${worst.source}` : `npm:${entry.name}`);
    const through =
      direct.length > 0 ? '' : ` (through ${entry.via?.filter((v) => typeof v === 'string').join(', ')})`;
    const fix = entry.fixAvailable;
    return {
      id,
      kind: 'vulnerability',
      severity: normaliseSeverity(entry.severity) as Severity,
      package: entry.name,
      fixedVersion: typeof fix === 'object' ? `${fix.name}@${fix.version}` : undefined,
      purl: `pkg:npm/${entry.name}`,
      targets: ['package-lock.json'],
      location: { file: 'package-lock.json' },
      status: fix ? 'fixed' : 'affected',
      title: `${worst?.title ?? id}${through}`,
      cvss: scoreOf(worst?.cvss),
      tools: ['npm-audit'],
    } satisfies Finding;
  });
}

/** One finding per advisory, as pnpm counts them. */
export function readNpmAuditLegacy(report: NpmAuditLegacy, context: ReportContext): Finding[] {
  checkShape(report, LEGACY_SHAPE, { file: context.file, format: 'pnpm audit' });
  return Object.values(report.advisories).map((advisory) => {
    const versions = [...new Set((advisory.findings ?? []).map((f) => f.version).filter(Boolean))];
    const patched = advisory.patched_versions;
    const unfixable = patched === undefined || patched === '<0.0.0';
    return {
      id: advisory.github_advisory_id ?? ghsa(advisory.url) ?? `npm-${advisory.id}`,
      kind: 'vulnerability',
      severity: normaliseSeverity(advisory.severity),
      package: advisory.module_name,
      installedVersion: versions.length > 0 ? versions.join(', ') : undefined,
      fixedVersion: unfixable ? undefined : patched,
      purl: `pkg:npm/${advisory.module_name}`,
      targets: ['pnpm-lock.yaml'],
      location: { file: 'pnpm-lock.yaml' },
      status: unfixable ? 'affected' : 'fixed',
      title: advisory.title ?? advisory.module_name,
      cvss: scoreOf(advisory.cvss),
      tools: ['pnpm-audit'],
    } satisfies Finding;
  });
}
