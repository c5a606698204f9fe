/** Latency summaries (milliseconds) and thread CPU time for the apiserver benchmark. */
import { readFileSync } from 'node:fs';
import { ascending, percentile } from '../lib/stats.ts';

export { percentile };

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = ascending(samplesMs);
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? NaN,
  };
}

/**
 * CPU time (user + system) the calling thread has used, ms, from /proc/thread-self/stat (Linux;
 * NaN elsewhere). Unlike wall-clock figures it does not grow when other processes compete for
 * the CPUs, so it says what a request costs on a shared, noisy machine. Resolution is one clock
 * tick (10 ms at the usual USER_HZ of 100), fine over runs of seconds.
 */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Split after the command name (it may hold spaces): index 0 is field 3, so utime (field 14)
    // and stime (15) are 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return NaN;
  }
}

const USER_HZ = 100;
