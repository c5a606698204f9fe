/**
 * The host-gw backend: pods on other nodes are reached by plain routes in the node namespace, the
 * peer's pod CIDR via the peer's underlay address, as flannel's host-gw does. No encapsulation, so
 * it is the fastest overlay and the baseline the others are measured against; it needs every node
 * on one L2 segment, which kdp's fabric bridge is. Peers that publish their uplink's MAC also get
 * a permanent neighbour entry (neighbours.ts), so no ARP is needed between nodes. The backend
 * remembers the routes and entries it last saw or programmed, so a Node event that changes
 * nothing costs no kernel call; after a failed change it reads them again before the next one.
 */
import { KdpError } from '../../../errors.ts';
import { NetworkPlan } from '../../../kernel/network-plan.ts';
import type { OverlayBackend, OverlayContext, OverlayNode } from '../../backend.ts';
import { desiredNeighbours, neighbourChanges, ownedNeighbours, type HostGwNeighbour } from './neighbours.ts';
import { desiredRoutes, ownedRoutes, routeChanges, type HostGwRoute } from './routes.ts';

export function createHostGwBackend(ctx: OverlayContext): OverlayBackend {
  const { kernel, netns, uplink, log } = ctx;
  let local: OverlayNode | undefined;
  let uplinkCidr: string | undefined;
  /** Routes and neighbour entries known to be there; undefined when they must be read again. */
  let current: { routes: HostGwRoute[]; neighbours: HostGwNeighbour[] } | undefined;
  /** Reasons already logged per peer, so a heartbeat does not repeat a warning. */
  const warned = new Map<string, string>();

  async function readCurrent(cidr: string) {
    const [routes, neighbours] = await Promise.all([
      kernel.routes.list(netns),
      kernel.neighbours.list(netns, uplink),
    ]);
    return { routes: ownedRoutes(routes, uplink), neighbours: ownedNeighbours(neighbours, uplink, cidr) };
  }

  return {
    name: 'host-gw',

    async start(node) {
      const [addresses, links] = await Promise.all([
        kernel.addresses.list(netns, uplink),
        kernel.links.list(netns),
      ]);
      const own = addresses.find((a) => a.cidr.split('/')[0] === node.underlayIp) ?? addresses[0];
      const link = links.find((l) => l.name === uplink);
      if (!own || !link) {
        throw new KdpError(
          'KDP_ERR_OVERLAY_NO_UPLINK_ADDRESS',
          `host-gw: ${uplink} in namespace ${netns} has no IPv4 address; the node's underlay must be configured first`,
        );
      }
      if (own.cidr.split('/')[0] !== node.underlayIp) {
        log(
          'warn',
          `host-gw: ${uplink} has ${own.cidr}, but the Node says its address is ${node.underlayIp}`,
        );
      }
      local = node;
      uplinkCidr = own.cidr;
      current = await readCurrent(own.cidr);
      // No encapsulation: pods get the uplink's whole MTU.
      return { backendData: null, podMtu: link.mtu };
    },

    async sync(peers, signal) {
      if (!local || !uplinkCidr)
        throw new KdpError('KDP_ERR_OVERLAY_NOT_STARTED', 'host-gw: sync before start');
      const { routes, skipped } = desiredRoutes(local, peers, uplink, uplinkCidr);
      for (const s of skipped) {
        if (warned.get(s.peer.name) === s.reason) continue;
        warned.set(s.peer.name, s.reason);
        log('warn', `host-gw: no route to node ${s.peer.name}: ${s.reason}`);
      }
      for (const name of warned.keys()) if (!skipped.some((s) => s.peer.name === name)) warned.delete(name);
      const neighbours = desiredNeighbours(peers, routes, uplink);
      current ??= await readCurrent(uplinkCidr);
      // Entries first: a new route's next hop is then resolved from its first packet.
      const plan = neighbourChanges(new NetworkPlan(), netns, current.neighbours, neighbours);
      for (const op of routeChanges(netns, current.routes, routes).ops) plan.push(op);
      if (plan.ops.length === 0) return;
      try {
        await kernel.ops.apply(plan, { signal });
        current = { routes, neighbours };
        log('info', 'host-gw: routes programmed', {
          routes: routes.length,
          neighbours: neighbours.length,
          changes: plan.ops.length,
        });
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
