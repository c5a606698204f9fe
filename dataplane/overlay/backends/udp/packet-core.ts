/**
 * What every udp engine does to one packet, as pure functions: the TypeScript engine runs them
 * directly, and the native engine's packet code (native/, reachable through engineProcess) must
 * produce the same bytes for the same input, which a unit test checks on captured sequences.
 *
 * From the TUN: only IPv4; TTL <= 1 gets an ICMP time exceeded, a destination no node owns an
 * ICMP net unreachable (both written back into the TUN, the node acting as the router it is);
 * otherwise the TTL is decremented (RFC 1624 incremental checksum) and the packet goes to the
 * owning node. From UDP: only from a known node, only IPv4, only for this node's subnet; the inner
 * packet is written to the TUN unchanged. flannel's wire format: the datagram is the bare packet.
 */
import { cidrToUint32, prefixMask } from '../../../kernel/cidr.ts';
import type { RouteTable } from './route-table.ts';
import type { DropReason } from './engine.ts';

export type PacketResult =
  | { kind: 'udp'; dst: string; data: Buffer }
  | { kind: 'tun'; data: Buffer }
  /** `reply`: an ICMP error to write into the TUN (no-route, ttl-expired), unless one must not be sent. */
  | { kind: 'drop'; reason: DropReason; reply?: Buffer };

/** This node as the packet functions need it, parsed once from its pod subnet. */
export interface LocalNode {
  subnetNetwork: number;
  subnetMask: number;
  /** First host of the subnet (cni0's address): the source of the ICMP errors the node sends. */
  gateway: number;
}

export function localNode(localSubnet: string): LocalNode {
  const cidr = cidrToUint32(localSubnet);
  if (!cidr || cidr.prefix > 30) throw new TypeError(`not an IPv4 pod subnet: ${localSubnet}`);
  return { subnetNetwork: cidr.network, subnetMask: prefixMask(cidr.prefix), gateway: cidr.network + 1 };
}

const inLocalSubnet = (addr: number, local: LocalNode) =>
  (addr & local.subnetMask) >>> 0 === local.subnetNetwork;

const IPPROTO_ICMP = 1;
const ICMP_DEST_UNREACH = 3;
const ICMP_TIME_EXCEEDED = 11;
/** ICMP types that are errors themselves: no error is ever sent about one (RFC 1122 3.2.2). */
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);

/** Header length when `packet` is a well-formed IPv4 packet (RFC 791 fields consistent), else 0. */
export function ipv4HeaderLength(packet: Buffer): number {
  if (packet.length < 20 || packet[0]! >> 4 !== 4) return 0;
  const ihl = (packet[0]! & 0x0f) * 4;
  const total = packet.readUInt16BE(2);
  if (ihl < 20 || total < ihl || total > packet.length) return 0;
  return ihl;
}

/** RFC 1071 checksum of `data`: the one's complement of the one's complement sum of its words. */
export function internetChecksum(data: Buffer, start = 0, end = data.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (i < end) sum += data[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * A copy of `packet` with its TTL one lower and the header checksum updated incrementally, RFC
 * 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m the 16-bit word holding TTL and protocol. That equals a
 * full recomputation (both sums are non-zero and congruent mod 0xffff, so they fold alike).
 */
export function decrementTtl(packet: Buffer): Buffer {
  const out = Buffer.from(packet);
  const oldWord = out.readUInt16BE(8);
  out[8] = out[8]! - 1;
  const newWord = out.readUInt16BE(8);
  let sum = (~out.readUInt16BE(10) & 0xffff) + (~oldWord & 0xffff) + newWord;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  out.writeUInt16BE(~sum & 0xffff, 10);
  return out;
}

/**
 * The ICMP error (type, code 0) a router sends about `packet`, from `local.gateway`: IP header
 * with TOS 0xc0 (internetwork control), id 0, DF clear, TTL 64; the ICMP message quotes the
 * offending header and the first 8 bytes of its payload (RFC 792). Undefined when none may be
 * sent: about a fragment other than the first, or about an ICMP error (RFC 1122 3.2.2).
 */
export function icmpError(packet: Buffer, ihl: number, type: number, local: LocalNode): Buffer | undefined {
  if ((packet.readUInt16BE(6) & 0x1fff) !== 0) return undefined;
  const total = packet.readUInt16BE(2);
  if (packet[9] === IPPROTO_ICMP && total > ihl && ICMP_ERROR_TYPES.has(packet[ihl]!)) return undefined;
  const quoted = Math.min(total, ihl + 8);
  const out = Buffer.alloc(20 + 8 + quoted);
  out[0] = 0x45;
  out[1] = 0xc0;
  out.writeUInt16BE(out.length, 2);
  out[8] = 64;
  out[9] = IPPROTO_ICMP;
  out.writeUInt32BE(local.gateway, 12);
  packet.copy(out, 16, 12, 16);
  out.writeUInt16BE(internetChecksum(out, 0, 20), 10);
  out[20] = type;
  packet.copy(out, 28, 0, quoted);
  out.writeUInt16BE(internetChecksum(out, 20), 22);
  return out;
}

function dropWithIcmp(
  reason: 'no-route' | 'ttl-expired',
  packet: Buffer,
  ihl: number,
  local: LocalNode,
): PacketResult {
  const reply = icmpError(packet, ihl, reason === 'no-route' ? ICMP_DEST_UNREACH : ICMP_TIME_EXCEEDED, local);
  return reply ? { kind: 'drop', reason, reply } : { kind: 'drop', reason };
}

/** A packet the kernel routed into the TUN: where it goes, or why not. `packet` is not modified. */
export function processFromTun(packet: Buffer, table: RouteTable, local: LocalNode): PacketResult {
  const ihl = ipv4HeaderLength(packet);
  if (ihl === 0) return { kind: 'drop', reason: 'malformed' };
  if (packet[8]! <= 1) return dropWithIcmp('ttl-expired', packet, ihl, local);
  // This node's own subnet is never sent away, whatever the table says: cni0 owns it.
  const dst = packet.readUInt32BE(16);
  const nodeIp = inLocalSubnet(dst, local) ? undefined : table.lookup(dst);
  if (nodeIp === undefined) return dropWithIcmp('no-route', packet, ihl, local);
  return { kind: 'udp', dst: nodeIp, data: decrementTtl(packet) };
}

/** A datagram from `srcIp` (dotted quad): the inner packet to write into the TUN, or why not. */
export function processFromUdp(
  srcIp: string,
  packet: Buffer,
  table: RouteTable,
  local: LocalNode,
): PacketResult {
  if (!table.isNode(srcIp)) return { kind: 'drop', reason: 'unknown-peer' };
  if (ipv4HeaderLength(packet) === 0) return { kind: 'drop', reason: 'malformed' };
  if (!inLocalSubnet(packet.readUInt32BE(16), local)) {
    return { kind: 'drop', reason: 'not-local' };
  }
  return { kind: 'tun', data: packet };
}
