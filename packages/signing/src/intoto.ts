import { errorClass } from '@digestline/base';
export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** The DSSE payloadType of an in-toto statement. */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export const PredicateType = {
  spdx: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  slsaProvenance: 'https://slsa.dev/provenance/v1',
} as const;

export interface Subject {
  name: string;
  /** Algorithm → hex, e.g. `{ sha256: '…' }`. */
  digest: Record<string, string>;
}

export interface Statement<Predicate = unknown> {
  _type: typeof STATEMENT_V1;
  subject: Subject[];
  predicateType: string;
  predicate: Predicate;
}

/** The statement bytes are not an in-toto v1 statement. */
export class StatementError extends errorClass('StatementError', 'INVALID_STATEMENT', 'user') {}

const DIGEST = /^sha256:([a-f0-9]{64})$/;

/** An image as an in-toto subject: its name (registry/repository) and its manifest digest. */
export function imageSubject(name: string, digest: string): Subject {
  const hex = DIGEST.exec(digest)?.[1];
  if (hex === undefined)
    throw new StatementError(`subject digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  return { name, digest: { sha256: hex } };
}

export function statement<Predicate>(
  subject: Subject | Subject[],
  predicateType: string,
  predicate: Predicate,
): Statement<Predicate> {
  const subjects = Array.isArray(subject) ? subject : [subject];
  if (subjects.length === 0) throw new StatementError('a statement needs at least one subject');
  if (predicateType === '') throw new StatementError('a statement needs a predicateType');
  return { _type: STATEMENT_V1, subject: subjects, predicateType, predicate };
}

/**
 * An SBOM attestation. The predicate type follows from the document itself (SPDX JSON carries
 * `spdxVersion`, CycloneDX JSON `bomFormat: "CycloneDX"`), so a caller cannot label one as the other.
 */
export function sbomStatement(subject: Subject | Subject[], sbom: Record<string, unknown>): Statement {
  if (typeof sbom.spdxVersion === 'string' && sbom.spdxVersion.startsWith('SPDX-2')) {
    return statement(subject, PredicateType.spdx, sbom);
  }
  if (sbom.bomFormat === 'CycloneDX') return statement(subject, PredicateType.cyclonedx, sbom);
  throw new StatementError(
    'the SBOM is neither SPDX 2 JSON (spdxVersion "SPDX-2.x") nor CycloneDX JSON (bomFormat "CycloneDX")',
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseStatement(bytes: Buffer | string): Statement {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString());
  } catch {
    throw new StatementError('the statement is not JSON');
  }
  if (!isObject(document) || document._type !== STATEMENT_V1) {
    throw new StatementError(`the statement _type is not ${STATEMENT_V1}`);
  }
  const { subject, predicateType } = document;
  const wellFormed = (s: unknown) =>
    isObject(s) &&
    typeof s.name === 'string' &&
    isObject(s.digest) &&
    Object.values(s.digest).every((v) => typeof v === 'string');
  if (!Array.isArray(subject) || subject.length === 0 || !subject.every(wellFormed)) {
    throw new StatementError('the statement subject must be a non-empty list of {name, digest}');
  }
  if (typeof predicateType !== 'string' || predicateType === '') {
    throw new StatementError('the statement has no predicateType');
  }
  return document as unknown as Statement;
}

/** Whether the statement is about the artifact with this `sha256:<hex>` digest. */
export function isAbout(statement: Statement, digest: string): boolean {
  const hex = DIGEST.exec(digest)?.[1];
  return hex !== undefined && statement.subject.some((s) => s.digest.sha256 === hex);
}
