/** ebpf-ts: kdp's eBPF library (README.md in this folder). */
export { BpfObject, BpfProgram, type TestRunOptions, type TestRunResult } from './object.ts';
export { BpfMap, type UpdateFlag } from './map.ts';
export { RingBufferReader } from './ringbuf.ts';
export * as codec from './codec.ts';
export {
  attachCgroup,
  attachTc,
  attachXdp,
  CGROUP_HOOKS,
  type BpfLink,
  type CgroupHook,
  type NetdevTarget,
} from './links.ts';
export { createCgroup, kdpCgroupPath, removeCgroupTree, removeClusterCgroups } from './cgroup.ts';
export { KDP_CGROUP_ROOT, assertAttachCgroup, assertAttachNamespace } from './guard.ts';
export { BPF_ERR } from './errors.ts';
export { BPF_OBJECT_DIR } from './native.ts';
