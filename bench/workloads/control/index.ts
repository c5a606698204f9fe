/**
 * The control-plane and micro workloads `kdp bench` runs (the 'control' suite; the matrix runner in
 * bench/run/ takes them from here): iptables sync time and network programming latency against
 * the number of Services, iptables-restore's own cost, cluster bring-up, apiserver throughput and
 * watch latency, tinybench of hot TypeScript paths, and instruction counts under callgrind.
 */
import type { ControlWorkload } from '../../lib/workload.ts';
import { callgrindWorkload } from '../micro/callgrind.ts';
import { microWorkload } from '../micro/micro.ts';
import { apiserverWorkload } from './apiserver.ts';
import { bringupWorkload } from './bringup.ts';
import { iptablesRestoreWorkload } from './iptables-restore.ts';
import { programmingLatencyWorkload, syncFullWorkload, syncPartialWorkload } from './proxy-sync.ts';

export const CONTROL_WORKLOADS: ControlWorkload[] = [
  syncFullWorkload,
  syncPartialWorkload,
  programmingLatencyWorkload,
  iptablesRestoreWorkload,
  bringupWorkload,
  apiserverWorkload,
  microWorkload,
  callgrindWorkload,
];

/** Whether one variant of a workload needs root (see ControlWorkload.variantNeedsRoot). */
export function variantNeedsRoot(
  workload: ControlWorkload,
  variant: Record<string, string | number>,
): boolean {
  return workload.variantNeedsRoot?.(variant) ?? workload.needsRoot;
}
