/**
 * The Mann-Whitney U test (Wilcoxon rank-sum): do two sets of trials come from the same
 * distribution? It assumes nothing about the shape of benchmark noise (often skewed, with
 * outliers from a busy neighbour), which is why benchstat and the regression gate use it rather
 * than a t-test. Small samples get the exact permutation distribution of the rank sum, computed
 * over the actual mid-ranks so ties are exact too; larger ones the normal approximation with
 * the tie and continuity corrections.
 */

export interface MannWhitneyResult {
  /** U of the first sample: pairs (x, y) with x > y, ties counting one half. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal';
}

/** Above this many trials in all, the exact distribution costs more than the approximation is off. */
export const EXACT_LIMIT = 40;

/** Mid-ranks (1-based; tied values share the mean of their ranks) of `all`, and the tie group sizes. */
function midRanks(all: readonly number[]): { ranks: number[]; ties: number[] } {
  const order = all.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(all.length);
  const ties: number[] = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = rank;
    ties.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, ties };
}

/**
 * Number of ways to pick `n1` of the ranks with each doubled rank sum (doubling keeps mid-ranks
 * integral): the rank-sum distribution under the null hypothesis, given the observed ties.
 */
function rankSumCounts(doubledRanks: readonly number[], n1: number): number[] {
  const total = doubledRanks.reduce((a, b) => a + b, 0);
  // ways[k][s]: subsets of size k of the ranks seen so far with doubled sum s.
  const ways = Array.from({ length: n1 + 1 }, () => new Array<number>(total + 1).fill(0));
  ways[0][0] = 1;
  for (const r of doubledRanks) {
    for (let k = n1; k >= 1; k--) {
      const from = ways[k - 1];
      const to = ways[k];
      for (let s = total; s >= r; s--) if (from[s - r] !== 0) to[s] += from[s - r];
    }
  }
  return ways[n1];
}

function normalCdf(z: number): number {
  // Abramowitz-Stegun 7.1.26 for erf: absolute error below 1.5e-7, plenty for a p-value.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Two-sided Mann-Whitney U test of `a` against `b`; p is 1 when either side is empty. `method`
 * forces one computation (tests compare them); by default exact up to EXACT_LIMIT trials in all.
 */
export function mannWhitney(
  a: readonly number[],
  b: readonly number[],
  method: 'exact' | 'normal' = a.length + b.length <= EXACT_LIMIT ? 'exact' : 'normal',
): MannWhitneyResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: NaN, p: 1, method: 'exact' };
  const { ranks, ties } = midRanks([...a, ...b]);
  const rankSum = ranks.slice(0, n1).reduce((x, y) => x + y, 0);
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  if (method === 'exact') {
    const doubled = ranks.map((r) => Math.round(r * 2));
    const counts = rankSumCounts(doubled, n1);
    const observed = Math.round(rankSum * 2);
    let all = 0;
    let atOrBelow = 0;
    let atOrAbove = 0;
    counts.forEach((c, s) => {
      all += c;
      if (s <= observed) atOrBelow += c;
      if (s >= observed) atOrAbove += c;
    });
    return { u, p: Math.min(1, (2 * Math.min(atOrBelow, atOrAbove)) / all), method: 'exact' };
  }
  const tieTerm = ties.reduce((acc, t) => acc + (t * t * t - t), 0) / (n * (n - 1));
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm));
  if (sigma === 0) return { u, p: 1, method: 'normal' };
  const z = (Math.abs(u - (n1 * n2) / 2) - 0.5) / sigma;
  return { u, p: Math.min(1, 2 * (1 - normalCdf(Math.max(0, z)))), method: 'normal' };
}

/**
 * The smallest two-sided p-value any outcome can reach with these sample sizes (complete
 * separation, no ties): 2 / C(n1+n2, n1). With 3 trials a side it is 0.1, so no test at 0.05 can
 * ever say "different"; the gate reports such comparisons as inconclusive rather than unchanged.
 */
export function smallestPValue(n1: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 1;
  let c = 1;
  for (let i = 1; i <= n1; i++) c = (c * (n2 + i)) / i;
  return Math.min(1, 2 / c);
}

/** Fewest trials per side (equal sizes) with which the test can reach `alpha` at all. */
export function minTrialsFor(alpha: number): number {
  let n = 1;
  while (smallestPValue(n, n) >= alpha) n++;
  return n;
}
