/**
 * host-gw's static ARP, pure so it is tested without a kernel: a permanent neighbour entry on the
 * uplink for every peer a route goes through and whose uplink MAC is known (its Node annotation),
 * which of the node's entries are host-gw's, and the plan from one set to the other. All of a
 * host's namespaces share one neighbour table whose gc_thresh3 kdp cannot raise; permanent entries
 * do not count against it, so node-to-node traffic keeps working however many pods fill the table.
 */
import { cidrContains } from '../../../kernel/cidr.ts';
import type { NetworkPlan } from '../../../kernel/network-plan.ts';
import type { NeighbourInfo } from '../../../kernel/types.ts';
import type { OverlayNode } from '../../backend.ts';
import type { HostGwRoute } from './routes.ts';
import { keyedDiff } from '../keyed-diff.ts';

export interface HostGwNeighbour {
  ip: string;
  dev: string;
  lladdr: string;
}

/** One entry per next hop of `routes` whose peer published its MAC; the first peer of an address wins. */
export function desiredNeighbours(
  peers: readonly OverlayNode[],
  routes: readonly HostGwRoute[],
  uplink: string,
): HostGwNeighbour[] {
  const nextHops = new Set(routes.map((r) => r.via));
  const byIp = new Map<string, HostGwNeighbour>();
  const sorted = [...peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const peer of sorted) {
    if (!peer.underlayMac || !nextHops.has(peer.underlayIp) || byIp.has(peer.underlayIp)) continue;
    byIp.set(peer.underlayIp, { ip: peer.underlayIp, dev: uplink, lladdr: peer.underlayMac });
  }
  return [...byIp.values()];
}

/**
 * host-gw's entries among those listed: permanent, on the uplink, for an address of the uplink's
 * subnet. Nothing else in a node namespace makes permanent entries on its uplink.
 */
export function ownedNeighbours(
  listed: readonly NeighbourInfo[],
  uplink: string,
  uplinkCidr: string,
): HostGwNeighbour[] {
  return listed
    .filter((n) => n.state === 'permanent' && n.dev === uplink && n.lladdr && cidrContains(uplinkCidr, n.ip))
    .map((n) => ({ ip: n.ip, dev: uplink, lladdr: n.lladdr! }));
}

/** Adds to `plan` what turns `current` into `desired` in `netns`; nothing when they are the same set. */
export function neighbourChanges(
  plan: NetworkPlan,
  netns: string,
  current: readonly HostGwNeighbour[],
  desired: readonly HostGwNeighbour[],
): NetworkPlan {
  const { put, remove } = keyedDiff(
    current,
    desired,
    (n) => n.ip,
    (held, wanted) => held.lladdr === wanted.lladdr,
  );
  for (const n of remove) plan.deleteNeighbour(netns, n);
  for (const d of put) plan.replaceNeighbour(netns, d);
  return plan;
}
