/**
 * The matrix runner: sets every runnable cell up (data cells on their (mode, backend) cluster from
 * the pool, control cells through their workload's setup), then runs rounds. Round r runs every
 * cell's trial r in an order shuffled by a seeded generator, so machine drift (a neighbour's
 * build, thermal throttling, a page cache warming) hits all cells alike instead of whichever ran
 * last; the first `warmup` rounds are run the same way and thrown away. A failed trial is kept as
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
import { findDataWorkload } from '../workloads/data/index.ts';
import type { DataPath } from '../workloads/data/world.ts';
import { collectEnvironment } from './environment.ts';
import { planCells, type PlannedCell } from './matrix-plan.ts';
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

export async function runMatrix(spec: MatrixSpec, o: RunOptions): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const progress = o.progress ?? silentProgress;
  const environment = o.environment ?? (await collectEnvironment());
  const plan = planCells(spec, {
    checkMode: o.checkMode ?? ((mode) => void checkProxyMode(mode)),
    root: o.root ?? process.getuid?.() === 0,
    controlWorkloads: o.controlWorkloads,
  });
  const cells: LiveCell[] = plan.map((planned) => ({ planned, values: new Map(), errors: [] }));
  let ownPool: ClusterPool | undefined;
  const pool = () =>
    o.pool ??
    (ownPool ??= new ClusterPool({ prefix: o.clusterPrefix, signal: o.signal, log: progress.phase }));
  try {
    for (const cell of cells) {
      if (cell.planned.skipped) continue;
      progress.phase(`setting up ${cell.planned.id}`);
      await setUp(cell, spec, pool, o);
    }
    const live = cells.filter((c) => c.runnable);
    const random = seededRandom(spec.seed);
    const rounds = spec.warmup + spec.trials;
    const total = rounds * live.length;
    let done = 0;
    for (let round = 0; round < rounds; round++) {
      const warm = round < spec.warmup;
      const label = warm
        ? `warm-up ${round + 1}/${spec.warmup}`
        : `round ${round - spec.warmup + 1}/${spec.trials}`;
      for (const cell of shuffled(live, random)) {
        o.signal?.throwIfAborted();
        progress.trial(done++, total, `${label} ${cell.planned.id}`);
        try {
          const values = await cell.runnable!.trial(o.signal);
          if (!warm) record(cell, values);
        } catch (e) {
          o.signal?.throwIfAborted();
          cell.errors.push(`${label}: ${describeError(e)}`);
        }
      }
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
    },
    cells: cells.map(toCell),
  };
}
