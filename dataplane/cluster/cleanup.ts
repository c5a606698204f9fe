/**
 * `kdp cleanup`: removes whatever a cluster left behind, found by name alone, as Mininet's
 * cleanup does: every network namespace under the cluster's prefix (`kdp-<cluster>-`, or every
 * `kdp-` one), every kdp process (by title, by network namespace, by pid file; see
 * cleanup-processes.ts), the state directory /run/kdp/<cluster>/ and the cluster's cgroups under
 * /sys/fs/cgroup/unified/kdp/<cluster>/ (ebpf-ts; its links die with their processes, so the
 * cgroups are all a kill -9 leaves of eBPF besides cls_bpf filters, which go with the namespaces). It needs nothing from the
 * cluster itself, so it works after a kill -9 of the supervisor, the agents and the pods.
 * Processes go first (while their namespaces can still be recognised), then the namespaces.
 */
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeAllKdpCgroups, removeClusterCgroups } from '../ebpf/cgroup.ts';
import { KdpError } from '../errors.ts';
import { createIproute2Kernel } from '../kernel/iproute2/kernel.ts';
import { KDP_NAMESPACE_PREFIX } from '../kernel/name-checks.ts';
import { STATE_ROOT } from './builder-state.ts';
import { findKdpProcesses, killAll, type FoundProcess } from './cleanup-processes.ts';
import { clusterPrefix } from './topology-names.ts';

export const CLEANUP_FAILED = 'KDP_ERR_CLEANUP';

export interface CleanupOptions {
  /** One cluster; omit with `all`. */
  cluster?: string;
  /** Every kdp namespace, process and state directory, whatever cluster. */
  all?: boolean;
  /** Parent of the state directories (default /run/kdp). */
  stateRoot?: string;
  /** Processes never to kill (the caller is always spared). */
  exclude?: ReadonlySet<number>;
}

export interface CleanupReport {
  namespaces: string[];
  processes: FoundProcess[];
  stateDirs: string[];
  /** cgroups removed from kdp's subtree (/sys/fs/cgroup/unified/kdp/<cluster>/...). */
  cgroups: string[];
  /** Processes that would not die. */
  survivors: number[];
}

/** Clusters with a state directory under `stateRoot`. */
export function knownClusters(stateRoot = STATE_ROOT): string[] {
  return listDirs(stateRoot);
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * The namespaces of `cluster`: those under its prefix, except those of another cluster whose
 * name extends it (cluster `a` must not take `kdp-a-b-fabric` of a running cluster `a-b`).
 */
export function clusterNamespaces(all: readonly string[], cluster: string, otherClusters: readonly string[]) {
  const prefix = clusterPrefix(cluster);
  const longer = otherClusters
    .filter((c) => c !== cluster)
    .map(clusterPrefix)
    .filter((p) => p.startsWith(prefix));
  return all.filter((n) => n.startsWith(prefix) && !longer.some((p) => n.startsWith(p)));
}

export async function cleanup(options: CleanupOptions): Promise<CleanupReport> {
  if (!options.all && !options.cluster) {
    throw new KdpError(CLEANUP_FAILED, 'cleanup needs a cluster name or "all"');
  }
  const stateRoot = options.stateRoot ?? STATE_ROOT;
  const kernel = createIproute2Kernel({ prefix: KDP_NAMESPACE_PREFIX });
  const everyNs = await kernel.netns.list(KDP_NAMESPACE_PREFIX);
  const clusters = listDirs(stateRoot);
  const namespaces = options.all ? everyNs : clusterNamespaces(everyNs, options.cluster!, clusters);
  const stateDirs = options.all
    ? clusters.map((c) => join(stateRoot, c))
    : clusters.includes(options.cluster!)
      ? [join(stateRoot, options.cluster!)]
      : [];
  const exclude = new Set([process.pid, process.ppid, ...(options.exclude ?? [])]);
  const processes = findKdpProcesses({
    titlePrefix: options.all ? 'kdp:' : `kdp:${options.cluster}:`,
    namespaces,
    pidDirs: stateDirs,
    exclude,
  });
  const survivors = await killAll(processes);
  let failure: unknown;
  try {
    await kernel.netns.deleteMany(namespaces);
  } catch (e) {
    failure = e;
  }
  let cgroups: string[] = [];
  try {
    cgroups = options.all ? await removeAllKdpCgroups() : await removeClusterCgroups(options.cluster!);
  } catch (e) {
    failure ??= e;
  }
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  if (options.all) {
    try {
      rmdirSync(stateRoot);
    } catch {
      // not empty (a cluster started meanwhile) or already gone
    }
  }
  const report = { namespaces, processes, stateDirs, cgroups, survivors };
  if (failure !== undefined) {
    throw new KdpError(CLEANUP_FAILED, 'could not delete every namespace and cgroup', {
      cause: failure,
      details: report,
    });
  }
  if (survivors.length > 0) {
    throw new KdpError(CLEANUP_FAILED, `processes ${survivors.join(', ')} did not exit after SIGKILL`, {
      details: report,
    });
  }
  return report;
}
