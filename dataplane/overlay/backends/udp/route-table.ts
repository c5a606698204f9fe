/**
 * The udp engine's route table: pod subnet -> owning node's underlay address, looked up for every
 * packet read from the TUN, plus the set of node addresses datagrams are accepted from. Built once
 * per setRoutes from the EngineRoute list (parsing happens there, never per packet); a lookup is
 * one Map probe per distinct prefix length present, so with hundreds of nodes that all hold a /24
 * it is a single probe. Addresses are unsigned 32-bit numbers, as read from a packet header.
 */
import { KdpError } from '../../../errors.ts';
import type { EngineRoute } from './engine.ts';

/** Dotted-quad IPv4 -> unsigned 32-bit number; undefined when the text is not exactly one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const octet = Number(p);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** The netmask of a prefix length as an unsigned 32-bit number (/0 -> 0). */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** A parsed IPv4 CIDR: its network address (host bits cleared) and prefix length. */
export interface ParsedCidr {
  network: number;
  prefix: number;
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || len === undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32)
    return undefined;
  const ip = parseIpv4(addr!);
  if (ip === undefined) return undefined;
  const prefix = Number(len);
  return { network: (ip & prefixMask(prefix)) >>> 0, prefix };
}

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
      const cidr = parseCidr(r.subnet);
      const node = parseIpv4(r.nodeIp);
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
      const nodeIp = formatIpv4(node);
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
