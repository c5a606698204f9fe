/**
 * vxlan's per-peer state, pure so it is tested without a kernel. For each peer that runs vxlan and
 * published its VTEP's MAC, flannel programs three things on flannel.1, and so does kdp:
 *
 *   FDB        <peer VtepMAC> dst <peer public ip>          (which node a VTEP MAC lives on)
 *   neighbour  <peer subnet .0> lladdr <peer VtepMAC>       (the VTEP's MAC without ARP)
 *   route      <peer pod CIDR> via <peer subnet .0> onlink  (what goes through the tunnel)
 *
 * Here: which entries the peers call for (peers that cannot be reached are skipped with a reason),
 * which of those listed on the device are vxlan's own (everything permanent on flannel.1 is: no
 * one else writes there), and what turns one set into the other.
 */
import { cidrsOverlap, networkOf, parseIpv4Cidr } from '../../../kernel/cidr.ts';
import { isUnicastMac } from '../../../kernel/mac.ts';
import { RT_TABLE, type FdbInfo, type NeighbourInfo, type RouteInfo } from '../../../kernel/types.ts';
import type { OverlayNode } from '../../backend.ts';
import { keyedDiff } from '../keyed-diff.ts';

/** One peer's VTEP: its subnet's network address (the flannel.1 address), its MAC, its node. */
export interface VxlanPeer {
  podCidr: string;
  vtepIp: string;
  mac: string;
  dst: string;
}

/** What is on the device, reduced to what vxlan compares. */
export interface VxlanEntries {
  fdb: { mac: string; dst: string }[];
  neighbours: { ip: string; mac: string }[];
  routes: { dst: string; via: string }[];
}

export interface DesiredPeers {
  peers: VxlanPeer[];
  skipped: { peer: OverlayNode; reason: string }[];
}

/** flannel's backend data for vxlan: {"VNI":1,"VtepMAC":"..."}; the MAC when it is well-formed. */
export function vtepMacOf(node: OverlayNode): string | undefined {
  const data = node.backendData as { VtepMAC?: unknown } | null | undefined;
  const mac = typeof data?.VtepMAC === 'string' ? data.VtepMAC.toLowerCase() : undefined;
  return mac && isUnicastMac(mac) ? mac : undefined;
}

const byName = (a: OverlayNode, b: OverlayNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function desiredPeers(local: OverlayNode, peers: readonly OverlayNode[]): DesiredPeers {
  const out: VxlanPeer[] = [];
  const skipped: DesiredPeers['skipped'] = [];
  for (const peer of [...peers].sort(byName)) {
    const mac = vtepMacOf(peer);
    let reason: string | undefined;
    if (!parseIpv4Cidr(peer.podCidr) || !peer.podCidr.includes('/'))
      reason = `pod CIDR "${peer.podCidr}" is not an IPv4 CIDR`;
    else if (peer.backendType !== 'vxlan')
      reason = peer.backendType
        ? `it runs the ${peer.backendType} backend, not vxlan`
        : 'its agent has not published a backend yet';
    else if (!mac) reason = 'its backend data has no VtepMAC';
    else if (cidrsOverlap(peer.podCidr, local.podCidr))
      reason = `pod CIDR ${peer.podCidr} overlaps this node's ${local.podCidr}`;
    else if (out.some((p) => cidrsOverlap(p.podCidr, peer.podCidr)))
      reason = `pod CIDR ${peer.podCidr} overlaps another node's`;
    else if (out.some((p) => p.mac === mac)) reason = `VtepMAC ${mac} is another node's too`;
    if (reason) skipped.push({ peer, reason });
    else
      out.push({
        podCidr: peer.podCidr,
        vtepIp: networkOf(peer.podCidr).split('/')[0],
        mac: mac!,
        dst: peer.underlayIp,
      });
  }
  return { peers: out, skipped };
}

export function entriesOf(peers: readonly VxlanPeer[]): VxlanEntries {
  return {
    fdb: peers.map((p) => ({ mac: p.mac, dst: p.dst })),
    neighbours: peers.map((p) => ({ ip: p.vtepIp, mac: p.mac })),
    routes: peers.map((p) => ({ dst: p.podCidr, via: p.vtepIp })),
  };
}

/** vxlan's entries among those listed on `dev`: permanent FDB and neighbour entries, gateway routes. */
export function ownedEntries(
  dev: string,
  fdb: readonly FdbInfo[],
  neighbours: readonly NeighbourInfo[],
  routes: readonly RouteInfo[],
): VxlanEntries {
  return {
    fdb: fdb
      .filter(
        (f) => f.dev === dev && f.state === 'permanent' && f.dst !== undefined && isUnicastMac(f.lladdr),
      )
      .map((f) => ({ mac: f.lladdr, dst: f.dst! })),
    neighbours: neighbours
      .filter((n) => n.dev === dev && n.state === 'permanent' && n.lladdr)
      .map((n) => ({ ip: n.ip, mac: n.lladdr! })),
    routes: routes
      .filter((r) => r.dev === dev && r.table === RT_TABLE.main && r.via !== undefined && r.dst !== 'default')
      .map((r) => ({ dst: r.dst, via: r.via! })),
  };
}

export function entryChanges(current: VxlanEntries, desired: VxlanEntries) {
  return {
    fdb: keyedDiff(
      current.fdb,
      desired.fdb,
      (f) => f.mac,
      (a, b) => a.dst === b.dst,
    ),
    neighbours: keyedDiff(
      current.neighbours,
      desired.neighbours,
      (n) => n.ip,
      (a, b) => a.mac === b.mac,
    ),
    routes: keyedDiff(
      current.routes,
      desired.routes,
      (r) => r.dst,
      (a, b) => a.via === b.via,
    ),
  };
}

export type VxlanChanges = ReturnType<typeof entryChanges>;

export function isEmpty(c: VxlanChanges): boolean {
  return [c.fdb, c.neighbours, c.routes].every((x) => x.put.length === 0 && x.remove.length === 0);
}
