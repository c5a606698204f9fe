/**
 * Every attach point for real (root), inside a throwaway pair of namespaces and a cgroup under
 * kdp's subtree: tcx ingress/egress, the cls_bpf fallback, XDP generic and driver mode (veth has
 * native XDP), all ten cgroup hooks; each counts traffic (or refuses a connect) while attached, is
 * listed by bpftool, and is gone after close() (traffic no longer counted). Targets outside kdp's
 * namespaces or cgroup subtree are refused. Afterwards: no bpf fds, no test cgroups, host unchanged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isKdpError } from '../../../dataplane/errors.ts';
import { createCgroup, kdpCgroupPath, removeClusterCgroups } from '../../../dataplane/ebpf/cgroup.ts';
import { u32, u64 } from '../../../dataplane/ebpf/codec.ts';
import {
  CGROUP_HOOKS,
  attachCgroup,
  attachTc,
  attachXdp,
  type BpfLink,
  type CgroupHook,
} from '../../../dataplane/ebpf/links.ts';
import { BPF_OBJECT_DIR } from '../../../dataplane/ebpf/native.ts';
import { BpfObject } from '../../../dataplane/ebpf/object.ts';
import { diffSnapshots, snapshotRoot, type RootSnapshot } from '../helpers/root-snapshot.ts';
import {
  bpfFds,
  cgroupAttachments,
  CLUSTER,
  createTestbed,
  hostBpf,
  inNs,
  linkExists,
  netAttachments,
  NS_A,
  NS_B,
  ping,
  removeTestbed,
} from './testbed.ts';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && 'needs root';
let rootBefore: RootSnapshot;
let hostBefore: string;
let fdsBefore: string[];
let obj: BpfObject;

before(async () => {
  if (!isRoot) return;
  rootBefore = await snapshotRoot();
  hostBefore = await hostBpf();
  fdsBefore = bpfFds();
  createTestbed();
  obj = BpfObject.load(join(BPF_OBJECT_DIR, 'kdp_test.bpf.o'));
});

after(async () => {
  if (!isRoot) return;
  obj.close();
  removeTestbed();
  await removeClusterCgroups(CLUSTER);
  assert.equal(existsSync(kdpCgroupPath(CLUSTER)), false, "the test's cgroups are gone");
  assert.deepEqual(bpfFds(), fdsBefore, 'every bpf fd the tests opened is closed');
  assert.equal(await hostBpf(), hostBefore, 'no BPF program on the host namespace or root cgroup');
  assert.deepEqual(diffSnapshots(rootBefore, await snapshotRoot()), [], 'the host root namespace changed');
});

/** hits[slot] summed over CPUs. */
function hits(slot: number): bigint {
  return obj
    .perCpuMap('hits', u32, u64)
    .lookup(slot)!
    .reduce((a, b) => a + b, 0n);
}

/** bpftool's view: the link by id (tcx, XDP; bpftool 7.1 does not list tcx per device), else the device. */
async function listed(link: BpfLink, pattern: RegExp): Promise<boolean> {
  if (link.id !== undefined) return linkExists(link.id);
  return pattern.test(await netAttachments(NS_B));
}

/** While `attach` holds: pings are counted in `slot` and bpftool lists it; after close neither. */
async function countsWhileAttached(slot: number, pattern: RegExp, attach: () => BpfLink): Promise<void> {
  const link = attach();
  try {
    const before = hits(slot);
    const p = await ping(3);
    assert.equal(p.code, 0, p.out);
    assert.ok(hits(slot) - before >= 3n, `at least the 3 echo packets counted (${hits(slot) - before})`);
    assert.ok(await listed(link, pattern), `bpftool lists ${link.description}`);
    if (link.kind !== 'tcx') assert.match(await netAttachments(NS_B), pattern);
  } finally {
    link.close();
    link.close(); // idempotent
  }
  assert.equal(await listed(link, pattern), false, 'detached on close');
  if (link.kind !== 'tcx') assert.doesNotMatch(await netAttachments(NS_B), pattern);
  const afterClose = hits(slot);
  assert.equal((await ping(2)).code, 0);
  assert.equal(hits(slot), afterClose, 'nothing counted after close');
}

test('tcx ingress and egress', { skip }, async () => {
  const prog = obj.program('tc_pass');
  const target = { namespace: NS_B, ifname: 'v1' };
  await countsWhileAttached(1, /tcx\/ingress tc_pass/, () =>
    attachTc(prog, target, { direction: 'ingress', mode: 'tcx' }),
  );
  await countsWhileAttached(1, /tcx\/egress tc_pass/, () => attachTc(prog, target, { direction: 'egress' }));
});

test('the cls_bpf fallback (clsact qdisc, direct action)', { skip }, async () => {
  const prog = obj.program('tc_pass');
  const link = () => attachTc(prog, { namespace: NS_B, ifname: 'v1' }, { direction: 'ingress', mode: 'cls' });
  await countsWhileAttached(1, /v1\(\d+\) clsact\/ingress tc_pass/, link);
});

test('XDP generic and driver mode', { skip }, async () => {
  const prog = obj.program('xdp_pass');
  const target = { namespace: NS_B, ifname: 'v1' };
  await countsWhileAttached(2, /v1\(\d+\) generic/, () => attachXdp(prog, target, { mode: 'generic' }));
  await countsWhileAttached(2, /v1\(\d+\) driver/, () => attachXdp(prog, target, { mode: 'driver' }));
});

test(
  'cgroup hooks: all ten attach and detach; connect4 acts on a process in the cgroup',
  { skip },
  async () => {
    const cg = createCgroup(CLUSTER, 'pod-1');
    const links = (Object.keys(CGROUP_HOOKS) as CgroupHook[]).map((hook) => {
      const name = hook === 'ingress' ? 'skb_ingress' : hook === 'egress' ? 'skb_egress' : hook;
      return attachCgroup(obj.program(name), cg, hook);
    });
    try {
      const listed = await cgroupAttachments(cg);
      for (const name of [
        'connect4',
        'connect6',
        'sendmsg4',
        'recvmsg6',
        'getpeername4',
        'skb_ingress',
        'skb_egress',
      ])
        assert.match(listed, new RegExp(`\\b${name}\\b`));
      // Port 9 on b has no listener: refused (RST) from outside the cgroup, EPERM from inside.
      const connect = `exec 3<>/dev/tcp/10.99.0.2/9`;
      const outside = await inNs(NS_A, ['bash', '-c', connect]);
      assert.match(outside.out, /Connection refused/);
      const inside = await inNs(NS_A, ['bash', '-c', `echo $$ > ${cg}/cgroup.procs && ${connect}`]);
      assert.match(inside.out, /Operation not permitted/, 'the connect4 hook refused it');
    } finally {
      for (const l of links) l.close();
    }
    assert.equal(
      (await cgroupAttachments(cg))
        .trim()
        .split('\n')
        .filter((l) => /^\d+\s/.test(l.trim())).length,
      0,
    );
    const again = await inNs(NS_A, [
      'bash',
      '-c',
      `echo $$ > ${cg}/cgroup.procs && exec 3<>/dev/tcp/10.99.0.2/9`,
    ]);
    assert.match(again.out, /Connection refused/, 'detached: the connect reaches b again');
  },
);

test('targets outside kdp are refused before the kernel is asked', { skip }, async () => {
  const prog = obj.program('tc_pass');
  const hostNs = (e: unknown) => isKdpError(e, 'KDP_ERR_KERNEL_HOST_NAMESPACE');
  assert.throws(() => attachTc(prog, { namespace: '', ifname: 'lo' }, { direction: 'ingress' }), hostNs);
  assert.throws(
    () => attachXdp(obj.program('xdp_pass'), { namespace: 'default', ifname: 'lo' }, { mode: 'generic' }),
    hostNs,
  );
  const hostCg = (e: unknown) => isKdpError(e, 'KDP_ERR_BPF_HOST_TARGET');
  assert.throws(() => attachCgroup(obj.program('connect4'), '/sys/fs/cgroup/unified', 'connect4'), hostCg);
  assert.throws(
    () => attachCgroup(obj.program('connect4'), '/sys/fs/cgroup/unified/kdp/..', 'connect4'),
    hostCg,
  );
  // A cgroup of another cluster is outside a narrowed root.
  const other = createCgroup(CLUSTER, 'other');
  mkdirSync(join(other, 'x'), { recursive: true });
  assert.throws(
    () =>
      attachCgroup(obj.program('connect4'), join(other, 'x'), 'connect4', kdpCgroupPath(CLUSTER, 'pod-1')),
    hostCg,
  );
  // A missing interface inside a kdp namespace: a clear not-found error.
  assert.throws(
    () => attachTc(prog, { namespace: NS_A, ifname: 'nope0' }, { direction: 'ingress' }),
    (e) => isKdpError(e, 'KDP_ERR_BPF_NOT_FOUND') && /nope0/.test(e.message),
  );
  assert.equal(await hostBpf(), hostBefore);
});
