/**
 * Builds the summary stored beside each metric's raw trials in a results document: median, mean,
 * range and the 95% bootstrap interval of the median (seeded, so the same trials always give the
 * same document). Writers build metrics with `metric()` so every summary is computed one way.
 */
import { KdpError } from '../../dataplane/errors.ts';
import type { Metric, MetricSummary } from './results.ts';
import { bootstrap, mean, median } from './stats.ts';

export const TRIALS_ERROR = 'KDP_ERR_BENCH_TRIALS';

/** Summary of one metric's trials; throws KDP_ERR_BENCH_TRIALS for none or non-finite values (leave such a metric out). */
export function summarizeTrials(trials: readonly number[], seed = 1): MetricSummary {
  if (trials.length === 0) {
    throw new KdpError(TRIALS_ERROR, 'a metric needs at least one trial value to summarise');
  }
  const bad = trials.find((t) => !Number.isFinite(t));
  if (bad !== undefined) {
    throw new KdpError(
      TRIALS_ERROR,
      `a trial value is not a finite number (${bad}): the tool output was misread`,
    );
  }
  const ci = bootstrap(trials, median, { seed, confidence: 0.95 });
  return {
    n: trials.length,
    median: median(trials),
    mean: mean(trials),
    min: Math.min(...trials),
    max: Math.max(...trials),
    ciLow: ci.low,
    ciHigh: ci.high,
  };
}

export function metric(
  name: string,
  unit: string,
  better: 'higher' | 'lower',
  trials: readonly number[],
): Metric {
  return { name, unit, better, trials: [...trials], summary: summarizeTrials(trials) };
}
