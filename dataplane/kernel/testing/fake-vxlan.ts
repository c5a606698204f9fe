/**
 * The FakeKernel's vxlan links and their FDB entries, with the kernel's rules (checked by
 * test/integration/kernel/vxlan.test.ts): one vxlan device per VNI and port in a namespace, its
 * MTU by default the underlay link's minus 50; an FDB entry needs an existing vxlan link, add refuses a MAC the link has already, append of an identical entry changes nothing,
 * replace points the MAC's entry at a new VTEP, delete needs an entry for the MAC and removes
 * the one for its VTEP (none for another VTEP: nothing happens, no error). Entries go with
 * their link (removeLink in fake-links.ts).
 */
import { KERNEL_ERR, kernelError } from '../errors.ts';
import type { FdbInfo, FdbSpec, NetOp } from '../types.ts';
import type { FakeLink, FakeNamespace } from './fake-namespace.ts';

/** The link a vxlan.add makes over `under`, or the kernel's refusal. */
export function vxlanLink(
  ns: FakeNamespace,
  op: Extract<NetOp, { kind: 'vxlan.add' }>,
  under: FakeLink,
  operation: string,
): Omit<FakeLink, 'address'> & { address?: string } {
  if ([...ns.links.values()].some((l) => l.vxlan?.vni === op.vni && l.vxlan.port === op.port)) {
    throw kernelError(KERNEL_ERR.exists, 'A VXLAN device with the specified VNI already exists', {
      operation,
      namespace: ns.name,
    });
  }
  const vxlan = { vni: op.vni, local: op.local, dev: op.dev, port: op.port, learning: false };
  // The kernel's default leaves room for the 50 bytes of outer headers.
  return {
    name: op.name,
    kind: 'vxlan',
    mtu: op.mtu ?? under.mtu - 50,
    up: false,
    address: op.address,
    vxlan,
  };
}

export type FdbVerb = 'add' | 'append' | 'replace' | 'del';

export function applyFdb(ns: FakeNamespace, verb: FdbVerb, e: FdbSpec, operation: string): void {
  const fail = (code: (typeof KERNEL_ERR)[keyof typeof KERNEL_ERR], message: string): never => {
    throw kernelError(code, message, { operation, namespace: ns.name });
  };
  const link = ns.links.get(e.dev);
  if (!link) fail(KERNEL_ERR.notFound, `Cannot find device "${e.dev}"`);
  if (link!.kind !== 'vxlan') fail(KERNEL_ERR.invalid, 'Operation not supported');
  const sameMac = (f: FdbInfo) => f.dev === e.dev && f.lladdr === e.lladdr;
  const i = ns.fdb.findIndex(sameMac);
  const exact = ns.fdb.findIndex((f) => sameMac(f) && f.dst === e.dst);
  const entry: FdbInfo = { dev: e.dev, lladdr: e.lladdr, dst: e.dst, state: 'permanent' };
  switch (verb) {
    case 'add':
      if (i >= 0) fail(KERNEL_ERR.exists, 'File exists');
      ns.fdb.push(entry);
      return;
    case 'append':
      if (exact < 0) ns.fdb.push(entry);
      return;
    case 'replace':
      if (i >= 0) ns.fdb[i] = entry;
      else ns.fdb.push(entry);
      return;
    case 'del':
      // As the kernel: no entry for the MAC is an error, one for another VTEP a silent no-op.
      if (i < 0) fail(KERNEL_ERR.notFound, 'No such file or directory');
      if (exact >= 0) ns.fdb.splice(exact, 1);
      return;
  }
}
