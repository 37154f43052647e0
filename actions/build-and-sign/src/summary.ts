import { details, table } from '@digestline/action-kit';
import type { Outcome } from '@digestline/build';

const code = (text: string) => `\`${text}\``;

/** A table first (what a reviewer scans for), the full tag list folded below it. */
export function summarize(outcome: Outcome): string[] {
  const rows: string[][] = [
    ['Image', code(outcome.image)],
    ['Digest', outcome.digest === undefined ? 'not pushed' : code(outcome.digest)],
    ['Platforms', outcome.platforms.join(', ')],
    ['Tags', outcome.tags.length === 0 ? 'none' : `${outcome.tags.length}`],
    [
      'Signature',
      outcome.signatureRef !== undefined
        ? `${outcome.signer ?? ''}: ${code(outcome.signatureRef)}`
        : `none (${outcome.skipped.signature ?? 'keyless: see provenance'})`,
    ],
    [
      'SBOM',
      outcome.sbom !== undefined
        ? `${code(outcome.sbom.predicateType)} attested as ${code(outcome.sbom.referrer)}${outcome.sbomTool === undefined ? '' : ` (made by ${outcome.sbomTool})`}`
        : `none (${outcome.skipped.sbom ?? 'not attested'})`,
    ],
    [
      'Provenance',
      outcome.provenance !== undefined
        ? `SLSA v1 attested as ${code(outcome.provenance.referrer)}`
        : `none (${outcome.skipped.provenance ?? 'not attested'})`,
    ],
  ];
  if (outcome.builder !== undefined) rows.push(['Builder', outcome.builder]);
  const sections = ['### build-and-sign', table(['', 'result'], rows)];
  if (outcome.tags.length > 0) {
    sections.push(details(`${outcome.tags.length} tags`, outcome.tags.map((t) => `- ${code(t)}`).join('\n')));
  }
  return sections;
}
