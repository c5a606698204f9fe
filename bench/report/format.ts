/**
 * What the Markdown, HTML and JUnit reports share: how a number, a change and a verdict read, how
 * a cell is named in a table (its series is mode/backend, its row is path plus parameters), and
 * how cells group into workload families. One place, so the three reports agree to the digit.
 */
import type { MetricComparison, Verdict } from '../compare/compare.ts';
import type { BenchEnvironment, BenchResults, Cell, CellAxes } from '../lib/results.ts';

/** Three significant digits, no exponent: 9.41, 28.3, 4520. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return String(Math.round(x));
  if (a === 0) return '0';
  return String(Number(x.toPrecision(3)));
}

/** "9.41 (9.30–9.52)": a median with its 95% interval. */
export function formatMedianCi(s: { median: number; ciLow: number; ciHigh: number }): string {
  return `${formatNumber(s.median)} (${formatNumber(s.ciLow)}–${formatNumber(s.ciHigh)})`;
}

/** A ratio as a signed percentage change: 0.893 -> "−10.7%". */
export function formatChange(ratio: number): string {
  const p = (ratio - 1) * 100;
  const digits = Math.abs(p) >= 10 ? 0 : 1;
  return `${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(digits)}%`;
}

export function formatRatioCi(r: { estimate: number; low: number; high: number }): string {
  return `${formatChange(r.estimate)} (${formatChange(r.low)} to ${formatChange(r.high)})`;
}

export function formatP(p: number | undefined): string {
  if (p === undefined) return '';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

export const VERDICT_MARK: Record<Verdict, string> = {
  regressed: '🔴',
  improved: '🟢',
  inconclusive: '⚪',
  unchanged: '',
  missing: '➖',
  new: '🆕',
};

/** "🔴 ↓10.7%": the verdict mark (unless `mark` is false) and an arrow for the way the median moved. */
export function verdictBadge(m: MetricComparison, mark = true): string {
  const sign = mark ? VERDICT_MARK[m.verdict] : '';
  if (!m.ratio) return `${sign} ${m.verdict}`.trim();
  const arrow = m.ratio.estimate > 1 ? '↑' : m.ratio.estimate < 1 ? '↓' : '→';
  return `${sign} ${arrow}${formatChange(m.ratio.estimate).replace(/^[+−]/, '')}`.trim();
}

/** The column a cell belongs to: its proxy mode and overlay backend, whichever apply. */
export function seriesLabel(axes: CellAxes): string {
  const parts = [axes.mode, axes.backend].filter((p) => p !== '-');
  return parts.length ? parts.join(' / ') : 'value';
}

export function paramsLabel(axes: CellAxes): string {
  return Object.entries(axes.params ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The row a cell belongs to: its path and parameters. */
export function rowLabel(axes: CellAxes): string {
  return [axes.path === '-' ? '' : axes.path, paramsLabel(axes)].filter(Boolean).join(' ') || '—';
}

/** Items grouped by a key, groups and items in first-seen order. */
export function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) out.set(key(x), [...(out.get(key(x)) ?? []), x]);
  return out;
}

/** Cells grouped by workload, in first-seen order. */
export function byWorkload(cells: readonly Cell[]): Map<string, Cell[]> {
  return groupBy(cells, (c) => c.axes.workload);
}

export function uniq<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

export function environmentLine(e: BenchEnvironment): string {
  const gib = Math.round(e.memoryBytes / 2 ** 30);
  const commit = `${e.gitCommit.slice(0, 10)}${e.gitDirty ? ' (dirty)' : ''}`;
  const tools = Object.entries(e.tools)
    .map(([k, v]) => `${k} ${v.replace(new RegExp(`^${k}\\s*`, 'i'), '')}`)
    .join(', ');
  return [
    `${e.os}, kernel ${e.kernel}`,
    `${e.cpuModel} × ${e.cores} cores, ${gib} GiB`,
    `node ${e.node}`,
    `kdp ${e.kdpVersion} @ ${commit}`,
    `load ${e.loadAverage.map((l) => l.toFixed(2)).join(' ')}`,
    ...(tools ? [tools] : []),
  ].join(' · ');
}

export function runLine(r: BenchResults): string {
  return `suite ${r.suite}, ${r.startedAt} → ${r.finishedAt}`;
}

export const comparisonKey = (cellId: string, metric: string): string => `${cellId}\u0000${metric}`;

/** Comparisons by (cell id, metric name), for looking one up while drawing a table. */
export function comparisonIndex(
  metrics: readonly MetricComparison[] | undefined,
): Map<string, MetricComparison> {
  return new Map((metrics ?? []).map((m) => [comparisonKey(m.cellId, m.metric), m]));
}
