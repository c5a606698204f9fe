/**
 * The udp engine's route table: pod subnet -> owning node's underlay address, looked up for every
 * packet read from the TUN, plus the set of node addresses datagrams are accepted from. Built once
 * per setRoutes from the EngineRoute list (parsing happens there, never per packet); a lookup is
 * one Map probe per distinct prefix length present, so with hundreds of nodes that all hold a /24
 * it is a single probe. Addresses are unsigned 32-bit numbers, as read from a packet header.
 */
import { KdpError } from '../../../errors.ts';
import { cidrToUint32, ipv4ToUint32, prefixMask, uint32ToIpv4 } from '../../../kernel/cidr.ts';
import type { EngineRoute } from './engine.ts';

export class RouteTable {
  /** Prefix lengths present, longest first, each with its network -> node address map. */
  private readonly byLength: { mask: number; networks: Map<number, string> }[];
  private readonly nodes: Set<string>;

  private constructor(byLength: RouteTable['byLength'], nodes: Set<string>) {
    this.byLength = byLength;
    this.nodes = nodes;
  }

  static readonly empty = new RouteTable([], new Set());

  /**
   * Parses the routes; a route that is not an IPv4 CIDR and address, or a subnet listed twice,
   * throws KDP_ERR_OVERLAY_ROUTE (the backend filters peers first, so that is a caller's bug).
   */
  static from(routes: readonly EngineRoute[]): RouteTable {
    const lengths = new Map<number, Map<number, string>>();
    const nodes = new Set<string>();
    for (const r of routes) {
      const cidr = cidrToUint32(r.subnet);
      const node = ipv4ToUint32(r.nodeIp);
      if (!cidr || node === undefined) {
        throw new KdpError(
          'KDP_ERR_OVERLAY_ROUTE',
          `udp engine: route ${r.subnet} -> ${r.nodeIp} is not an IPv4 subnet and address`,
        );
      }
      let networks = lengths.get(cidr.prefix);
      if (!networks) lengths.set(cidr.prefix, (networks = new Map()));
      if (networks.has(cidr.network)) {
        throw new KdpError('KDP_ERR_OVERLAY_ROUTE', `udp engine: subnet ${r.subnet} is routed twice`);
      }
      const nodeIp = uint32ToIpv4(node);
      networks.set(cidr.network, nodeIp);
      nodes.add(nodeIp);
    }
    const byLength = [...lengths.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([prefix, networks]) => ({ mask: prefixMask(prefix), networks }));
    return new RouteTable(byLength, nodes);
  }

  /** The node address owning the longest prefix that holds `dst`, or undefined. */
  lookup(dst: number): string | undefined {
    for (const { mask, networks } of this.byLength) {
      const node = networks.get((dst & mask) >>> 0);
      if (node !== undefined) return node;
    }
    return undefined;
  }

  /** Is `ip` (dotted quad, as dgram reports a sender) one of the routes' node addresses? */
  isNode(ip: string): boolean {
    return this.nodes.has(ip);
  }

  get nodeCount(): number {
    return this.nodes.size;
  }
}
