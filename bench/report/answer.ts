/**
 * The one-table answer the Markdown summary leads with: per proxy mode (and backend), what a
 * person picks a mode for, each as a ratio of the direct pod-to-pod path measured in the same
 * cluster and run (so machine noise and the overlay cancel out):
 *   - new TCP connections/s through the ClusterIP at the largest background-Services size, over
 *     the direct path's at that size (tcp-crr), with a bootstrap 95% interval of the ratio;
 *   - connect p99 through the ClusterIP at that size;
 *   - one endpoint change to every node's kernel at that size (background-services cell);
 *   - single-stream throughput through the ClusterIP over direct (tcp-stream-1).
 * A figure whose cells did not run is left empty, never guessed.
 */
import type { BenchResults, Cell, Metric as CellMetric } from '../lib/results.ts';
import { bootstrapRatio, type Interval } from '../lib/stats.ts';
import { BACKGROUND_WORKLOAD } from '../run/matrix-plan.ts';

export const DIRECT_PATH = 'pod-pod-cross-node';
export const SERVICE_PATH = 'pod-clusterip';

export interface AnswerRow {
  /** "iptables", or "iptables / vxlan" when the run had several backends. */
  label: string;
  mode: string;
  backend: string;
  /** The largest background size tcp-crr ran at through the ClusterIP (0 without the axis). */
  services?: number;
  connRatio?: Interval;
  connectP99Us?: number;
  endpointChangeMs?: { median: number; max: number };
  throughputRatio?: Interval;
}

const servicesOf = (c: Cell) => Number(c.axes.params?.services ?? 0);

function metricOf(cells: Cell[], path: string, workload: string, name: string, services?: number) {
  const cell = cells.find(
    (c) =>
      c.axes.path === path &&
      c.axes.workload === workload &&
      (services === undefined || servicesOf(c) === services),
  );
  const m = cell?.metrics.find((x) => x.name === name);
  return m && m.trials.length > 0 ? m : undefined;
}

function ratio(a: CellMetric | undefined, b: CellMetric | undefined): Interval | undefined {
  if (!a || !b) return undefined;
  const r = bootstrapRatio(a.trials, b.trials);
  return Number.isFinite(r.estimate) ? r : undefined;
}

export function answerRows(results: BenchResults): AnswerRow[] {
  const ran = results.cells.filter((c) => !c.skipped && c.axes.backend !== '-');
  const backends = new Set(ran.map((c) => c.axes.backend));
  const groups = new Map<string, Cell[]>();
  for (const c of ran) {
    const key = `${c.axes.mode}\u0000${c.axes.backend}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const rows: AnswerRow[] = [];
  for (const [key, cells] of groups) {
    const [mode, backend] = key.split('\u0000');
    const row: AnswerRow = { label: backends.size > 1 ? `${mode} / ${backend}` : mode, mode, backend };
    const crr = cells.filter(
      (c) => c.axes.workload === 'tcp-crr' && c.axes.path === SERVICE_PATH && c.metrics.length > 0,
    );
    if (crr.length > 0) {
      const n = Math.max(...crr.map(servicesOf));
      row.services = n;
      row.connRatio = ratio(
        metricOf(cells, SERVICE_PATH, 'tcp-crr', 'connections_per_s', n),
        metricOf(cells, DIRECT_PATH, 'tcp-crr', 'connections_per_s', n),
      );
      row.connectP99Us = metricOf(cells, SERVICE_PATH, 'tcp-crr', 'connect_p99_us', n)?.summary.median;
      const change = cells
        .find((c) => c.axes.workload === BACKGROUND_WORKLOAD && servicesOf(c) === n)
        ?.metrics.find((m) => m.name === 'endpoint_change_ms');
      if (change?.trials.length)
        row.endpointChangeMs = { median: change.summary.median, max: change.summary.max };
    }
    row.throughputRatio = ratio(
      metricOf(cells, SERVICE_PATH, 'tcp-stream-1', 'throughput_gbps'),
      metricOf(cells, DIRECT_PATH, 'tcp-stream-1', 'throughput_gbps'),
    );
    if (row.connRatio || row.throughputRatio || row.endpointChangeMs) rows.push(row);
  }
  return rows;
}

const fmt = (x: number, digits = 2) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits));
const ratioText = (r?: Interval) => (r ? `${fmt(r.estimate)}x (${fmt(r.low)}-${fmt(r.high)})` : '—');

/** The Markdown table (empty when no row has a figure), the heading naming the largest size. */
export function answerMarkdown(results: BenchResults): string[] {
  const rows = answerRows(results);
  if (rows.length === 0) return [];
  const sizes = [...new Set(rows.map((r) => r.services).filter((n) => n !== undefined))];
  const n = sizes.length === 1 ? `N = ${sizes[0]!.toLocaleString('en-US')}` : 'the largest N';
  const header = [
    'mode',
    `new connections/s vs direct, ${n} Services (95% CI)`,
    `connect p99, ${n} (us)`,
    `one endpoint change to kernel, ${n}: median / max (ms)`,
    'single-stream throughput vs direct (95% CI)',
  ];
  const lines = [
    '### The answer',
    '',
    `Through a ClusterIP, as a ratio of the direct pod-to-pod path measured in the same cluster and run.`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
  ];
  for (const r of rows) {
    const change = r.endpointChangeMs
      ? `${fmt(r.endpointChangeMs.median, 0)} / ${fmt(r.endpointChangeMs.max, 0)}`
      : '—';
    const label = sizes.length > 1 && r.services !== undefined ? `${r.label} (N = ${r.services})` : r.label;
    lines.push(
      `| ${[label, ratioText(r.connRatio), r.connectP99Us === undefined ? '—' : fmt(r.connectP99Us, 1), change, ratioText(r.throughputRatio)].join(' | ')} |`,
    );
  }
  return [...lines, ''];
}
