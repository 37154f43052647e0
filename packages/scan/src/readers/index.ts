import { ScanInputError } from '../errors.js';
import type { Finding } from '../finding.js';
import { parseReportJson } from '../json.js';
import { type GrypeReport, isGrype, readGrype } from './grype.js';
import {
  isNpmAuditLegacy,
  isNpmAuditV2,
  type NpmAuditLegacy,
  type NpmAuditV2,
  readNpmAuditLegacy,
  readNpmAuditV2,
} from './npm-audit.js';
import { isSarif, readSarif, type SarifLog } from './sarif.js';
import { isTrivy, readTrivy, type TrivyReport } from './trivy.js';

export type ReportFormat = 'trivy' | 'grype' | 'npm-audit' | 'npm-audit-legacy' | 'sarif';

export interface Report {
  file: string;
  format: ReportFormat;
  findings: Finding[];
}

/** Reads one report whose format is recognised from its content, not its name. */
export function readReport(text: string, file: string): Report {
  return readParsedReport(parseReportJson(text, file), file);
}

/** The same, for a document already parsed: lets the caller drop the text before findings are built. */
export function readParsedReport(value: unknown, file: string): Report {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw unknownFormat(file, Array.isArray(value) ? 'a JSON array' : `a JSON ${typeof value}`);
  }
  const doc = value as Record<string, unknown>;
  const context = { file };
  if (isTrivy(doc))
    return { file, format: 'trivy', findings: readTrivy(doc as unknown as TrivyReport, context) };
  if (isSarif(doc))
    return { file, format: 'sarif', findings: readSarif(doc as unknown as SarifLog, context) };
  if (isGrype(doc))
    return { file, format: 'grype', findings: readGrype(doc as unknown as GrypeReport, context) };
  if (isNpmAuditV2(doc)) {
    return { file, format: 'npm-audit', findings: readNpmAuditV2(doc as unknown as NpmAuditV2, context) };
  }
  if (isNpmAuditLegacy(doc)) {
    return {
      file,
      format: 'npm-audit-legacy',
      findings: readNpmAuditLegacy(doc as unknown as NpmAuditLegacy, context),
    };
  }
  const keys = Object.keys(doc).slice(0, 5);
  throw unknownFormat(
    file,
    keys.length > 0 ? `an object with the keys ${keys.join(', ')}` : 'an empty object',
  );
}

function unknownFormat(file: string, what: string): ScanInputError {
  return new ScanInputError(
    `${file} is not a report scan-gate can read: it holds ${what}. Expected Trivy JSON (SchemaVersion 2), Grype JSON, \`npm audit --json\`, \`pnpm audit --json\` or SARIF 2.1.0.`,
    { file },
  );
}
