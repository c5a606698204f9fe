// The statistics of the regression gate, on cases with known answers: Mann-Whitney U p-values
// against published critical values and hand-computed exact distributions, ties (exact over
// mid-ranks and the tie-corrected normal approximation), the smallest reachable p, and the
// coverage of the bootstrap interval of the median that every summary carries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mannWhitney, minTrialsFor, smallestPValue } from '../../../bench/lib/mann-whitney.ts';
import { median, seededRandom } from '../../../bench/lib/stats.ts';
import { summarizeTrials } from '../../../bench/lib/summary.ts';
import { isKdpError } from '../../../dataplane/errors.ts';

/** Samples of sizes n1, n2 over the values 1..n1+n2 whose U (of the first) is exactly `u`. */
function withU(n1: number, n2: number, u: number): [number[], number[]] {
  const ranks = Array.from({ length: n1 }, (_, i) => i + 1);
  let left = u;
  for (let i = n1 - 1; i >= 0 && left > 0; i--) {
    const room = n2 + i + 1 - ranks[i];
    const step = Math.min(room, left);
    ranks[i] += step;
    left -= step;
  }
  const b = Array.from({ length: n1 + n2 }, (_, i) => i + 1).filter((r) => !ranks.includes(r));
  return [ranks, b];
}

/**
 * Two-sided permutation p by enumerating every split of the pooled values (small n only): twice
 * the smaller tail, the convention of R and SciPy (with ties the null distribution is not symmetric).
 */
function bruteForceP(a: number[], b: number[]): number {
  const all = [...a, ...b];
  const u = (xs: number[], ys: number[]) =>
    xs.reduce((s, x) => s + ys.reduce((t, y) => t + (x > y ? 1 : x === y ? 0.5 : 0), 0), 0);
  const observed = u(a, b);
  let atOrBelow = 0;
  let atOrAbove = 0;
  let total = 0;
  const pick = (start: number, chosen: number[]): void => {
    if (chosen.length === a.length) {
      const xs = chosen.map((i) => all[i]);
      const ys = all.filter((_, i) => !chosen.includes(i));
      total++;
      const v = u(xs, ys);
      if (v <= observed) atOrBelow++;
      if (v >= observed) atOrAbove++;
      return;
    }
    for (let i = start; i < all.length; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return Math.min(1, (2 * Math.min(atOrBelow, atOrAbove)) / total);
}

test('exact p-values match the published critical values (two-sided, alpha 0.05)', () => {
  // Tables of the Mann-Whitney U: critical U for n1 = n2 = 5 is 2, for 10 and 10 it is 23, for 8 and 8 it is 13.
  for (const [n, critical] of [
    [5, 2],
    [8, 13],
    [10, 23],
  ]) {
    const at = mannWhitney(...withU(n, n, critical));
    const above = mannWhitney(...withU(n, n, critical + 1));
    assert.equal(at.u, critical);
    assert.equal(at.method, 'exact');
    assert.ok(at.p <= 0.05, `n=${n}: U=${critical} must be significant, p=${at.p}`);
    assert.ok(above.p > 0.05, `n=${n}: U=${critical + 1} must not be, p=${above.p}`);
  }
});

test('exact p-values equal the hand-counted distribution', () => {
  // n1 = n2 = 5: C(10,5) = 252 splits; U <= 2 happens 1 + 1 + 2 = 4 ways, U <= 3 seven ways.
  assert.equal(mannWhitney(...withU(5, 5, 2)).p, 8 / 252);
  assert.equal(mannWhitney(...withU(5, 5, 3)).p, 14 / 252);
  // Complete separation: 2 / C(n1+n2, n1).
  assert.equal(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4]).p, 2 / 70);
  assert.equal(mannWhitney([1, 2, 3], [4, 5, 6]).p, 2 / 20);
  assert.equal(mannWhitney([1, 2, 3], [1, 2, 3]).p, 1);
});

test('ties: the exact test over mid-ranks equals brute-force enumeration', () => {
  const cases: Array<[number[], number[]]> = [
    [
      [1, 2, 2, 3, 5],
      [2, 3, 3, 4, 6, 6],
    ],
    [
      [10, 10, 10, 12],
      [10, 11, 12, 12, 13],
    ],
    [
      [7, 7, 8, 9, 9, 9],
      [9, 9, 10, 11, 11, 12],
    ],
  ];
  for (const [a, b] of cases) {
    const r = mannWhitney(a, b);
    assert.equal(r.method, 'exact');
    assert.ok(Math.abs(r.p - bruteForceP(a, b)) < 1e-12, `${a} vs ${b}: ${r.p} != ${bruteForceP(a, b)}`);
  }
});

test('the normal approximation applies the tie and continuity corrections', () => {
  // By hand: mid-ranks 1.5 1.5 3.5 | 3.5 5.5 5.5, U = 0.5, mean 4.5, tie term 3*(8-2)/30 = 0.6,
  // sigma = sqrt(9/12 * (7 - 0.6)) = 2.19089, z = (4 - 0.5) / 2.19089 = 1.5975, p = 0.1102.
  const r = mannWhitney([1, 1, 2], [2, 3, 3], 'normal');
  assert.equal(r.u, 0.5);
  assert.ok(Math.abs(r.p - 0.1102) < 5e-4, `p=${r.p}`);
  assert.equal(mannWhitney([4, 4, 4], [4, 4, 4, 4], 'normal').p, 1);
});

test('large samples use the normal approximation, which agrees with the exact test', () => {
  const rand = seededRandom(7);
  const a = Array.from({ length: 20 }, () => rand());
  const b = Array.from({ length: 20 }, () => rand() + 0.2);
  const exact = mannWhitney(a, b, 'exact');
  const normal = mannWhitney(a, b, 'normal');
  assert.ok(Math.abs(exact.p - normal.p) < 0.01, `exact ${exact.p} vs normal ${normal.p}`);
  assert.equal(mannWhitney([...a, 0.5], [...b, 0.5]).method, 'normal');
  assert.equal(mannWhitney(a, b).p, mannWhitney(b, a).p);
});

test('too few trials can never reach alpha: 3 a side gives at best p = 0.1', () => {
  assert.equal(smallestPValue(3, 3), 0.1);
  assert.ok(smallestPValue(4, 4) < 0.05);
  assert.ok(smallestPValue(4, 3) >= 0.05);
  assert.equal(minTrialsFor(0.05), 4);
  assert.equal(minTrialsFor(0.01), 5);
});

function normalSample(rand: () => number, n: number): number[] {
  return Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()),
  );
}

test('the 95% bootstrap interval of the median covers the true median about 95% of the time', () => {
  const rand = seededRandom(42);
  const runs = 200;
  let covered = 0;
  for (let i = 0; i < runs; i++) {
    const s = summarizeTrials(normalSample(rand, 25), i + 1);
    if (s.ciLow <= 0 && 0 <= s.ciHigh) covered++;
  }
  // Percentile bootstraps of the median run a little wide or narrow at n = 25; 200 runs add +-3%.
  assert.ok(covered / runs > 0.88 && covered / runs < 0.995, `coverage ${covered / runs}`);
});

test('summaries hold the median, mean, range and an interval around the median', () => {
  const s = summarizeTrials([3, 1, 2, 10]);
  assert.deepEqual(
    { n: s.n, median: s.median, mean: s.mean, min: s.min, max: s.max },
    { n: 4, median: 2.5, mean: 4, min: 1, max: 10 },
  );
  assert.ok(s.ciLow <= s.median && s.median <= s.ciHigh);
  assert.deepEqual(summarizeTrials([3, 1, 2, 10]), s, 'seeded: the same trials give the same summary');
  assert.equal(median([1, 2, 3]), summarizeTrials([1, 2, 3]).median);
  assert.throws(
    () => summarizeTrials([]),
    (e) => isKdpError(e, 'KDP_ERR_BENCH_TRIALS'),
  );
  assert.throws(
    () => summarizeTrials([1, NaN]),
    (e) => isKdpError(e, 'KDP_ERR_BENCH_TRIALS'),
  );
});
