/**
 * The one IPv4 arithmetic module of kdp (parse a CIDR, containment, overlap, the n-th subnet or
 * address of a range), on top of ip-address for the parsing. Shared by the topology's address
 * plan, the fake kernel (is a gateway on a connected subnet?), the agent's IPAM and the udp
 * overlay engine. Ranges are bigints; the engine's per-packet forms are unsigned 32-bit numbers,
 * as read from a packet header (the `Uint32` functions at the end), parsed once at set-up.
 */
import { Address4 } from 'ip-address';

export interface Ipv4Cidr {
  /** The address as written (may have host bits set: an interface address like 10.0.0.5/24). */
  address: string;
  prefix: number;
  /** First address of the range, as an unsigned 32-bit number. */
  network: bigint;
  /** Number of addresses in the range. */
  size: bigint;
}

/** An IPv4 address or CIDR (no prefix means /32), or undefined if it is not one. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  if (!Address4.isValid(text)) return undefined;
  const a = new Address4(text);
  return {
    address: a.addressMinusSuffix ?? a.correctForm(),
    prefix: a.subnetMask,
    network: a.startAddress().bigInt(),
    size: 1n << BigInt(32 - a.subnetMask),
  };
}

export function isIpv4(text: string): boolean {
  return !text.includes('/') && Address4.isValid(text);
}

/** An IPv4 CIDR whose host bits are zero (10.244.0.0/16, not 10.244.0.1/16). */
export function isNetworkCidr(text: string): boolean {
  const c = parseIpv4Cidr(text);
  return c !== undefined && text.includes('/') && ipv4ToNumber(c.address) === c.network;
}

export function ipv4ToNumber(ip: string): bigint {
  return new Address4(ip).bigInt();
}

export function numberToIpv4(n: bigint): string {
  return Address4.fromBigInt(n).correctForm();
}

/** Is `ip` inside `cidr`? Both must be valid; an invalid one is never contained. */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseIpv4Cidr(cidr);
  if (!c || !isIpv4(ip)) return false;
  const n = ipv4ToNumber(ip);
  return n >= c.network && n < c.network + c.size;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseIpv4Cidr(a);
  const y = parseIpv4Cidr(b);
  if (!x || !y) return false;
  return x.network < y.network + y.size && y.network < x.network + x.size;
}

/** The network form of a CIDR: 10.244.3.7/16 -> 10.244.0.0/16. */
export function networkOf(cidr: string): string {
  const c = parseIpv4Cidr(cidr);
  if (!c) throw new TypeError(`not an IPv4 CIDR: ${cidr}`);
  return `${numberToIpv4(c.network)}/${c.prefix}`;
}

/** The n-th (0-based) subnet of size /newPrefix inside `cidr`. */
export function nthSubnet(cidr: string, newPrefix: number, n: number): string {
  const c = parseIpv4Cidr(cidr);
  if (!c || newPrefix < c.prefix || newPrefix > 32)
    throw new TypeError(`cannot split ${cidr} into /${newPrefix}`);
  const step = 1n << BigInt(32 - newPrefix);
  if (BigInt(n) < 0n || BigInt(n) >= c.size / step)
    throw new RangeError(`${cidr} has no /${newPrefix} number ${n}`);
  return `${numberToIpv4(c.network + step * BigInt(n))}/${newPrefix}`;
}

/** The n-th address of `cidr` counting from its network address (n = 1 is the first host). */
export function nthAddress(cidr: string, n: number): string {
  const c = parseIpv4Cidr(cidr);
  if (!c) throw new TypeError(`not an IPv4 CIDR: ${cidr}`);
  if (BigInt(n) < 0n || BigInt(n) >= c.size) throw new RangeError(`${cidr} has no address number ${n}`);
  return numberToIpv4(c.network + BigInt(n));
}

/** How many subnets of size /newPrefix fit in `cidr` (0 when the prefix is shorter). */
export function subnetCount(cidr: string, newPrefix: number): number {
  const c = parseIpv4Cidr(cidr);
  if (!c || newPrefix < c.prefix || newPrefix > 32) return 0;
  return Number(c.size >> BigInt(32 - newPrefix));
}

/** A dotted-quad IPv4 address as an unsigned 32-bit number; undefined when the text is not one. */
export function ipv4ToUint32(text: string): number | undefined {
  return isIpv4(text) ? Number(ipv4ToNumber(text)) : undefined;
}

export function uint32ToIpv4(n: number): string {
  return numberToIpv4(BigInt(n >>> 0));
}

/** The netmask of a prefix length as an unsigned 32-bit number (/0 -> 0). */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** A CIDR (the prefix is required) as its network address (host bits cleared) and prefix length. */
export function cidrToUint32(text: string): { network: number; prefix: number } | undefined {
  const c = text.includes('/') ? parseIpv4Cidr(text) : undefined;
  return c && { network: Number(c.network), prefix: c.prefix };
}
