/**
 * The vxlan backend, as flannel's: the kernel's VXLAN device flannel.1 (VNI 1, UDP 8472, MAC
 * learning off) carries pod traffic between nodes, and the backend programs what the kernel
 * cannot learn by itself - per peer an FDB entry, a permanent neighbour entry and an onlink route
 * (entries.ts). The device's MAC follows from the node's subnet (or is the existing device's), so
 * it stays the same across agent restarts and peers' entries stay valid; the device, its address
 * and every entry outlive the agent, and a restarted agent adopts them without a blip.
 */
import { KdpError } from '../../../errors.ts';
import { networkOf } from '../../../kernel/cidr.ts';
import type { Kernel } from '../../../kernel/interfaces.ts';
import { macFromIpv4 } from '../../../kernel/mac.ts';
import { NetworkPlan } from '../../../kernel/network-plan.ts';
import type { LinkInfo } from '../../../kernel/types.ts';
import type { OverlayBackend, OverlayContext, OverlayNode } from '../../backend.ts';
import {
  desiredPeers,
  entriesOf,
  entryChanges,
  isEmpty,
  ownedEntries,
  type VxlanChanges,
  type VxlanEntries,
} from './entries.ts';

export const VXLAN_DEVICE = 'flannel.1';
export const VXLAN_VNI = 1;
/** flannel's default port (the Linux kernel's historical one; IANA's is 4789). */
export const VXLAN_PORT = 8472;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD = 50;

/** The VTEP MAC a node's device gets: 0a:58 and its subnet's network address, unique per subnet. */
export function vtepMacFor(podCidr: string): string {
  return macFromIpv4(networkOf(podCidr).split('/')[0]);
}

async function readEntries(kernel: Kernel, netns: string): Promise<VxlanEntries> {
  const [fdb, neighbours, routes] = await Promise.all([
    kernel.fdb.list(netns, VXLAN_DEVICE),
    kernel.neighbours.list(netns, VXLAN_DEVICE),
    kernel.routes.list(netns),
  ]);
  return ownedEntries(VXLAN_DEVICE, fdb, neighbours, routes);
}

/** The existing device when it is the one wanted; otherwise why it must be made again. */
function compatible(link: LinkInfo, local: string, uplink: string): string | undefined {
  const v = link.vxlan;
  if (link.kind !== 'vxlan' || !v) return `it is a ${link.kind} link`;
  if (v.vni !== VXLAN_VNI || v.port !== VXLAN_PORT) return `it has VNI ${v.vni} port ${v.port}`;
  if (v.local !== local || (v.dev !== undefined && v.dev !== uplink))
    return `it sends from ${v.local ?? 'any address'} on ${v.dev ?? 'any link'}`;
  if (v.learning) return 'it learns MACs';
  return undefined;
}

export function createVxlanBackend(ctx: OverlayContext): OverlayBackend {
  const { kernel, netns, uplink, log } = ctx;
  let local: OverlayNode | undefined;
  /** Entries known to be on the device; undefined when they must be read again. */
  let current: VxlanEntries | undefined;
  const warned = new Map<string, string>();

  /** Makes flannel.1 as wanted, keeping a compatible existing one (and so its entries). */
  async function ensureDevice(node: OverlayNode, uplinkLink: LinkInfo, existing?: LinkInfo): Promise<string> {
    const mtu = uplinkLink.mtu - VXLAN_OVERHEAD;
    const cidr = `${networkOf(node.podCidr).split('/')[0]}/32`;
    const plan = new NetworkPlan();
    let mac = vtepMacFor(node.podCidr);
    const why = existing && compatible(existing, node.underlayIp, uplink);
    if (existing && !why) {
      mac = existing.address ?? mac;
      if (existing.mtu !== mtu) plan.setLink(netns, VXLAN_DEVICE, { mtu });
      if (!existing.up) plan.setLink(netns, VXLAN_DEVICE, { up: true });
    } else {
      if (existing) {
        log('warn', `vxlan: replacing ${VXLAN_DEVICE} in ${netns}: ${why}`);
        plan.deleteLink(netns, VXLAN_DEVICE);
      }
      plan
        .addVxlan({
          ns: netns,
          name: VXLAN_DEVICE,
          vni: VXLAN_VNI,
          local: node.underlayIp,
          dev: uplink,
          port: VXLAN_PORT,
          mtu,
          address: mac,
        })
        .setLink(netns, VXLAN_DEVICE, { up: true });
    }
    const addresses = existing && !why ? await kernel.addresses.list(netns, VXLAN_DEVICE) : [];
    // Only the subnet's network address: one from an earlier pod CIDR would attract its traffic.
    for (const a of addresses) if (a.cidr !== cidr) plan.deleteAddress(netns, VXLAN_DEVICE, a.cidr);
    if (!addresses.some((a) => a.cidr === cidr)) plan.addAddress(netns, VXLAN_DEVICE, cidr);
    if (plan.ops.length > 0) await kernel.ops.apply(plan);
    return mac;
  }

  /** Writes the changes: new entries FDB first and routes last, removals the other way round. */
  async function apply(changes: VxlanChanges, signal?: AbortSignal) {
    const dev = VXLAN_DEVICE;
    const removals = new NetworkPlan();
    for (const r of changes.routes.remove) removals.deleteRoute(netns, { dst: r.dst, via: r.via, dev });
    for (const n of changes.neighbours.remove) removals.deleteNeighbour(netns, { ip: n.ip, dev });
    if (removals.ops.length > 0) await kernel.ops.apply(removals, { signal });
    for (const f of changes.fdb.remove) await kernel.fdb.delete(netns, { dev, lladdr: f.mac, dst: f.dst });
    for (const f of changes.fdb.put) await kernel.fdb.replace(netns, { dev, lladdr: f.mac, dst: f.dst });
    const puts = new NetworkPlan();
    for (const n of changes.neighbours.put) puts.replaceNeighbour(netns, { ip: n.ip, dev, lladdr: n.mac });
    for (const r of changes.routes.put)
      puts.replaceRoute(netns, { dst: r.dst, via: r.via, dev, onlink: true });
    if (puts.ops.length > 0) await kernel.ops.apply(puts, { signal });
  }

  return {
    name: 'vxlan',

    async start(node) {
      const links = await kernel.links.list(netns);
      const uplinkLink = links.find((l) => l.name === uplink);
      const addresses = uplinkLink ? await kernel.addresses.list(netns, uplink) : [];
      if (!uplinkLink || !addresses.some((a) => a.cidr.split('/')[0] === node.underlayIp)) {
        throw new KdpError(
          'KDP_ERR_OVERLAY_NO_UPLINK_ADDRESS',
          `vxlan: ${uplink} in namespace ${netns} does not have the node's address ${node.underlayIp}; the node's underlay must be configured first`,
        );
      }
      const mac = await ensureDevice(
        node,
        uplinkLink,
        links.find((l) => l.name === VXLAN_DEVICE),
      );
      local = node;
      current = await readEntries(kernel, netns);
      return { backendData: { VNI: VXLAN_VNI, VtepMAC: mac }, podMtu: uplinkLink.mtu - VXLAN_OVERHEAD };
    },

    async sync(peers, signal) {
      if (!local) throw new KdpError('KDP_ERR_OVERLAY_NOT_STARTED', 'vxlan: sync before start');
      const { peers: wanted, skipped } = desiredPeers(local, peers);
      for (const s of skipped) {
        if (warned.get(s.peer.name) === s.reason) continue;
        warned.set(s.peer.name, s.reason);
        log('warn', `vxlan: no tunnel to node ${s.peer.name}: ${s.reason}`);
      }
      for (const name of warned.keys()) if (!skipped.some((s) => s.peer.name === name)) warned.delete(name);
      const desired = entriesOf(wanted);
      current ??= await readEntries(kernel, netns);
      const changes = entryChanges(current, desired);
      if (isEmpty(changes)) return;
      try {
        await apply(changes, signal);
        current = desired;
        log('info', 'vxlan: peers programmed', { peers: wanted.length });
      } catch (e) {
        current = undefined;
        throw e;
      }
    },

    async close() {
      current = undefined;
    },
  };
}
