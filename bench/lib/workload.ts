/**
 * What the matrix runner (bench/run/) asks of a workload. A workload is set up once per matrix cell
 * (a cluster, a server pod, a world of Services) and then runs trials: each trial returns one value
 * per metric. The runner interleaves trials of all cells, so set-up state must survive between
 * trials and a trial must leave the cell as it found it.
 */
import type { CellAxes } from './results.ts';

/** One measured value of one trial. */
export interface TrialValue {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  value: number;
}

export interface WorkloadInstance {
  /** Runs one trial; throws (a KdpError with the tool's stderr) when the tool failed. */
  trial(signal?: AbortSignal): Promise<TrialValue[]>;
  /** Releases what setup made (servers, clusters, namespaces). Idempotent. */
  close(): Promise<void>;
}

export interface SetupOptions {
  /** Seconds a timed trial runs (data-plane tools); workloads scale their own sizes from `quick`. */
  seconds: number;
  /** Smaller sizes, fewer iterations: the smoke suite. */
  quick: boolean;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/**
 * A workload that needs no data path between pods (sync time, programming latency, bring-up,
 * apiserver throughput, microbenchmarks): it builds what it needs itself. The runner makes one
 * cell per (mode if modeDependent) x variant.
 */
export interface ControlWorkload {
  /** sync-full, sync-partial, programming-latency, bringup, apiserver-create, micro-..., callgrind-... */
  name: string;
  description: string;
  /** Whether the proxy mode axis applies (cells then exist per mode). */
  modeDependent: boolean;
  /** Whether it must run as root (namespaces, iptables); non-root runs skip it with the reason. */
  needsRoot: boolean;
  /** The parameter sets to run, e.g. [{ services: 1000 }, { services: 5000 }]; smaller when quick. */
  variants(quick: boolean): Array<Record<string, string | number>>;
  /**
   * Optional: whether one variant needs root, when only some do (sync-* on FakeIptables, for the
   * smoke suite, next to the real kernel's variants); without it every variant needs `needsRoot`.
   */
  variantNeedsRoot?(variant: Record<string, string | number>): boolean;
  /** Optional: why it cannot run on this host (a tool missing): its cells are skipped with this reason. */
  unavailable?(): string | undefined;
  setup(axes: CellAxes, options: SetupOptions): Promise<WorkloadInstance>;
}
