/**
 * The regression gate's decision: for every (cell, metric) of a baseline and a current run, did it
 * regress, improve, stay the same, or can the trials not tell? The rule (docs/BENCHMARKS.md says
 * why) is benchstat's, with a threshold: a change is real only when the Mann-Whitney U test says
 * the two sets of trials differ (p < alpha) AND the 95% bootstrap interval of the ratio of
 * medians (current / baseline) lies wholly beyond the threshold. Requiring both keeps a shared,
 * noisy machine from failing builds on luck, and keeps a real but tiny change from failing them.
 */
import type { BenchResults, Cell, CellAxes, Metric, MetricSummary } from '../lib/results.ts';
import { mannWhitney, minTrialsFor, smallestPValue } from '../lib/mann-whitney.ts';
import { bootstrapRatio } from '../lib/stats.ts';
import { type Thresholds, thresholdFor } from './thresholds.ts';

export type Verdict = 'regressed' | 'improved' | 'unchanged' | 'inconclusive' | 'missing' | 'new';
export const VERDICTS: Verdict[] = ['regressed', 'improved', 'inconclusive', 'unchanged', 'missing', 'new'];

export interface MetricComparison {
  cellId: string;
  axes: CellAxes;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  verdict: Verdict;
  /** One sentence a person can act on: why this verdict. */
  reason: string;
  baseline?: MetricSummary;
  current?: MetricSummary;
  /** current median / baseline median, with its 95% bootstrap interval. */
  ratio?: { estimate: number; low: number; high: number };
  /** Two-sided Mann-Whitney U p-value. */
  pValue?: number;
  threshold: number;
  alpha: number;
  /** For inconclusive verdicts: about how many trials per side would settle it. */
  trialsNeeded?: number;
}

export interface Comparison {
  alpha: number;
  baseline: { suite: string; gitCommit: string; startedAt: string };
  current: { suite: string; gitCommit: string; startedAt: string };
  metrics: MetricComparison[];
  counts: Record<Verdict, number>;
}

/** Bootstrap resamples and seed: fixed so the same two files always give the same verdicts. */
const RESAMPLES = 4000;
const SEED = 20261122;
/** Beyond this many trials per side an estimate is not worth printing. */
const MAX_TRIALS_ESTIMATE = 1000;

const pct = (x: number): string => `${(x * 100).toFixed(1).replace(/\.0$/, '')}%`;

/** Trials per side the interval would need to clear (or fit inside) the threshold, by 1/sqrt(n) scaling. */
function trialsToSettle(
  n: number,
  ratio: { estimate: number; low: number; high: number },
  t: number,
): number | undefined {
  const halfWidth = (ratio.high - ratio.low) / 2;
  const margin = Math.abs(Math.abs(ratio.estimate - 1) - t);
  if (margin < 0.005 || halfWidth === 0) return undefined;
  const needed = Math.ceil(n * (halfWidth / margin) ** 2);
  return needed > MAX_TRIALS_ESTIMATE ? undefined : Math.max(needed, n + 1);
}

function decide(base: Metric, cur: Metric, threshold: number, alpha: number): Partial<MetricComparison> {
  const bm = base.summary.median;
  if (bm === 0 || !Number.isFinite(bm)) {
    return { verdict: 'inconclusive', reason: 'the baseline median is 0: no ratio to judge' };
  }
  const r = bootstrapRatio(cur.trials, base.trials, undefined, { resamples: RESAMPLES, seed: SEED });
  const ratio = { estimate: r.estimate, low: r.low, high: r.high };
  const { p } = mannWhitney(cur.trials, base.trials);
  const out = { ratio, pValue: p };
  const nb = base.trials.length;
  const nc = cur.trials.length;
  if (smallestPValue(nb, nc) >= alpha) {
    const need = minTrialsFor(alpha);
    return {
      ...out,
      verdict: 'inconclusive',
      trialsNeeded: need,
      reason: `too few trials (${nb} baseline, ${nc} current): the test cannot reach p < ${alpha} with fewer than ${need} a side`,
    };
  }
  const worse = base.better === 'higher' ? ratio.high < 1 - threshold : ratio.low > 1 + threshold;
  const better = base.better === 'higher' ? ratio.low > 1 + threshold : ratio.high < 1 - threshold;
  const sig = p < alpha;
  const beyond = `the trials differ (p < ${alpha}) and the whole interval is beyond the ${pct(threshold)} threshold`;
  if (sig && worse) return { ...out, verdict: 'regressed', reason: beyond };
  if (sig && better) return { ...out, verdict: 'improved', reason: beyond };
  if (ratio.low >= 1 - threshold && ratio.high <= 1 + threshold) {
    const why = sig ? 'a real change, but the whole interval is within' : 'the whole interval is within';
    return { ...out, verdict: 'unchanged', reason: `${why} ±${pct(threshold)}` };
  }
  const trialsNeeded = trialsToSettle(Math.min(nb, nc), ratio, threshold);
  const more = trialsNeeded
    ? `about ${trialsNeeded} trials a side would settle it`
    : 'the change sits near the threshold; more trials will hardly settle it';
  const what = sig
    ? 'the trials differ but the interval straddles'
    : `the test sees no difference (p >= ${alpha}) but the interval reaches past`;
  return {
    ...out,
    verdict: 'inconclusive',
    trialsNeeded,
    reason: `${what} the ${pct(threshold)} threshold; ${more}`,
  };
}

function cellMetrics(c: Cell | undefined): Map<string, Metric> {
  return new Map(c && !c.skipped ? c.metrics.map((m) => [m.name, m]) : []);
}

/** Compares every metric of every cell; cells are matched by id and metrics by name. */
export function compareResults(
  baseline: BenchResults,
  current: BenchResults,
  thresholds: Thresholds,
): Comparison {
  const baseCells = new Map(baseline.cells.map((c) => [c.id, c]));
  const curCells = new Map(current.cells.map((c) => [c.id, c]));
  const alpha = thresholds.alpha;
  const out: MetricComparison[] = [];
  const entry = (cell: Cell, m: Metric, rest: Partial<MetricComparison>): MetricComparison => ({
    cellId: cell.id,
    axes: cell.axes,
    metric: m.name,
    unit: m.unit,
    better: m.better,
    threshold: thresholdFor(thresholds, cell.id, m.name, m.better),
    alpha,
    verdict: 'inconclusive',
    reason: '',
    ...rest,
  });
  for (const cell of current.cells) {
    const baseCell = baseCells.get(cell.id);
    const base = cellMetrics(baseCell);
    for (const m of cellMetrics(cell).values()) {
      const b = base.get(m.name);
      if (!b) {
        const why = baseCell?.skipped
          ? `skipped in the baseline: ${baseCell.skipped}`
          : 'not in the baseline';
        out.push(entry(cell, m, { verdict: 'new', reason: why, current: m.summary }));
        continue;
      }
      const e = entry(cell, m, { baseline: b.summary, current: m.summary });
      out.push({ ...e, ...decide(b, m, e.threshold, alpha) });
    }
  }
  for (const cell of baseline.cells) {
    const cur = cellMetrics(curCells.get(cell.id));
    const skipped = curCells.get(cell.id)?.skipped;
    for (const m of cellMetrics(cell).values()) {
      if (cur.has(m.name)) continue;
      const why = skipped ? `skipped in the current run: ${skipped}` : 'not in the current run';
      out.push(entry(cell, m, { verdict: 'missing', reason: why, baseline: m.summary }));
    }
  }
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, out.filter((m) => m.verdict === v).length]));
  const about = (r: BenchResults) => ({
    suite: r.suite,
    gitCommit: r.environment.gitCommit,
    startedAt: r.startedAt,
  });
  return {
    alpha,
    baseline: about(baseline),
    current: about(current),
    metrics: out,
    counts: counts as Record<Verdict, number>,
  };
}
