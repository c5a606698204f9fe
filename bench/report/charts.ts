/**
 * The charts of the HTML report, as plain chart.js configurations (JSON only: the page embeds them
 * and a few lines of script hand them to chart.js). Built here, in TypeScript, so what is charted
 * is testable without a browser. Every metric lands in exactly one chart:
 * - data-plane metrics where higher is better (throughput, rates): grouped bars, paths by
 *   mode/backend, with 95% interval whiskers;
 * - latency percentiles (latency_*): per workload and path, every trial as a point per
 *   percentile and a line through the medians, per mode/backend, on a log axis;
 * - metrics of cells with a `services` parameter at more than one value (the control workloads'
 *   sizes, the background-Services axis of the new-connection workloads): a line per mode (and
 *   path) against the number of services; the direct pod-to-pod path, which crosses no Service,
 *   is drawn dashed in grey as the reference the Service paths are read against;
 * - anything else: bars per cell.
 * A baseline, when given, appears beside the current run in the same chart, paler or dashed.
 */
import type { BenchResults, Cell, Metric } from '../lib/results.ts';
import { groupBy, paramsLabel, rowLabel, seriesLabel, uniq } from './format.ts';

export interface ChartSpec {
  id: string;
  title: string;
  /** A chart.js configuration; datasets may carry `errorBars: Array<[low, high] | null>`. */
  config: Record<string, unknown>;
  /** Names of the integer ticks of a numeric x axis (the page turns them into a tick callback). */
  tickLabels?: string[];
}

type Kind = 'bars' | 'latency' | 'scaling' | 'other';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const pale = (hex: string): string => `${hex}66`;

/** Paths that cross no Service: the reference line of a scaling chart. */
const isDirect = (path: string) => path.startsWith('pod-pod-');

function kindOf(cell: Cell, m: Metric, scaled: ReadonlySet<string>): Kind {
  if (typeof cell.axes.params?.services === 'number' && scaled.has(cell.axes.workload)) return 'scaling';
  if (cell.axes.path === '-') return 'other';
  if (m.name.startsWith('latency_')) return 'latency';
  return m.better === 'higher' ? 'bars' : 'other';
}

interface Entry {
  cell: Cell;
  metric: Metric;
  baseline?: Metric;
}

function entries(current: BenchResults, baseline?: BenchResults): Array<Entry & { kind: Kind }> {
  const base = new Map((baseline?.cells ?? []).map((c) => [c.id, c]));
  // Workloads measured at more than one number of services.
  const sizes = new Map<string, Set<unknown>>();
  for (const c of current.cells)
    if (c.axes.params?.services !== undefined)
      sizes.set(c.axes.workload, (sizes.get(c.axes.workload) ?? new Set()).add(c.axes.params.services));
  const scaled = new Set([...sizes].filter(([, s]) => s.size > 1).map(([w]) => w));
  return current.cells
    .filter((c) => !c.skipped)
    .flatMap((cell) =>
      cell.metrics.map((metric) => ({
        cell,
        metric,
        baseline: base.get(cell.id)?.metrics.find((m) => m.name === metric.name),
        kind: kindOf(cell, metric, scaled),
      })),
    );
}

const whisker = (m?: Metric): [number, number] | null => (m ? [m.summary.ciLow, m.summary.ciHigh] : null);

function options(
  title: string,
  yTitle: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } },
    ...extra,
    scales: { y: { title: { display: true, text: yTitle }, beginAtZero: true }, ...(extra.scales as object) },
  };
}

/** Grouped bars: labels are rows (paths or cells), one dataset per series, baseline paler beside it. */
function barChart(id: string, title: string, group: Entry[], label: (e: Entry) => string): ChartSpec {
  const labels = uniq(group.map(label));
  const series = uniq(group.map((e) => seriesLabel(e.cell.axes)));
  const hasBaseline = group.some((e) => e.baseline);
  const datasets = series.flatMap((s, i) => {
    const at = labels.map((l) => group.find((e) => label(e) === l && seriesLabel(e.cell.axes) === s));
    const color = PALETTE[i % PALETTE.length];
    const cur = {
      label: s,
      backgroundColor: color,
      data: at.map((e) => e?.metric.summary.median ?? null),
      errorBars: at.map((e) => whisker(e?.metric)),
    };
    if (!hasBaseline) return [cur];
    const base = {
      label: `${s} (baseline)`,
      backgroundColor: pale(color),
      data: at.map((e) => e?.baseline?.summary.median ?? null),
      errorBars: at.map((e) => whisker(e?.baseline)),
    };
    return [base, cur];
  });
  const m = group[0].metric;
  return {
    id,
    title,
    config: { type: 'bar', data: { labels, datasets }, options: options(title, `${m.name} (${m.unit})`) },
  };
}

/** latency_p999_us -> p99.9, latency_p50_us -> p50: the percentile as people write it. */
function percentileLabel(name: string): string {
  const p = name.replace(/^latency_/, '').replace(/_(us|ms|ns|s)$/, '');
  const digits = /^p(\d+)$/.exec(p)?.[1];
  return digits && digits.length > 2 ? `p${digits.slice(0, 2)}.${digits.slice(2)}` : p;
}

/**
 * Per percentile, every trial as a point and a line through the medians, per series, with the
 * baseline's beside it; log axis. The x axis is numeric (percentile index plus a small offset per
 * series, so the clouds of trials sit side by side); `tickLabels` names the integer ticks.
 */
function latencyChart(id: string, title: string, group: Entry[]): ChartSpec {
  const short = (e: Entry): string => percentileLabel(e.metric.name);
  const labels = uniq(group.map(short));
  const series = uniq(group.map((e) => seriesLabel(e.cell.axes)));
  const runs = group.some((e) => e.baseline) ? (['baseline', 'current'] as const) : (['current'] as const);
  const slots = series.length * runs.length;
  const offset = (slot: number): number => (slot - (slots - 1) / 2) * Math.min(0.15, 0.7 / slots);
  const datasets = series.flatMap((s, i) => {
    const mine = group.filter((e) => seriesLabel(e.cell.axes) === s);
    return runs.flatMap((run, r) => {
      const dx = offset(i * runs.length + r);
      const of = (e: Entry): Metric | undefined => (run === 'current' ? e.metric : e.baseline);
      const present = mine.filter((e) => of(e));
      const x = (e: Entry): number => labels.indexOf(short(e)) + dx;
      const color = run === 'current' ? PALETTE[i % PALETTE.length] : pale(PALETTE[i % PALETTE.length]);
      const name = run === 'current' ? s : `${s} (baseline)`;
      if (!present.length) return [];
      return [
        {
          type: 'scatter',
          label: `${name} trials`,
          backgroundColor: color,
          pointRadius: 2.5,
          data: present.flatMap((e) => of(e)!.trials.map((y) => ({ x: x(e), y }))),
        },
        {
          type: 'line',
          label: `${name} median`,
          borderColor: color,
          backgroundColor: color,
          borderDash: run === 'current' ? [] : [6, 4],
          pointRadius: 0,
          data: present.map((e) => ({ x: x(e), y: of(e)!.summary.median })),
        },
      ];
    });
  });
  const unit = group[0].metric.unit;
  const axis = `latency (${unit}, log scale)`;
  const x = {
    type: 'linear',
    min: -0.5,
    max: labels.length - 0.5,
    title: { display: true, text: 'percentile' },
  };
  const y = { type: 'logarithmic', title: { display: true, text: axis } };
  const opts = options(title, axis, { scales: { x, y } });
  return { id, title, tickLabels: labels, config: { type: 'line', data: { datasets }, options: opts } };
}

/** A line per series against the number of services, with whiskers; baseline dashed. */
function scalingChart(id: string, title: string, group: Entry[]): ChartSpec {
  // A line per mode/backend and per value of any other parameter (e.g. iptables=nft, legacy).
  const lineOf = (e: Entry): string => {
    const { services: _services, ...rest } = e.cell.axes.params ?? {};
    const path =
      e.cell.axes.path === '-'
        ? ''
        : isDirect(e.cell.axes.path)
          ? `direct ${e.cell.axes.path}`
          : e.cell.axes.path;
    return [seriesLabel(e.cell.axes), path, paramsLabel({ ...e.cell.axes, params: rest })]
      .filter(Boolean)
      .join(' ');
  };
  const series = uniq(group.map(lineOf));
  let colors = 0;
  const datasets = series.flatMap((s) => {
    const mine = group
      .filter((e) => lineOf(e) === s)
      .sort((a, b) => Number(a.cell.axes.params!.services) - Number(b.cell.axes.params!.services));
    const direct = isDirect(mine[0].cell.axes.path);
    const color = direct ? '#555555' : PALETTE[colors++ % PALETTE.length];
    const x = (e: Entry): number => Number(e.cell.axes.params!.services);
    const sets: Record<string, unknown>[] = [
      {
        label: s,
        borderColor: color,
        backgroundColor: color,
        data: mine.map((e) => ({ x: x(e), y: e.metric.summary.median })),
        errorBars: mine.map((e) => whisker(e.metric)),
        ...(direct ? { borderDash: [2, 3] } : {}),
      },
    ];
    const based = mine.filter((e) => e.baseline);
    if (based.length) {
      sets.push({
        label: `${s} (baseline)`,
        borderColor: pale(color),
        backgroundColor: pale(color),
        borderDash: [6, 4],
        data: based.map((e) => ({ x: x(e), y: e.baseline!.summary.median })),
        errorBars: based.map((e) => whisker(e.baseline)),
      });
    }
    return sets;
  });
  const m = group[0].metric;
  const opts = options(title, `${m.name} (${m.unit})`, {
    scales: { x: { type: 'linear', title: { display: true, text: 'services' } } },
  });
  return { id, title, config: { type: 'line', data: { datasets }, options: opts } };
}

/** Every chart of the report, in the order the page shows them. */
export function buildCharts(current: BenchResults, baseline?: BenchResults): ChartSpec[] {
  const all = entries(current, baseline);
  const charts: ChartSpec[] = [];
  const next = (): string => `chart-${charts.length + 1}`;
  for (const group of groupBy(
    all.filter((e) => e.kind === 'bars'),
    (e) => `${e.cell.axes.workload} ${e.metric.name}`,
  ).values()) {
    const m = group[0].metric;
    charts.push(
      barChart(next(), `${group[0].cell.axes.workload}: ${m.name} (${m.unit}) by path and mode`, group, (e) =>
        rowLabel(e.cell.axes),
      ),
    );
  }
  for (const group of groupBy(
    all.filter((e) => e.kind === 'latency'),
    (e) => `${e.cell.axes.workload} ${rowLabel(e.cell.axes)}`,
  ).values()) {
    charts.push(
      latencyChart(
        next(),
        `${group[0].cell.axes.workload} latency distribution: ${rowLabel(group[0].cell.axes)}`,
        group,
      ),
    );
  }
  for (const group of groupBy(
    all.filter((e) => e.kind === 'scaling'),
    (e) => `${e.cell.axes.workload} ${e.metric.name}`,
  ).values()) {
    const m = group[0].metric;
    charts.push(
      scalingChart(
        next(),
        `${group[0].cell.axes.workload}: ${m.name} (${m.unit}) against the number of services`,
        group,
      ),
    );
  }
  for (const group of groupBy(
    all.filter((e) => e.kind === 'other'),
    (e) => `${e.cell.axes.workload} ${e.metric.name}`,
  ).values()) {
    const m = group[0].metric;
    const label = (e: Entry): string =>
      rowLabel(e.cell.axes) === '—' ? e.cell.axes.workload : rowLabel(e.cell.axes);
    charts.push(
      barChart(
        next(),
        `${group[0].cell.axes.workload}: ${m.name} (${m.unit}, ${m.better} is better)`,
        group,
        label,
      ),
    );
  }
  return charts;
}
