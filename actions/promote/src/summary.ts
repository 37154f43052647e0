import { details, table } from '@digestline/action-kit';
import type { PromotionResult } from '@digestline/promotion';

export function summarySections(digest: string, result: PromotionResult): string[] {
  const heading =
    result.outcome === 'unchanged'
      ? `### Promotion to ${result.to}: already done, nothing changed`
      : `### ${result.outcome === 'rolled-back' ? 'Rolled back' : 'Promoted'} ${result.from ?? ''}${result.from === undefined ? '' : ' → '}${result.to}`;
  const rows: (string | number)[][] = [
    [
      'from → to',
      `${result.from ?? (result.outcome === 'rolled-back' ? '(rollback)' : '(new build)')} → ${result.to}`,
    ],
    ['image', `\`${result.imageRef}\``],
    ['tag', `\`${result.promotedTag}\``],
    ['digest', `\`${digest}\``],
    ['previous digest', result.previousDigest === undefined ? '(none)' : `\`${result.previousDigest}\``],
  ];
  if (result.deploymentId !== undefined) rows.push(['deployment', String(result.deploymentId)]);
  if (result.recordDigest !== undefined) rows.push(['promotion record', `\`${result.recordDigest}\``]);
  const sections = [heading, table(['', ''], rows)];
  if (result.checks.length > 0) {
    sections.push(
      details(
        `Checks passed (${result.checks.length})`,
        table(
          ['check', 'result'],
          result.checks.map((c) => [c.name, `✅ ${c.detail}`]),
        ),
      ),
    );
  }
  if (result.copy !== undefined) {
    const { blobs, signatures, referrers } = result.copy;
    sections.push(
      details(
        'Copy to the target repository',
        table(
          ['blobs mounted', 'blobs streamed', 'bytes streamed', 'already there', 'signatures', 'referrers'],
          [[blobs.mounted, blobs.copied, blobs.bytes, blobs.existed, signatures, referrers]],
        ),
      ),
    );
  }
  return sections;
}
