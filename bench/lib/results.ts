/**
 * The one results document every kdp benchmark writes (`kdp bench`, and the focused benchmarks of
 * the proxy, overlay, apiserver and bring-up): where it ran, what was asked, and every trial's raw
 * value per metric, with a summary. Raw trials are kept because the regression gate (compare.ts)
 * decides on them, not on summaries. The JSON Schema of this shape is published at
 * bench/schema/results.schema.json and every document is validated against it when written and
 * when read.
 */

export const RESULTS_SCHEMA_ID = 'https://kdp.dev/schemas/bench-results/v1';

export interface BenchEnvironment {
  kernel: string;
  os: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  kdpVersion: string;
  gitCommit: string;
  /** True when the working tree had uncommitted changes. */
  gitDirty: boolean;
  /** Versions of the traffic tools used (iperf3, sockperf, wrk, iptables, ...), as they print them. */
  tools: Record<string, string>;
  /** 1, 5 and 15 minute load averages at the start: a busy neighbour shows here. */
  loadAverage: number[];
}

/** The matrix axes of a cell. `mode` and `backend` are "-" for cells they do not apply to. */
export interface CellAxes {
  /** Proxy mode: iptables, ipvs, userspace, ... */
  mode: string;
  /** Overlay backend (with engine variant): host-gw, vxlan, udp, udp-baseline, udp-ts. */
  backend: string;
  /** pod-pod-same-node, pod-pod-cross-node, pod-clusterip, external-nodeport, or "-" for control-plane cells. */
  path: string;
  /** tcp-stream-1, tcp-stream-4, udp-stream, udp-pps, tcp-rr, tcp-crr, http, sync-full, ... */
  workload: string;
  /** Workload parameters that make a cell distinct (services: 1000, ...). */
  params?: Record<string, string | number>;
}

export interface MetricSummary {
  n: number;
  median: number;
  mean: number;
  min: number;
  max: number;
  /** 95% bootstrap confidence interval of the median. */
  ciLow: number;
  ciHigh: number;
}

export interface Metric {
  /** Stable name within its cell: throughput_gbps, latency_p99_us, rps, sync_ms, ... */
  name: string;
  unit: string;
  /** Which direction is better: a regression is a move the other way. */
  better: 'higher' | 'lower';
  /** One value per trial, in trial order. */
  trials: number[];
  summary: MetricSummary;
}

export interface Cell {
  /** Stable key across runs: mode/backend/path/workload[/k=v...]. Compare matches cells by it. */
  id: string;
  axes: CellAxes;
  metrics: Metric[];
  /** Set when the cell could not run here (e.g. ipvs without the kernel module): the reason. */
  skipped?: string;
  /** Errors of failed trials (the trial's values are then missing). */
  errors?: string[];
}

export interface BenchResults {
  $schema: typeof RESULTS_SCHEMA_ID;
  /** What was run: a preset name (default, smoke, overlay, ...) or "custom". */
  suite: string;
  startedAt: string;
  finishedAt: string;
  environment: BenchEnvironment;
  /** The options the run was started with (trials, warm-up, duration, selected axes, seed). */
  config: Record<string, unknown>;
  cells: Cell[];
}
