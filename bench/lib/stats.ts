/**
 * Statistics every benchmark reports with: medians and percentiles of samples, and bootstrap
 * confidence intervals for a statistic and for the ratio of two (a candidate against its
 * baseline measured in the same run, which is how kdp compares on shared, noisy machines).
 * Percentiles are nearest-rank (always an observed sample, as sockperf and most load tools
 * report them); the bootstrap is a percentile bootstrap with a seeded generator, so a report is
 * reproducible from its samples.
 */

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface Interval {
  /** The statistic of the samples themselves. */
  estimate: number;
  low: number;
  high: number;
  /** 0.95 for a 95% interval. */
  confidence: number;
}

export function ascending(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Nearest-rank percentile (0 < p <= 100) of samples in any order; NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = ascending(xs);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

/** The median: the middle sample, or the mean of the two middle ones. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = ascending(xs);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function summarize(xs: readonly number[]): Summary {
  const s = ascending(xs);
  return {
    n: s.length,
    min: s[0] ?? NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
    mean: mean(s),
  };
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resample(xs: readonly number[], rand: () => number): number[] {
  return Array.from({ length: xs.length }, () => xs[Math.floor(rand() * xs.length)]);
}

export interface BootstrapOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
}

function interval(estimate: number, values: number[], confidence: number): Interval {
  const tail = ((1 - confidence) / 2) * 100;
  return {
    estimate,
    low: percentile(values, Math.max(tail, 1e-9)),
    high: percentile(values, 100 - tail),
    confidence,
  };
}

/** Percentile-bootstrap interval of `statistic` (default the median) of `xs`. */
export function bootstrap(
  xs: readonly number[],
  statistic: (s: readonly number[]) => number = median,
  o: BootstrapOptions = {},
): Interval {
  const confidence = o.confidence ?? 0.95;
  if (xs.length === 0) return { estimate: NaN, low: NaN, high: NaN, confidence };
  const rand = seededRandom(o.seed ?? 1);
  const values = Array.from({ length: o.resamples ?? 2000 }, () => statistic(resample(xs, rand)));
  return interval(statistic(xs), values, confidence);
}

/**
 * Interval of statistic(a) / statistic(b), resampling both independently: "the candidate takes
 * 1.04x (0.98-1.10) the baseline's time". Samples measured interleaved in one run make it fair.
 */
export function bootstrapRatio(
  a: readonly number[],
  b: readonly number[],
  statistic: (s: readonly number[]) => number = median,
  o: BootstrapOptions = {},
): Interval {
  const confidence = o.confidence ?? 0.95;
  if (a.length === 0 || b.length === 0) return { estimate: NaN, low: NaN, high: NaN, confidence };
  const rand = seededRandom(o.seed ?? 1);
  const values = Array.from(
    { length: o.resamples ?? 2000 },
    () => statistic(resample(a, rand)) / statistic(resample(b, rand)),
  );
  return interval(statistic(a) / statistic(b), values, confidence);
}
