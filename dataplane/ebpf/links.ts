/**
 * Attach points, each returning a BpfLink whose close() detaches: tc ingress/egress through tcx
 * (bpf_link; falls back to a clsact qdisc + cls_bpf filter where the kernel has no tcx), XDP
 * (generic or driver mode), cgroup sock_addr hooks and cgroup skb. Interfaces are named by (kdp
 * namespace, ifname) and looked up by a native thread inside that namespace; cgroups must be in
 * kdp's subtree (guard.ts). A bpf_link detaches when its last fd closes, so a killed process leaves
 * nothing attached; a cls_bpf filter stays until its namespace is deleted or close() removes it.
 */
import { KdpError } from '../errors.ts';
import { BPF_ERR, bpfError, errnoOf } from './errors.ts';
import { assertAttachCgroup, assertAttachNamespace } from './guard.ts';
import { loadEbpfAddon } from './native.ts';
import type { BpfProgram } from './object.ts';

/** enum bpf_attach_type (include/uapi/linux/bpf.h). */
const ATTACH = { tcxIngress: 46, tcxEgress: 47, xdp: 37 } as const;
const XDP_FLAGS = { generic: 2, driver: 4 } as const;

export const CGROUP_HOOKS = {
  ingress: 0,
  egress: 1,
  connect4: 10,
  connect6: 11,
  sendmsg4: 14,
  sendmsg6: 15,
  recvmsg4: 19,
  recvmsg6: 20,
  getpeername4: 29,
  getpeername6: 30,
} as const;
export type CgroupHook = keyof typeof CGROUP_HOOKS;

export interface BpfLink {
  /** "tcx ingress kdp-a-n1:eth0", "cgroup connect4 /sys/fs/cgroup/unified/kdp/a/p1", ... */
  readonly description: string;
  readonly kind: 'tcx' | 'tc-cls' | 'xdp' | 'cgroup';
  /** The kernel's id of the bpf_link (`bpftool link show id N`); undefined for a cls_bpf filter. */
  readonly id: number | undefined;
  /** Detaches. Idempotent. */
  close(): void;
}

export interface NetdevTarget {
  /** A kdp namespace (kdp-...) holding the interface. */
  namespace: string;
  ifname: string;
  /** Narrower namespace prefix to enforce (a cluster's kdp-<cluster>-); default kdp-. */
  prefix?: string;
}

class FdLink implements BpfLink {
  #fd: number | undefined;
  readonly id: number;
  constructor(
    fd: number,
    readonly kind: 'tcx' | 'xdp' | 'cgroup',
    readonly description: string,
  ) {
    this.#fd = fd;
    this.id = loadEbpfAddon().linkInfo(fd).id;
  }
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    loadEbpfAddon().closeFd(fd);
  }
}

class ClsLink implements BpfLink {
  readonly kind = 'tc-cls';
  readonly id = undefined;
  #open = true;
  constructor(
    readonly description: string,
    private readonly target: NetdevTarget,
    private readonly direction: 'ingress' | 'egress',
    private readonly filter: { ifindex: number; handle: number; priority: number },
  ) {}
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    const f = this.filter;
    loadEbpfAddon().detachTcLegacy(this.target.namespace, f.ifindex, this.direction, f.handle, f.priority);
  }
}

export interface TcOptions {
  direction: 'ingress' | 'egress';
  /** 'tcx' only, 'cls' (clsact + cls_bpf) only, or 'auto': tcx, cls where the kernel lacks tcx. */
  mode?: 'auto' | 'tcx' | 'cls';
}

export function attachTc(program: BpfProgram, target: NetdevTarget, options: TcOptions): BpfLink {
  assertAttachNamespace(target.namespace, target.ifname, target.prefix);
  const addon = loadEbpfAddon();
  const where = `${target.namespace}:${target.ifname}`;
  const mode = options.mode ?? 'auto';
  if (mode !== 'cls') {
    const type = options.direction === 'ingress' ? ATTACH.tcxIngress : ATTACH.tcxEgress;
    try {
      const fd = addon.attachNetdev(program.fd, target.namespace, target.ifname, type, 0);
      return new FdLink(fd, 'tcx', `tcx ${options.direction} ${where} ${program.name}`);
    } catch (e) {
      // A kernel before 6.6 knows no tcx attach type: EINVAL from link_create.
      if (mode === 'tcx' || errnoOf(e) !== 'EINVAL') throw attachError(`tcx ${options.direction}`, where, e);
    }
  }
  try {
    const filter = addon.attachTcLegacy(program.fd, target.namespace, target.ifname, options.direction);
    return new ClsLink(
      `tc cls_bpf ${options.direction} ${where} ${program.name}`,
      target,
      options.direction,
      filter,
    );
  } catch (e) {
    throw attachError(`cls_bpf ${options.direction}`, where, e);
  }
}

export interface XdpOptions {
  /** 'generic' (skb mode, any device) or 'driver' (native XDP; the driver must support it). */
  mode: 'generic' | 'driver';
}

export function attachXdp(program: BpfProgram, target: NetdevTarget, options: XdpOptions): BpfLink {
  assertAttachNamespace(target.namespace, target.ifname, target.prefix);
  const where = `${target.namespace}:${target.ifname}`;
  try {
    const fd = loadEbpfAddon().attachNetdev(
      program.fd,
      target.namespace,
      target.ifname,
      ATTACH.xdp,
      XDP_FLAGS[options.mode],
    );
    return new FdLink(fd, 'xdp', `xdp ${options.mode} ${where} ${program.name}`);
  } catch (e) {
    throw attachError(`xdp ${options.mode}`, where, e);
  }
}

/** Attaches to a cgroup under kdp's subtree (root narrows it further, e.g. a cluster's). */
export function attachCgroup(program: BpfProgram, cgroup: string, hook: CgroupHook, root?: string): BpfLink {
  if (!(hook in CGROUP_HOOKS))
    throw new KdpError(
      BPF_ERR.attach,
      `unknown cgroup hook "${hook}" (${Object.keys(CGROUP_HOOKS).join(', ')})`,
    );
  const real = assertAttachCgroup(cgroup, root);
  try {
    const fd = loadEbpfAddon().attachCgroup(program.fd, real, CGROUP_HOOKS[hook]);
    return new FdLink(fd, 'cgroup', `cgroup ${hook} ${real} ${program.name}`);
  } catch (e) {
    throw attachError(`cgroup ${hook}`, real, e);
  }
}

function attachError(what: string, where: string, e: unknown): KdpError {
  if (e instanceof KdpError) return e;
  const errno = errnoOf(e);
  const hint =
    errno === 'ENOENT' || errno === 'ENODEV'
      ? ' (no such interface or namespace)'
      : errno === 'EINVAL'
        ? ' (the program type does not fit this attach point, or the kernel lacks it)'
        : errno === 'EOPNOTSUPP'
          ? ' (the device or kernel does not support this mode)'
          : '';
  return bpfError(
    errno === 'ENOENT' || errno === 'ENODEV' ? BPF_ERR.notFound : BPF_ERR.attach,
    `attach ${what} to ${where}${hint}`,
    e,
  );
}
