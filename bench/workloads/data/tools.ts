/**
 * Running a traffic tool for a trial: somewhere to run it (a pod's or an external client's
 * namespace), always with a timeout, failing with a typed error that carries the tool's stderr
 * (a benchmark that fails must say why, not leave a gap in a table); and the machine's CPU time
 * from /proc/stat, for the CPU cost of a transfer.
 */
import { readFileSync } from 'node:fs';
import type { ExecOptions, PodExecResult } from '../../../dataplane/cluster/cluster.ts';
import { KdpError } from '../../../dataplane/errors.ts';

export const BENCH_TOOL_ERROR = 'KDP_ERR_BENCH_TOOL';

/** Runs argv in one place of the cluster: a client pod or an external client. */
export type Runner = (argv: readonly string[], options: ExecOptions) => Promise<PodExecResult>;

/** Seconds a tool may take beyond its own duration (connection set-up, sockperf's warm-up, exit). */
export const TOOL_GRACE_SECONDS = 20;

/** Runs a tool for `seconds` (plus grace); resolves with its stdout, throws BENCH_TOOL_ERROR on failure. */
export async function runTool(
  run: Runner,
  argv: readonly string[],
  seconds: number,
  signal?: AbortSignal,
): Promise<string> {
  const timeoutMs = (seconds + TOOL_GRACE_SECONDS) * 1000;
  const r = await run(argv, { timeoutMs, signal });
  if (r.code === 0) return r.stdout;
  const why = r.signal
    ? `was killed by ${r.signal} (timeout ${timeoutMs / 1000} s or abort)`
    : `exited ${r.code}`;
  const stderr = r.stderr.trim();
  // iperf3 -J puts its error in the JSON on stdout, not stderr.
  const detail = stderr || r.stdout.trim().slice(0, 500);
  throw new KdpError(BENCH_TOOL_ERROR, `${argv.join(' ')} ${why}${detail ? `: ${detail}` : ''}`, {
    details: { argv: [...argv], code: r.code, signal: r.signal, stderr: r.stderr },
  });
}

/** User HZ of /proc/stat; 100 on every Linux architecture kdp runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Non-idle CPU seconds of the whole machine since boot (every core; user, nice, system, irq,
 * softirq, steal - not idle, not iowait). Pods are namespaces of this one kernel, so this counts
 * the client, the server, the proxy's and the overlay's work alike: an end-to-end cost.
 */
export function machineBusySeconds(stat = readFileSync('/proc/stat', 'utf8')): number {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new KdpError(BENCH_TOOL_ERROR, 'no "cpu" line in /proc/stat');
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal || 0)) / CLOCK_TICKS_PER_SECOND;
}
