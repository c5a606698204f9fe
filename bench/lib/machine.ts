/**
 * What a benchmark result records about where and when it ran, and where results go: CPU model
 * and count, memory, kernel, Node version, the load average at the start (these machines are
 * shared, so a busy neighbour shows here), the date; results are JSON files under bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
  loadAverage: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Writes `result` as JSON to `out` or bench/results/<name>-<date>.json; returns the repo-relative path. */
export function writeResult(name: string, result: unknown, out?: string): string {
  const path = out ?? join(RESULTS_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return relative(REPO, path);
}
