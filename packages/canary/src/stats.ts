/*
 * The statistics behind the baseline comparison. Both tests are one-sided: the question is only ever
 * "is the canary worse than stable?", never "is it different?".
 */

/** Standard normal CDF (Abramowitz & Stegun 7.1.26; absolute error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Two-proportion z-test: p-value for "the canary's error proportion is higher than stable's".
 * With no errors on either side (or errors everywhere) the proportions cannot differ: p = 1.
 */
export function twoProportionPValue(
  canary: { errors: number; total: number },
  stable: { errors: number; total: number },
): number {
  if (canary.total === 0 || stable.total === 0) return 1;
  const p1 = canary.errors / canary.total;
  const p2 = stable.errors / stable.total;
  const pooled = (canary.errors + stable.errors) / (canary.total + stable.total);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / canary.total + 1 / stable.total));
  if (se === 0) return 1;
  return 1 - normalCdf((p1 - p2) / se);
}

/**
 * Mann-Whitney U test (normal approximation with tie and continuity correction): p-value for "canary
 * latencies tend to be larger than stable's". Rank-based, so one slow outlier cannot decide it alone.
 */
export function mannWhitneyPValue(canary: number[], stable: number[]): number {
  const n1 = canary.length;
  const n2 = stable.length;
  if (n1 === 0 || n2 === 0) return 1;
  const all = [...canary.map((v) => ({ v, c: true })), ...stable.map((v) => ({ v, c: false }))].sort(
    (a, b) => a.v - b.v,
  );
  const n = n1 + n2;
  let rankSumCanary = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const rank = (i + j) / 2 + 1;
    const ties = j - i + 1;
    tieTerm += ties ** 3 - ties;
    for (let k = i; k <= j; k++) if ((all[k] as { c: boolean }).c) rankSumCanary += rank;
    i = j + 1;
  }
  const u = rankSumCanary - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return 1;
  return 1 - normalCdf((u - mean - 0.5) / Math.sqrt(variance));
}

/** Nearest-rank percentile of unsorted values; undefined for none. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}
