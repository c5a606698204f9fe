/**
 * The FakeKernel's links: bridges, veth pairs and vxlan devices (fake-vxlan.ts) added, set (up or
 * down, MTU, MAC, master, hairpin), moved to another namespace and deleted, with the kernel's rules:
 * a name taken in the namespace, a veth peer into a missing namespace, a master that is not a
 * bridge, a link going down or away taking its neighbour entries (and addresses, routes, FDB
 * entries) with it, a veth's peer going with it, and a bridge whose MAC was never set taking its
 * lowest port's.
 */
import { KERNEL_ERR } from '../errors.ts';
import type { NetOp } from '../types.ts';
import { type FakeLink, type FakeNamespace, kernelFail, linkOf } from './fake-namespace.ts';
import { vxlanLink } from './fake-vxlan.ts';

export type LinkOp = Extract<
  NetOp,
  { kind: 'bridge.add' | 'veth.add' | 'vxlan.add' | 'link.set' | 'link.move' | 'link.delete' }
>;

const LINK_OPS = new Set<string>([
  'bridge.add',
  'veth.add',
  'vxlan.add',
  'link.set',
  'link.move',
  'link.delete',
]);

export function isLinkOp(op: NetOp): op is LinkOp {
  return LINK_OPS.has(op.kind);
}

/** What link operations need of the whole fake: every namespace, and fresh MACs. */
export interface LinkHost {
  readonly namespaces: ReadonlyMap<string, FakeNamespace>;
  /** The namespace, or the kernel's refusal (see checkFakeNamespace). */
  ns(name: string, operation: string): FakeNamespace;
  newMac(): string;
}

export function addLink(
  host: LinkHost,
  ns: FakeNamespace,
  link: Omit<FakeLink, 'address'> & { address?: string },
): void {
  ns.links.set(link.name, { ...link, address: link.address ?? host.newMac() });
  ns.sysctls.addLink(link.name);
}

/** A bridge whose MAC was never set takes the lowest of its ports' MACs (none: it keeps its own). */
function refreshBridgeAddress(ns: FakeNamespace, bridge: string | undefined): void {
  const br = bridge === undefined ? undefined : ns.links.get(bridge);
  if (!br || br.kind !== 'bridge' || br.addressSet) return;
  const ports = [...ns.links.values()].filter((l) => l.master === bridge).map((l) => l.address);
  if (ports.length > 0) br.address = ports.sort()[0];
}

export function flushNeighbours(ns: FakeNamespace, dev: string): void {
  for (let i = ns.neighbours.length - 1; i >= 0; i--)
    if (ns.neighbours[i].dev === dev) ns.neighbours.splice(i, 1);
}

/** Removes a link with its addresses, the routes and neighbours on it, and its ports' master. */
export function removeLink(host: LinkHost, nsName: string, name: string): void {
  const ns = host.namespaces.get(nsName);
  const link = ns?.links.get(name);
  if (!ns || !link) return;
  ns.links.delete(name);
  ns.sysctls.removeLink(name);
  for (let i = ns.addresses.length - 1; i >= 0; i--)
    if (ns.addresses[i].dev === name) ns.addresses.splice(i, 1);
  for (let i = ns.routes.length - 1; i >= 0; i--) if (ns.routes[i].dev === name) ns.routes.splice(i, 1);
  flushNeighbours(ns, name);
  for (let i = ns.fdb.length - 1; i >= 0; i--) if (ns.fdb[i].dev === name) ns.fdb.splice(i, 1);
  for (const l of ns.links.values()) if (l.master === name) delete l.master;
  refreshBridgeAddress(ns, link.master);
}

/** Validates and applies one link operation in `ns`. */
export function applyLinkOp(host: LinkHost, ns: FakeNamespace, op: LinkOp, operation: string): void {
  const exists = (name: string, where: FakeNamespace = ns) => {
    if (where.links.has(name)) kernelFail(KERNEL_ERR.exists, 'File exists', operation, where.name);
  };
  const unsupported = () => kernelFail(KERNEL_ERR.invalid, 'Operation not supported', operation, ns.name);
  switch (op.kind) {
    case 'bridge.add':
      exists(op.name);
      addLink(host, ns, { name: op.name, kind: 'bridge', mtu: op.mtu ?? 1500, up: false });
      return;
    case 'veth.add': {
      const peerNs = host.ns(op.peerNs, operation);
      exists(op.name);
      exists(op.peerName, peerNs);
      const mtu = op.mtu ?? 1500;
      addLink(host, ns, {
        name: op.name,
        kind: 'veth',
        mtu,
        up: false,
        peer: { ns: op.peerNs, name: op.peerName },
      });
      addLink(host, peerNs, {
        name: op.peerName,
        kind: 'veth',
        mtu,
        up: false,
        peer: { ns: op.ns, name: op.name },
      });
      return;
    }
    case 'vxlan.add':
      exists(op.name);
      addLink(host, ns, vxlanLink(ns, op, linkOf(ns, op.dev, operation), operation));
      return;
    case 'link.set': {
      const link = linkOf(ns, op.name, operation);
      if (op.master) {
        const master = linkOf(ns, op.master, operation);
        if (master.kind !== 'bridge') unsupported();
        if (link.kind === 'loopback') unsupported();
      }
      if (op.mtu !== undefined && link.kind !== 'loopback' && op.mtu > 65535)
        kernelFail(KERNEL_ERR.invalid, 'mtu greater than device maximum', operation, ns.name);
      // The kernel has bridge port options only for a link that is a port.
      if (op.hairpin !== undefined && !link.master) unsupported();
      if (op.hairpin !== undefined) link.hairpin = op.hairpin;
      const oldMaster = link.master;
      if (op.master === null) delete link.master;
      else if (op.master !== undefined) link.master = op.master;
      if (op.mtu !== undefined) link.mtu = op.mtu;
      if (op.address !== undefined) {
        link.address = op.address;
        link.addressSet = true;
      }
      // Going down flushes the link's neighbour entries, permanent ones included.
      if (op.up === false && link.up) flushNeighbours(ns, link.name);
      if (op.up !== undefined) link.up = op.up;
      refreshBridgeAddress(ns, oldMaster);
      refreshBridgeAddress(ns, link.master);
      return;
    }
    case 'link.move': {
      const link = linkOf(ns, op.name, operation);
      const target = host.ns(op.targetNs, operation);
      if (link.kind === 'loopback') kernelFail(KERNEL_ERR.invalid, 'Invalid argument', operation, ns.name);
      if (target.links.has(op.name))
        kernelFail(
          KERNEL_ERR.exists,
          'An interface with the same name exists in the target netns',
          operation,
          ns.name,
        );
      removeLink(host, ns.name, op.name);
      const moved: FakeLink = { ...link, up: false };
      delete moved.master;
      addLink(host, target, moved);
      if (link.peer) {
        const peer = host.namespaces.get(link.peer.ns)?.links.get(link.peer.name);
        if (peer) peer.peer = { ns: target.name, name: op.name };
      }
      return;
    }
    case 'link.delete': {
      const link = linkOf(ns, op.name, operation);
      if (link.kind === 'loopback') unsupported();
      removeLink(host, ns.name, op.name);
      if (link.peer) removeLink(host, link.peer.ns, link.peer.name);
      return;
    }
  }
}
