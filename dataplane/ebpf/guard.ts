/**
 * Where ebpf-ts may attach: interfaces inside kdp's own network namespaces (the kernel layer's
 * namespace guard, kdp-* or a narrower prefix) and cgroups strictly under kdp's subtree of the
 * cgroup v2 tree (KDP_CGROUP_ROOT), never the root cgroup or the host's interfaces. These checks run
 * before the addon is called; the addon checks the same again (native/ebpf/ebpf_attach.cc).
 */
import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { KdpError } from '../errors.ts';
import { assertIfName, assertKdpNamespace, KDP_NAMESPACE_PREFIX } from '../kernel/name-checks.ts';
import { BPF_ERR } from './errors.ts';

/** The cgroup v2 mount kdp uses and its own subtree in it. */
export const CGROUP2_MOUNT = '/sys/fs/cgroup/unified';
export const KDP_CGROUP_ROOT = `${CGROUP2_MOUNT}/kdp`;

/** Throws KDP_ERR_KERNEL_HOST_NAMESPACE unless `namespace` is a kdp namespace under `prefix`. */
export function assertAttachNamespace(
  namespace: string,
  ifname: string,
  prefix = KDP_NAMESPACE_PREFIX,
): void {
  if (!prefix.startsWith(KDP_NAMESPACE_PREFIX))
    throw new KdpError(BPF_ERR.host, `prefix "${prefix}" is not a kdp prefix (${KDP_NAMESPACE_PREFIX}...)`);
  assertKdpNamespace(namespace, prefix, `attach BPF program to ${ifname}`);
  assertIfName(ifname, 'attach BPF program', namespace);
}

/**
 * The real path of `cgroup`, which must be a directory strictly under KDP_CGROUP_ROOT (symlinks
 * and .. resolved first, so none leads out). `root` narrows it further (a cluster's subtree).
 */
export function assertAttachCgroup(cgroup: string, root = KDP_CGROUP_ROOT): string {
  if (root !== KDP_CGROUP_ROOT && !isStrictlyUnder(resolve(root), KDP_CGROUP_ROOT))
    throw new KdpError(BPF_ERR.host, `cgroup root ${root} is not under ${KDP_CGROUP_ROOT}`);
  let real: string;
  try {
    real = realpathSync(resolve(cgroup));
  } catch (e) {
    throw new KdpError(BPF_ERR.notFound, `cgroup ${cgroup} does not exist`, { cause: e });
  }
  if (!isStrictlyUnder(real, root)) {
    throw new KdpError(
      BPF_ERR.host,
      `cgroup ${real} is not under ${root}: kdp attaches only to cgroups in its own subtree, never the root cgroup`,
    );
  }
  return real;
}

export function isStrictlyUnder(path: string, root: string): boolean {
  const r = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(r) && path.length > r.length;
}
