import { ScanInputError } from '../errors.js';
import { type Finding, normaliseSeverity } from '../finding.js';
import { type ReportContext, repoPath } from './common.js';
import { checkShape, type Shape } from './shape.js';

interface TrivyCvss {
  V2Score?: number;
  V3Score?: number;
  V40Score?: number;
}

interface TrivyVulnerability {
  VulnerabilityID: string;
  PkgName?: string;
  /** Set for language packages inside images, where one package can be installed more than once. */
  PkgPath?: string;
  PkgIdentifier?: { PURL?: string };
  InstalledVersion?: string;
  FixedVersion?: string;
  Status?: string;
  Severity?: string;
  SeveritySource?: string;
  Title?: string;
  CVSS?: Record<string, TrivyCvss>;
}

interface TrivyMisconfiguration {
  ID: string;
  AVDID?: string;
  Title?: string;
  Message?: string;
  Severity?: string;
  Status?: string;
  CauseMetadata?: { StartLine?: number; EndLine?: number };
}

interface TrivySecret {
  RuleID: string;
  Title?: string;
  Severity?: string;
  StartLine?: number;
  EndLine?: number;
}

interface TrivyResult {
  Target: string;
  Vulnerabilities?: TrivyVulnerability[] | null;
  Misconfigurations?: TrivyMisconfiguration[] | null;
  Secrets?: TrivySecret[] | null;
}

export interface TrivyReport {
  SchemaVersion: unknown;
  ArtifactName?: string;
  ArtifactType?: string;
  Results?: TrivyResult[] | null;
}

const TEXT: Shape = 'string';
const LINES = { StartLine: 'integer', EndLine: 'integer' } as const;

/** What readTrivy reads, and of which type. */
const SHAPE: Shape = {
  fields: {
    ArtifactName: TEXT,
    ArtifactType: TEXT,
    Results: {
      list: {
        required: ['Target'],
        fields: {
          Target: TEXT,
          Vulnerabilities: {
            list: {
              required: ['VulnerabilityID'],
              fields: {
                VulnerabilityID: 'name',
                PkgName: TEXT,
                PkgPath: TEXT,
                PkgIdentifier: { fields: { PURL: TEXT } },
                InstalledVersion: TEXT,
                FixedVersion: TEXT,
                Status: TEXT,
                Severity: TEXT,
                SeveritySource: TEXT,
                Title: TEXT,
                CVSS: { map: { fields: { V2Score: 'number', V3Score: 'number', V40Score: 'number' } } },
              },
            },
          },
          Misconfigurations: {
            list: {
              required: ['ID'],
              fields: {
                ID: 'name',
                Title: TEXT,
                Message: TEXT,
                Severity: TEXT,
                Status: TEXT,
                CauseMetadata: { fields: LINES },
              },
            },
          },
          Secrets: {
            list: { required: ['RuleID'], fields: { RuleID: 'name', Title: TEXT, Severity: TEXT, ...LINES } },
          },
        },
      },
    },
  },
};

// Scans of a checkout: their targets are paths in the repository, so findings can point at a file.
const FILE_ARTIFACTS = new Set(['repository', 'filesystem', 'fs']);

export function isTrivy(value: Record<string, unknown>): boolean {
  return 'SchemaVersion' in value && ('Results' in value || 'ArtifactName' in value);
}

const cvssScore = (cvss: TrivyCvss | undefined) => cvss?.V3Score ?? cvss?.V40Score ?? cvss?.V2Score;

/** The score of the severity's own source, else NVD's, else the first source's that has one. */
function score(vulnerability: TrivyVulnerability): number | undefined {
  const sources = vulnerability.CVSS;
  if (sources === undefined) return undefined;
  const own = vulnerability.SeveritySource ? cvssScore(sources[vulnerability.SeveritySource]) : undefined;
  if (own !== undefined) return own;
  const nvd = cvssScore(sources.nvd);
  if (nvd !== undefined) return nvd;
  for (const name in sources) {
    const value = cvssScore(sources[name]);
    if (value !== undefined) return value;
  }
  return undefined;
}

export function readTrivy(report: TrivyReport, context: ReportContext): Finding[] {
  if (report.SchemaVersion !== 2) {
    throw new ScanInputError(
      `${context.file} is a Trivy report with SchemaVersion ${JSON.stringify(report.SchemaVersion)}; only SchemaVersion 2 is supported: upgrade Trivy to 0.20 or later and use \`--format json\`.`,
      { file: context.file },
    );
  }
  checkShape(report, SHAPE, { file: context.file, format: 'Trivy' });
  const inRepository = FILE_ARTIFACTS.has(report.ArtifactType ?? '');
  const findings: Finding[] = [];
  // One array each for all the findings of a target (never changed: merging makes new ones).
  const tools = ['trivy'];
  for (const result of report.Results ?? []) {
    const file = inRepository ? repoPath(result.Target) : undefined;
    const targets = [inRepository ? result.Target : (report.ArtifactName ?? result.Target)];
    const artifactPath = inRepository ? undefined : result.Target;
    for (const v of result.Vulnerabilities ?? []) {
      findings.push({
        id: v.VulnerabilityID,
        kind: 'vulnerability',
        severity: normaliseSeverity(v.Severity),
        package: v.PkgName,
        installedVersion: v.InstalledVersion,
        fixedVersion: v.FixedVersion || undefined,
        purl: v.PkgIdentifier?.PURL,
        targets,
        location: file === undefined ? undefined : { file },
        artifactPath: file === undefined && v.PkgPath ? repoPath(v.PkgPath) : undefined,
        status: v.Status ?? (v.FixedVersion ? 'fixed' : 'affected'),
        title: v.Title ?? v.VulnerabilityID,
        cvss: score(v),
        tools,
      });
    }
    for (const m of result.Misconfigurations ?? []) {
      // `--include-non-failures` adds passed checks to the same list.
      if (m.Status !== undefined && m.Status !== 'FAIL') continue;
      const line = m.CauseMetadata?.StartLine;
      findings.push({
        id: m.ID,
        kind: 'misconfiguration',
        severity: normaliseSeverity(m.Severity),
        targets,
        location:
          file === undefined
            ? undefined
            : { file, line: line || undefined, endLine: m.CauseMetadata?.EndLine },
        artifactPath,
        status: 'affected',
        title: m.Message ? `${m.Title ?? m.ID}: ${m.Message}` : (m.Title ?? m.ID),
        tools,
      });
    }
    for (const s of result.Secrets ?? []) {
      findings.push({
        id: s.RuleID,
        kind: 'secret',
        severity: normaliseSeverity(s.Severity),
        targets,
        location: file === undefined ? undefined : { file, line: s.StartLine, endLine: s.EndLine },
        artifactPath,
        status: 'affected',
        title: s.Title ?? s.RuleID,
        tools,
      });
    }
  }
  return findings;
}
