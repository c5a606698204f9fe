/**
 * Proof that the regression gate works (`kdp bench selftest`): for each rep, one cell (iptables,
 * host-gw, pod-pod-cross-node, tcp-stream-1) is run as a baseline, as a current with a known 10%
 * throughput slowdown injected (tbf.ts, its rate derived from this rep's baseline median), and as
 * a current with nothing injected (A/A), all through the same runner and cluster as `kdp bench`;
 * each current is compared with the baseline by compareResults and the default thresholds, as CI
 * would. The injected and A/A runs alternate order between reps, so neither always runs on a
 * warmer machine. Reports the detection rate (must be >= 19/20), the A/A pass rate (>= 19/20) and
 * the wall time the gate needs (one current run plus the comparison: CI stores the baseline).
 */
import { KdpError } from '../../dataplane/errors.ts';
import { compareResults, type Comparison, type Verdict } from '../compare/compare.ts';
import { loadThresholds } from '../compare/thresholds.ts';
import type { BenchEnvironment, BenchResults } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import { collectEnvironment } from '../run/environment.ts';
import { cellId } from '../run/matrix-plan.ts';
import { ClusterPool } from '../run/pool.ts';
import { type ProgressSink, silentProgress } from '../run/progress.ts';
import { runMatrix } from '../run/matrix-runner.ts';
import type { MatrixSpec } from '../run/spec.ts';
import { injectTbf, removeTbf, SELFTEST_ERROR, tbfRateBits } from './tbf.ts';

export const SLOWDOWN = 0.1;
const METRIC = 'throughput_gbps';
const AXES = { mode: 'iptables', backend: 'host-gw', path: 'pod-pod-cross-node', workload: 'tcp-stream-1' };

export interface SelftestOptions {
  reps: number;
  trials: number;
  warmup: number;
  seconds: number;
  seed?: number;
  thresholds?: string;
  clusterPrefix?: string;
  signal?: AbortSignal;
  progress?: ProgressSink;
}

export interface PairResult {
  rep: number;
  verdict: Verdict;
  /** current / baseline median throughput. */
  ratio?: number;
  pValue?: number;
  /** Whether any metric of the cell (retransmits, CPU cost too) was judged regressed. */
  anyMetricRegressed: boolean;
  /** Seconds of the current run plus its comparison: what the gate costs in CI. */
  gateSeconds: number;
}

export interface InjectedPair extends PairResult {
  baselineMedianGbps: number;
  tbfRateBits: number;
  /** `tc qdisc show` of the uplink while the current ran: the proof that tbf was in place. */
  qdisc: string;
}

export interface SelftestReport {
  kind: 'kdp-bench-selftest';
  cell: string;
  metric: string;
  slowdown: number;
  options: { reps: number; trials: number; warmup: number; seconds: number; seed: number };
  environment: BenchEnvironment;
  startedAt: string;
  finishedAt: string;
  detection: { detected: number; reps: number; rate: number; required: number; ok: boolean };
  aa: { passed: number; reps: number; falseAlarmRate: number; required: number; ok: boolean };
  gateSeconds: { median: number; max: number };
  /**
   * Median current/baseline throughput of the injected pairs and of the A/A pairs: the slowdown
   * the tbf actually caused (a CPU-bound link loses more than the rate alone takes) and the noise.
   */
  measuredRatio: { injected: number; aa: number };
  totalSeconds: number;
  injected: InjectedPair[];
  aaPairs: PairResult[];
}

function verdictOf(
  c: Comparison,
  id: string,
): Pick<PairResult, 'verdict' | 'ratio' | 'pValue' | 'anyMetricRegressed'> {
  const m = c.metrics.find((x) => x.cellId === id && x.metric === METRIC);
  return {
    verdict: m?.verdict ?? 'missing',
    ratio: m?.ratio?.estimate,
    pValue: m?.pValue,
    anyMetricRegressed: c.metrics.some((x) => x.cellId === id && x.verdict === 'regressed'),
  };
}

function medianOf(r: BenchResults, id: string): number {
  const cell = r.cells.find((c) => c.id === id);
  const trials = cell?.metrics.find((m) => m.name === METRIC)?.trials ?? [];
  if (trials.length === 0)
    throw new KdpError(
      SELFTEST_ERROR,
      `the baseline run measured no ${METRIC} in ${id}: ${cell?.errors?.join('; ') ?? 'no cell'}`,
    );
  return median(trials);
}

const ratioMedian = (pairs: PairResult[]) =>
  median(pairs.flatMap((p) => (p.ratio === undefined ? [] : [p.ratio])));

/** 19 of 20, scaled to the reps run (at least all but one in 20). */
const required = (reps: number) => Math.ceil(reps * 0.95);

export async function runSelftest(o: SelftestOptions): Promise<SelftestReport> {
  const started = Date.now();
  const progress = o.progress ?? silentProgress;
  const thresholds = loadThresholds(o.thresholds);
  const environment = await collectEnvironment();
  const seed = o.seed ?? 1;
  const spec: MatrixSpec = {
    suite: 'selftest',
    ...{ modes: [AXES.mode], backends: [AXES.backend], paths: [AXES.path], dataWorkloads: [AXES.workload] },
    ...{ controlWorkloads: [], trials: o.trials, warmup: o.warmup, seconds: o.seconds, seed, quick: false },
  };
  const id = cellId(AXES);
  const pool = new ClusterPool({ prefix: o.clusterPrefix, signal: o.signal, log: progress.phase });
  const run = (label: string) => {
    progress.phase(label);
    return runMatrix(spec, {
      controlWorkloads: [],
      pool,
      environment,
      signal: o.signal,
      progress: silentProgress,
    });
  };
  const injected: InjectedPair[] = [];
  const aaPairs: PairResult[] = [];
  try {
    const { cluster } = await pool.get(AXES.mode, AXES.backend);
    // The client pod is on node-1 and sends to node-2: node-1's uplink carries the data.
    const uplinkNetns = cluster.nodes[0].netns;
    for (let rep = 1; rep <= o.reps; rep++) {
      const baseline = await run(`rep ${rep}/${o.reps}: baseline`);
      const baselineMedianGbps = medianOf(baseline, id);
      const rate = tbfRateBits(baselineMedianGbps, SLOWDOWN);
      const timed = async (current: () => Promise<BenchResults>) => {
        const t0 = Date.now();
        const result = verdictOf(compareResults(baseline, await current(), thresholds), id);
        return { ...result, rep, gateSeconds: (Date.now() - t0) / 1000 };
      };
      const slowed = async () => {
        let qdisc = '';
        const pair = await timed(async () => {
          qdisc = await injectTbf(uplinkNetns, rate);
          try {
            return await run(`rep ${rep}/${o.reps}: current, tbf at ${(rate / 1e9).toFixed(2)} Gbit/s`);
          } finally {
            await removeTbf(uplinkNetns);
          }
        });
        injected.push({ ...pair, baselineMedianGbps, tbfRateBits: rate, qdisc });
      };
      const same = async () => aaPairs.push(await timed(() => run(`rep ${rep}/${o.reps}: A/A current`)));
      if (rep % 2) {
        await slowed();
        await same();
      } else {
        await same();
        await slowed();
      }
      const last = injected.at(-1)!;
      progress.phase(`rep ${rep}: injected -> ${last.verdict}, A/A -> ${aaPairs.at(-1)!.verdict}`);
    }
  } finally {
    await pool.close();
  }
  const detected = injected.filter((p) => p.verdict === 'regressed').length;
  const passed = aaPairs.filter((p) => p.verdict !== 'regressed').length;
  const gate = [...injected, ...aaPairs].map((p) => p.gateSeconds);
  return {
    kind: 'kdp-bench-selftest',
    cell: id,
    metric: METRIC,
    slowdown: SLOWDOWN,
    options: { reps: o.reps, trials: o.trials, warmup: o.warmup, seconds: o.seconds, seed },
    environment,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    detection: {
      detected,
      reps: o.reps,
      rate: detected / o.reps,
      required: required(o.reps),
      ok: detected >= required(o.reps),
    },
    aa: {
      passed,
      reps: o.reps,
      falseAlarmRate: (o.reps - passed) / o.reps,
      required: required(o.reps),
      ok: passed >= required(o.reps),
    },
    gateSeconds: { median: median(gate), max: Math.max(...gate) },
    measuredRatio: { injected: ratioMedian(injected), aa: ratioMedian(aaPairs) },
    totalSeconds: (Date.now() - started) / 1000,
    injected,
    aaPairs,
  };
}

/** The figures in a few lines for a terminal or a CI log. */
export function selftestSummary(r: SelftestReport): string[] {
  const d = r.detection;
  const a = r.aa;
  const verdict = (ok: boolean) => (ok ? 'ok' : 'FAILED');
  return [
    `cell ${r.cell}: ${r.options.trials} trials of ${r.options.seconds} s per run, ${r.options.reps} reps`,
    `injected ${r.slowdown * 100}% slowdown detected: ${d.detected}/${d.reps} (need ${d.required}) ${verdict(d.ok)}`,
    `A/A passed: ${a.passed}/${a.reps} (need ${a.required}), false-alarm rate ${(a.falseAlarmRate * 100).toFixed(0)}% ${verdict(a.ok)}`,
    `measured current/baseline throughput: injected ${r.measuredRatio.injected.toFixed(3)}, A/A ${r.measuredRatio.aa.toFixed(3)} (medians)`,
    `gate wall time (one current run + compare): median ${r.gateSeconds.median.toFixed(1)} s, max ${r.gateSeconds.max.toFixed(1)} s; self-test total ${r.totalSeconds.toFixed(0)} s`,
  ];
}
