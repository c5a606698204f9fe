/**
 * Deletes the conntrack entries that would keep UDP (and SCTP) traffic on a path the new rules no
 * longer have, after a successful sync, as upstream's CleanStaleEntries:
 * - an endpoint that stopped serving: entries to the ClusterIP, external IPs and load balancer
 *   IPs that were DNATed to it, and to the node port DNATed to it; without this, a UDP client
 *   keeps sending into the removed pod until its entry times out;
 * - a service port that got its first endpoint: every entry to its addresses and node port (made
 *   while packets were rejected, they would keep rejecting);
 * - a removed service port: every entry to its old ClusterIP.
 * The framework carries these lists over a failed sync, so they are checked against the current
 * state first. A failed deletion is logged, not fatal: the rules are in place and the entry
 * times out on its own, as upstream.
 */
import type { Log } from '../../log.ts';
import type { Protocol } from '../../api/types.ts';
import type { Conntrack, ConntrackFilter, ConntrackProtocol } from '../../kernel/conntrack/interface.ts';
import type { SyncState } from '../proxier-contract.ts';
import type { IptablesEndpoint, IptablesServicePort } from './iptables-model.ts';

/** Concurrent conntrack processes: each is a short-lived tool run in the node's namespace. */
const CONCURRENCY = 4;

export interface ConntrackCleanupOptions {
  ns: string;
  /** Protocols whose entries are cleaned (UDP always; SCTP when the proxier programs it). */
  protocols: ReadonlySet<Protocol>;
  log: Log;
}

/** The deletions a sync's stale lists call for, without duplicates. */
export function staleConntrackFilters(
  state: SyncState<IptablesServicePort, IptablesEndpoint>,
  protocols: ReadonlySet<Protocol>,
): ConntrackFilter[] {
  const out = new Map<string, ConntrackFilter>();
  const add = (f: ConntrackFilter) => out.set(JSON.stringify(f), f);
  const proto = (p: Protocol) => p.toLowerCase() as ConntrackProtocol;

  for (const { clusterIP, protocol } of state.staleClusterIPs) {
    if (protocols.has(protocol)) add({ origDst: clusterIP, protocol: proto(protocol) });
  }
  for (const key of state.staleServices) {
    const svc = state.services.get(key);
    if (!svc || !protocols.has(svc.protocol)) continue;
    const protocol = proto(svc.protocol);
    for (const ip of [svc.clusterIP, ...svc.externalIPs, ...svc.loadBalancerIPs])
      add({ origDst: ip, protocol });
    if (svc.nodePort) add({ protocol, origDstPort: svc.nodePort });
  }
  for (const { servicePort, endpoint } of state.staleEndpoints) {
    const svc = state.services.get(servicePort);
    // A removed service port's entries go with its ClusterIP (staleClusterIPs).
    if (!svc || !protocols.has(svc.protocol)) continue;
    const now = state.endpoints.get(servicePort)?.find((e) => e.key === endpoint.key);
    if (now?.serving) continue;
    const protocol = proto(svc.protocol);
    if (svc.nodePort) add({ protocol, origDstPort: svc.nodePort, dstNat: endpoint.ip });
    for (const ip of [svc.clusterIP, ...svc.externalIPs, ...svc.loadBalancerIPs])
      add({ origDst: ip, dstNat: endpoint.ip, protocol });
  }
  return [...out.values()];
}

/** Runs the deletions; returns how many entries were deleted. */
export async function cleanStaleConntrack(
  conntrack: Conntrack,
  state: SyncState<IptablesServicePort, IptablesEndpoint>,
  opts: ConntrackCleanupOptions,
): Promise<number> {
  const filters = staleConntrackFilters(state, opts.protocols);
  let deleted = 0;
  let next = 0;
  const worker = async () => {
    while (next < filters.length) {
      const filter = filters[next++];
      try {
        deleted += await conntrack.delete(opts.ns, filter);
      } catch (error) {
        opts.log('warn', 'iptables proxier: deleting stale conntrack entries failed', { filter, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, filters.length) }, worker));
  return deleted;
}
