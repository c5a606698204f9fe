/**
 * The `micro` control workload: tinybench on the hot TypeScript paths of cases.ts, one cell per
 * case. A trial is one tinybench run of that case alone (warm-up, then as many operations as fit
 * in the time), giving operations per second from the mean time per operation, so that the few
 * slow samples (a garbage collection) count as much as they cost. Wall time on a shared machine is
 * noisy: the callgrind workload counts instructions of the same operations for a figure that is not.
 */
import { Bench } from 'tinybench';
import { KdpError } from '../../../dataplane/errors.ts';
import type { ControlWorkload, TrialValue, WorkloadInstance } from '../../lib/workload.ts';
import { TS_CASES } from './cases.ts';

/** Per trial: milliseconds of operations (and of warm-up, at most 100), and at least this many of each. */
const RUN = {
  quick: { time: 50, iterations: 5, warmupIterations: 2 },
  full: { time: 1000, iterations: 64, warmupIterations: 16 },
};

export const microWorkload: ControlWorkload = {
  name: 'micro',
  description: 'tinybench of hot TypeScript paths (iptables rule generation, trackers, udp packet functions)',
  modeDependent: false,
  needsRoot: false,
  variants: () => TS_CASES.map((c) => ({ case: c.name })),
  async setup(axes, options) {
    const name = String(axes.params?.case);
    const hotPath = TS_CASES.find((c) => c.name === name);
    if (!hotPath) throw new KdpError('KDP_ERR_BENCH_VARIANT', `micro: no case "${name}"`);
    const op = hotPath.prepare();
    const run = options.quick ? RUN.quick : RUN.full;
    return {
      async trial(): Promise<TrialValue[]> {
        return [await runOnce(name, op, run, hotPath.opsPerCall ?? 1)];
      },
      async close() {},
    } satisfies WorkloadInstance;
  },
};

async function runOnce(
  name: string,
  op: () => void,
  run: (typeof RUN)['full'],
  opsPerCall: number,
): Promise<TrialValue> {
  const bench = new Bench({ ...run, warmupTime: Math.min(100, run.time), throws: true });
  bench.add(name, op);
  await bench.run();
  const r = bench.tasks[0]?.result;
  if (!r || r.error || !(r.latency.mean > 0)) {
    throw new KdpError('KDP_ERR_BENCH_MICRO', `micro ${name}: tinybench gave no result: ${String(r?.error)}`);
  }
  return { name: 'ops_per_s', unit: 'ops/s', better: 'higher', value: (1000 / r.latency.mean) * opsPerCall };
}
