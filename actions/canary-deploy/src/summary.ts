import { details, mermaid, table } from '@digestline/action-kit';
import type { CanaryDeployResult, IntervalRecord } from '@digestline/canary';

const percent = (rate: number | undefined) => (rate === undefined ? '–' : `${(rate * 100).toFixed(1)} %`);
const ms = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value)} ms`);

function chart(
  title: string,
  axis: string,
  intervals: IntervalRecord[],
  value: (i: IntervalRecord) => number | undefined,
): string {
  // xychart-beta needs a number for every point; a gap (no data) is drawn as 0.
  const points = intervals.map((i) => Number((value(i) ?? 0).toFixed(2)));
  return mermaid(
    [
      'xychart-beta',
      `  title "${title}"`,
      `  x-axis "interval" [${intervals.map((i) => i.index).join(', ')}]`,
      `  y-axis "${axis}"`,
      `  line [${points.join(', ')}]`,
    ].join('\n'),
  );
}

/** Decision and reason first, then a row per interval and the error rate and p99 over time. */
export function summarySections(image: string, digest: string, result: CanaryDeployResult): string[] {
  const heading = result.result === 'promoted' ? '✅ Canary promoted' : '⛔ Canary rolled back';
  const rollback =
    result.rollback === undefined
      ? ''
      : `\n\nRollback started ${new Date(result.rollback.startedAt).toISOString()} and took ${result.rollback.durationMs} ms${result.rollback.error === undefined ? '' : ` and **failed**: ${result.rollback.error}`}.`;
  const rows = result.intervals.map((i) => [
    i.index,
    `${i.weight} %`,
    i.check.canary.requests ?? '–',
    percent(i.check.canary.errorRate),
    ms(i.check.canary.p99Ms),
    percent(i.check.stable?.errorRate),
    ms(i.check.stable?.p99Ms),
    i.check.outcome === i.check.counted ? i.check.outcome : `${i.check.outcome} (${i.check.counted})`,
    i.check.reasons.join('; '),
  ]);
  const start = result.intervals[0];
  return [
    `### ${heading}\n\n**${result.reason}**\n\n\`${image}@${digest}\`${result.previousDigest === undefined ? '' : ` (previous: \`${result.previousDigest}\`)`}, ${result.failedChecks} failed check(s).${rollback}`,
    table(
      ['#', 'weight', 'requests', 'error rate', 'p99', 'stable error rate', 'stable p99', 'check', 'why'],
      rows,
    ),
    ...(start === undefined
      ? []
      : [
          chart('Canary error rate (%)', 'error rate (%)', result.intervals, (i) =>
            i.check.canary.errorRate === undefined ? undefined : i.check.canary.errorRate * 100,
          ),
          chart('Canary p99 latency (ms)', 'p99 (ms)', result.intervals, (i) => i.check.canary.p99Ms),
        ]),
    details(
      'What the checks mean',
      'A check fails on a failed health probe, an error rate over the threshold, or a p99 over the threshold; with a baseline, only when the canary is also significantly worse than stable (two-proportion test for errors, Mann-Whitney U for latency). `no-data` is an interval with too few requests or unreadable metrics.',
    ),
  ];
}
