/**
 * host-gw's route logic, pure so it is tested without a kernel: which routes a node needs (one per
 * peer: the peer's pod CIDR via the peer's underlay address on the uplink), which routes in the
 * node's table are host-gw's own (so that it never removes a route someone else made), and the
 * plan that turns what is there into what is wanted.
 */
import { cidrContains, cidrsOverlap, parseIpv4Cidr } from '../../../kernel/cidr.ts';
import { NetworkPlan } from '../../../kernel/network-plan.ts';
import { RT_TABLE, type RouteInfo, type RouteSpec } from '../../../kernel/types.ts';
import type { OverlayNode } from '../../backend.ts';
import { keyedDiff } from '../keyed-diff.ts';

export interface HostGwRoute {
  dst: string;
  via: string;
  dev: string;
}

/** A peer left out, and why (the backend logs it once per reason). */
export interface SkippedPeer {
  peer: OverlayNode;
  reason: string;
}

export interface DesiredRoutes {
  routes: HostGwRoute[];
  skipped: SkippedPeer[];
}

/**
 * The routes to `peers`. host-gw needs every peer on the uplink's own subnet (the next hop must be
 * directly reachable, as flannel requires); a peer elsewhere, a peer whose pod CIDR overlaps ours
 * or an earlier peer's, or one with an unusable CIDR is skipped with the reason.
 */
export function desiredRoutes(
  local: OverlayNode,
  peers: readonly OverlayNode[],
  uplink: string,
  uplinkCidr: string,
): DesiredRoutes {
  const routes: HostGwRoute[] = [];
  const skipped: SkippedPeer[] = [];
  const sorted = [...peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const peer of sorted) {
    const cidr = parseIpv4Cidr(peer.podCidr);
    if (!cidr || !peer.podCidr.includes('/')) {
      skipped.push({ peer, reason: `pod CIDR "${peer.podCidr}" is not an IPv4 CIDR` });
    } else if (!cidrContains(uplinkCidr, peer.underlayIp)) {
      skipped.push({
        peer,
        reason: `underlay address ${peer.underlayIp} is not on this node's uplink subnet ${uplinkCidr}; host-gw needs every node on one L2 segment`,
      });
    } else if (cidrsOverlap(peer.podCidr, local.podCidr)) {
      skipped.push({ peer, reason: `pod CIDR ${peer.podCidr} overlaps this node's ${local.podCidr}` });
    } else if (routes.some((r) => cidrsOverlap(r.dst, peer.podCidr))) {
      skipped.push({ peer, reason: `pod CIDR ${peer.podCidr} overlaps another node's` });
    } else {
      routes.push({ dst: peer.podCidr, via: peer.underlayIp, dev: uplink });
    }
  }
  return { routes, skipped };
}

/**
 * host-gw's routes among those listed: main table, unicast, through a gateway on the uplink, not
 * the default route. Nothing else in a node namespace routes subnets via a gateway on its uplink.
 */
export function ownedRoutes(listed: readonly RouteInfo[], uplink: string): HostGwRoute[] {
  return listed
    .filter(
      (r) =>
        r.table === RT_TABLE.main &&
        r.type === 'unicast' &&
        r.dst !== 'default' &&
        r.via !== undefined &&
        r.dev === uplink,
    )
    .map((r) => ({ dst: r.dst, via: r.via!, dev: uplink }));
}

/** The plan from `current` to `desired` in `netns`; empty when they are the same set. */
export function routeChanges(
  netns: string,
  current: readonly HostGwRoute[],
  desired: readonly HostGwRoute[],
): NetworkPlan {
  const plan = new NetworkPlan();
  const spec = (r: HostGwRoute): RouteSpec => ({ dst: r.dst, via: r.via, dev: r.dev });
  // Deletions first: a peer whose CIDR moved to one another peer held must be gone before it is reused.
  const { put, remove } = keyedDiff(
    current,
    desired,
    (r) => r.dst,
    (held, wanted) => held.via === wanted.via && held.dev === wanted.dev,
  );
  for (const r of remove) plan.deleteRoute(netns, spec(r));
  for (const d of put) plan.replaceRoute(netns, spec(d));
  return plan;
}
