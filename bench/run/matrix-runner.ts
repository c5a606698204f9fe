/**
 * The matrix runner: sets every runnable cell up (data cells on their (mode, backend) cluster from
 * the pool, control cells through their workload's setup), then runs rounds. Round r runs every
 * cell's trial r in an order shuffled by a seeded generator, so machine drift (a neighbour's
 * build, thermal throttling, a page cache warming) hits all cells alike instead of whichever ran
 * last; the first `warmup` rounds are run the same way and thrown away. With background Services
 * (the services axis), the rounds run in phases, smallest size first: before a phase every
 * cluster is grown to that many Services and waited for (its background-services cell records
 * how long), then that size's cells run their rounds. A failed trial is kept as
 * an error of its cell and the run goes on; an abort (SIGINT) stops it. Whatever happens, every
 * workload instance and cluster made here is closed before runMatrix returns or throws.
 */
import { checkProxyMode } from '../../dataplane/proxy/modes.ts';
import { describeError } from '../../dataplane/errors.ts';
import type { BenchEnvironment, BenchResults, Cell } from '../lib/results.ts';
import { RESULTS_SCHEMA_ID } from '../lib/results.ts';
import { seededRandom } from '../lib/stats.ts';
import { metric } from '../lib/summary.ts';
import type { ControlWorkload, TrialValue } from '../lib/workload.ts';
import { endpointChangeLatencies, growBackground } from '../workloads/data/background.ts';
import { findDataWorkload, scalingWorkloadNames } from '../workloads/data/index.ts';
import { type DataPath, measuredServiceKey } from '../workloads/data/world.ts';
import { collectEnvironment } from './environment.ts';
import { planCells, type PlannedCell } from './matrix-plan.ts';
import { DEFAULT_ENDPOINTS_PER_SERVICE } from './spec.ts';
import { ClusterPool } from './pool.ts';
import { type ProgressSink, silentProgress } from './progress.ts';
import type { MatrixSpec } from './spec.ts';

export interface RunOptions {
  controlWorkloads: readonly ControlWorkload[];
  /** Whether root-only cells may run; default: whether this process is root. */
  root?: boolean;
  /** Throws when a proxy mode cannot run here; default checkProxyMode. */
  checkMode?: (mode: string) => void;
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** A pool to build clusters in and leave open (the self-test reuses one); default a new one, closed at the end. */
  pool?: ClusterPool;
  /** Cluster name prefix of a new pool (tests use a unique one). */
  clusterPrefix?: string;
  /** Measured once by the caller when it runs several matrices. */
  environment?: BenchEnvironment;
}

interface Runnable {
  trial(signal?: AbortSignal): Promise<TrialValue[]>;
  close?(): Promise<void>;
}

interface LiveCell {
  planned: PlannedCell;
  runnable?: Runnable;
  values: Map<string, { unit: string; better: TrialValue['better']; trials: number[] }>;
  errors: string[];
}

/** Fisher-Yates with the run's generator: the same seed gives the same order. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function setUp(
  cell: LiveCell,
  spec: MatrixSpec,
  pool: () => ClusterPool,
  o: RunOptions,
): Promise<void> {
  const { axes, control } = cell.planned;
  const progress = o.progress ?? silentProgress;
  try {
    if (control) {
      const options = { seconds: spec.seconds, quick: spec.quick, signal: o.signal, log: progress.phase };
      cell.runnable = await control.setup(axes, options);
      return;
    }
    const workload = findDataWorkload(axes.workload)!;
    const { world } = await pool().get(axes.mode, axes.backend);
    const target = world.target(axes.path as DataPath, workload.server);
    const options = { seconds: spec.seconds, quick: spec.quick };
    cell.runnable = { trial: (signal) => workload.trial(target, { ...options, signal }) };
  } catch (e) {
    o.signal?.throwIfAborted();
    cell.errors.push(`setup: ${describeError(e)}`);
  }
}

function record(cell: LiveCell, values: TrialValue[]): void {
  for (const v of values) {
    let m = cell.values.get(v.name);
    if (!m) cell.values.set(v.name, (m = { unit: v.unit, better: v.better, trials: [] }));
    m.trials.push(v.value);
  }
}

function toCell(cell: LiveCell): Cell {
  const { id, axes, skipped } = cell.planned;
  const out: Cell = {
    id,
    axes,
    metrics: [...cell.values].map(([name, m]) => metric(name, m.unit, m.better, m.trials)),
  };
  if (skipped) out.skipped = skipped;
  if (cell.errors.length > 0) out.errors = cell.errors;
  return out;
}

/** Endpoint changes timed to the kernel at each background size (each one waited for). */
const ENDPOINT_CHANGES = 5;

/** Interleaved rounds of `live` (one phase): warm-up rounds first, not recorded. */
async function runRounds(
  live: LiveCell[],
  rounds: number,
  warmup: number,
  random: () => number,
  counter: { done: number; total: number },
  o: RunOptions,
): Promise<void> {
  const progress = o.progress ?? silentProgress;
  const trials = rounds - warmup;
  for (let round = 0; round < rounds; round++) {
    const warm = round < warmup;
    const label = warm ? `warm-up ${round + 1}/${warmup}` : `round ${round - warmup + 1}/${trials}`;
    for (const cell of shuffled(live, random)) {
      o.signal?.throwIfAborted();
      progress.trial(counter.done++, counter.total, `${label} ${cell.planned.id}`);
      try {
        const values = await cell.runnable!.trial(o.signal);
        if (!warm) record(cell, values);
      } catch (e) {
        o.signal?.throwIfAborted();
        cell.errors.push(`${label}: ${describeError(e)}`);
      }
    }
  }
}

/**
 * Grows the background cell's cluster to its size and records the figures (one trial each). When
 * that fails, the cluster's data cells of this size do not run: their error says why.
 */
async function grow(
  cell: LiveCell,
  cells: LiveCell[],
  grown: Map<string, number>,
  spec: MatrixSpec,
  pool: () => ClusterPool,
  o: RunOptions,
): Promise<void> {
  const { planned } = cell;
  if (planned.skipped) return;
  const group = planned.group!;
  const peers = cells.filter(
    (c) => c.planned.kind === 'data' && c.planned.group === group && c.planned.services === planned.services,
  );
  try {
    // The cluster was built by its data cells' set-up; one that failed to build is not retried.
    if (!cells.some((c) => c.planned.group === group && c.planned.kind === 'data' && c.runnable))
      throw new Error('the cluster was not built (see its data cells)');
    const { cluster } = await pool().get(planned.axes.mode, planned.axes.backend);
    (o.progress ?? silentProgress).phase(`${group}: ${planned.services} background Services`);
    const r = await growBackground(cluster, grown.get(group) ?? 0, planned.services, {
      endpointsPerService: spec.endpointsPerService ?? DEFAULT_ENDPOINTS_PER_SERVICE,
      measuredKey: measuredServiceKey('connbench'),
      signal: o.signal,
      log: (o.progress ?? silentProgress).phase,
    });
    grown.set(group, planned.services);
    // One endpoint change at a time to every node's kernel, on the last background Service.
    const changes = await endpointChangeLatencies(cluster, planned.services - 1, ENDPOINT_CHANGES, {
      signal: o.signal,
    });
    for (const ms of changes)
      record(cell, [{ name: 'endpoint_change_ms', unit: 'ms', better: 'lower', value: ms }]);
    record(cell, [
      { name: 'create_s', unit: 's', better: 'lower', value: r.createSeconds },
      { name: 'programmed_s', unit: 's', better: 'lower', value: r.syncSeconds },
      {
        name: 'agent_cpu_ms_per_service',
        unit: 'ms',
        better: 'lower',
        value: r.agentCpuSecondsPerService * 1000,
      },
      { name: 'dispatch_position', unit: 'position', better: 'lower', value: r.dispatchPosition },
      { name: 'service_ports', unit: 'count', better: 'lower', value: r.dispatchTotal },
    ]);
  } catch (e) {
    o.signal?.throwIfAborted();
    const why = `background Services (${planned.services}): ${describeError(e)}`;
    cell.errors.push(why);
    for (const peer of peers) {
      peer.runnable = undefined;
      peer.errors.push(why);
    }
  }
}

export async function runMatrix(spec: MatrixSpec, o: RunOptions): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const progress = o.progress ?? silentProgress;
  const environment = o.environment ?? (await collectEnvironment());
  const plan = planCells(spec, {
    checkMode: o.checkMode ?? ((mode) => void checkProxyMode(mode)),
    root: o.root ?? process.getuid?.() === 0,
    controlWorkloads: o.controlWorkloads,
    scalingWorkloads: scalingWorkloadNames(),
  });
  const cells: LiveCell[] = plan.map((planned) => ({ planned, values: new Map(), errors: [] }));
  let ownPool: ClusterPool | undefined;
  const pool = () =>
    o.pool ??
    (ownPool ??= new ClusterPool({ prefix: o.clusterPrefix, signal: o.signal, log: progress.phase }));
  try {
    for (const cell of cells) {
      if (cell.planned.skipped || cell.planned.kind === 'background') continue;
      progress.phase(`setting up ${cell.planned.id}`);
      await setUp(cell, spec, pool, o);
    }
    const random = seededRandom(spec.seed);
    const phases = [...new Set(cells.map((c) => c.planned.services))].sort((a, b) => a - b);
    const rounds = spec.warmup + spec.trials;
    const total = rounds * cells.filter((c) => c.runnable).length;
    const counter = { done: 0, total };
    const grown = new Map<string, number>();
    for (const size of phases) {
      for (const cell of cells.filter((c) => c.planned.kind === 'background' && c.planned.services === size))
        await grow(cell, cells, grown, spec, pool, o);
      const live = cells.filter((c) => c.runnable && c.planned.services === size);
      await runRounds(live, rounds, spec.warmup, random, counter, o);
    }
  } finally {
    progress.end();
    await Promise.allSettled(cells.map((c) => c.runnable?.close?.()));
    if (ownPool) {
      progress.phase('tearing the clusters down');
      await ownPool.close();
    }
  }
  return {
    $schema: RESULTS_SCHEMA_ID,
    suite: spec.suite,
    startedAt,
    finishedAt: new Date().toISOString(),
    environment,
    config: {
      trials: spec.trials,
      warmup: spec.warmup,
      seconds: spec.seconds,
      seed: spec.seed,
      quick: spec.quick,
      modes: spec.modes,
      backends: spec.backends,
      paths: spec.paths,
      workloads: [...spec.dataWorkloads, ...spec.controlWorkloads],
      services: spec.services ?? [0],
      endpointsPerService: spec.endpointsPerService ?? DEFAULT_ENDPOINTS_PER_SERVICE,
    },
    cells: cells.map(toCell),
  };
}
