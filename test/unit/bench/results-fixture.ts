// Results documents for the bench tests: the stored fixtures (test/fixtures/bench/) and small
// documents built from given trials, so each compare test states its own numbers.
import { readFileSync } from 'node:fs';
import type { BenchResults, Cell } from '../../../bench/lib/results.ts';
import { metric } from '../../../bench/lib/summary.ts';

export const FIXTURES = new URL('../../fixtures/bench/', import.meta.url).pathname;

/** A fresh copy of a stored fixture (baseline.json or current.json), as parsed JSON. */
export function fixture(name: 'baseline.json' | 'current.json'): BenchResults {
  return JSON.parse(readFileSync(`${FIXTURES}${name}`, 'utf8')) as BenchResults;
}

/** A data-plane cell iptables/host-gw/<path>/tcp-stream-1 with one metric of the given trials. */
export function streamCell(path: string, trials: number[], better: 'higher' | 'lower' = 'higher'): Cell {
  const axes = { mode: 'iptables', backend: 'host-gw', path, workload: 'tcp-stream-1' };
  return {
    id: `iptables/host-gw/${path}/tcp-stream-1`,
    axes,
    metrics: [metric('throughput_gbps', 'Gbit/s', better, trials)],
  };
}

/** A whole results document around the given cells. */
export function results(cells: Cell[], commit = '0123456789abcdef'): BenchResults {
  const doc = fixture('baseline.json');
  return { ...doc, environment: { ...doc.environment, gitCommit: commit }, cells };
}

/** `n` trials around `center` with a fixed spread of about +-2% (a deterministic, shuffled ramp). */
export function around(center: number, n = 10, spread = 0.02): number[] {
  return Array.from({ length: n }, (_, i) => center * (1 + spread * ((((i * 7) % n) / (n - 1)) * 2 - 1)));
}
