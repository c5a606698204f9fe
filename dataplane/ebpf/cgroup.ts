/**
 * kdp's cgroups: /sys/fs/cgroup/unified/kdp/<cluster>/<...>, made for programs that hook sockets
 * (sock_addr, cgroup skb) of a pod or node process. removeCgroupTree takes a subtree apart bottom
 * up after moving nothing anywhere: a cgroup still holding processes is cleared by killing them
 * (they are kdp's, by construction of the subtree) and waiting until the kernel empties it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { KdpError } from '../errors.ts';
import { BPF_ERR } from './errors.ts';
import { assertAttachCgroup, isStrictlyUnder, KDP_CGROUP_ROOT } from './guard.ts';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The cgroup path for a cluster and sub-names, validated, not created. */
export function kdpCgroupPath(cluster: string, ...parts: string[]): string {
  for (const p of [cluster, ...parts]) {
    if (!NAME_RE.test(p) || p.length > 200)
      throw new KdpError(
        BPF_ERR.host,
        `cgroup name "${p}" must be letters, digits and _ . - (not starting with . or -)`,
      );
  }
  return join(KDP_CGROUP_ROOT, cluster, ...parts);
}

/** Creates the cgroup (and its parents under kdp's subtree); returns its path. */
export function createCgroup(cluster: string, ...parts: string[]): string {
  const path = kdpCgroupPath(cluster, ...parts);
  mkdirSync(path, { recursive: true });
  return assertAttachCgroup(path);
}

/** Processes in a cgroup (its cgroup.procs). */
export function cgroupProcs(path: string): number[] {
  try {
    return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Removes `path` and everything below it (only inside kdp's subtree); returns the cgroups removed. */
export async function removeCgroupTree(
  path: string,
  options: { timeoutMs?: number } = {},
): Promise<string[]> {
  if (!isStrictlyUnder(path, KDP_CGROUP_ROOT))
    throw new KdpError(BPF_ERR.host, `refusing to remove ${path}: not under ${KDP_CGROUP_ROOT}`);
  if (!existsSync(path)) return [];
  const removed: string[] = [];
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.isDirectory()) removed.push(...(await removeCgroupTree(join(path, e.name), options)));
  }
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    const procs = cgroupProcs(path);
    for (const pid of procs) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    try {
      rmdirSync(path);
      removed.push(path);
      return removed;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return removed;
      if (code !== 'EBUSY' || Date.now() > deadline)
        throw new KdpError(BPF_ERR.host, `could not remove cgroup ${path} (${code})`, { cause: e });
      await delay(20); // killed processes leave the cgroup asynchronously; poll until empty
    }
  }
}

/**
 * A cluster's whole cgroup subtree, for `kdp cleanup` (also after a kill -9); then kdp's root
 * cgroup when no other cluster has one, so a host kdp ran on keeps no empty kdp directory.
 */
export async function removeClusterCgroups(cluster: string): Promise<string[]> {
  const removed = await removeCgroupTree(kdpCgroupPath(cluster));
  removeKdpRootIfEmpty();
  return removed;
}

/** Removes /sys/fs/cgroup/unified/kdp itself unless a cluster (or a test) holds a cgroup there. */
export function removeKdpRootIfEmpty(): void {
  try {
    rmdirSync(KDP_CGROUP_ROOT);
  } catch {
    // absent, or a cluster has (or just made) one
  }
}

/** Every kdp cgroup (for `kdp cleanup --all`); then the kdp root itself when it is empty. */
export async function removeAllKdpCgroups(): Promise<string[]> {
  if (!existsSync(KDP_CGROUP_ROOT)) return [];
  const removed: string[] = [];
  for (const e of readdirSync(KDP_CGROUP_ROOT, { withFileTypes: true })) {
    if (e.isDirectory()) removed.push(...(await removeCgroupTree(join(KDP_CGROUP_ROOT, e.name))));
  }
  removeKdpRootIfEmpty();
  return removed;
}
