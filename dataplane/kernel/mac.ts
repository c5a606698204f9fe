/**
 * MAC addresses: what the kernel layer accepts as a link's or a neighbour's address, and the
 * deterministic MAC kdp gives an interface from its IPv4 address. A MAC that follows from the IP
 * lets one plan set an interface's address and, elsewhere, a permanent neighbour entry for it,
 * without reading anything back from the kernel.
 */
import { ipv4ToNumber } from './cidr.ts';

/** Lowercase, colon-separated, unicast (the first octet's lowest bit clear): 0a:58:0a:f4:00:05. */
export function isUnicastMac(text: string): boolean {
  return /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/.test(text);
}

/**
 * 0a:58:<the address's four bytes>, the convention of the CNI bridge plugin: locally administered
 * (0x0a has the LAA bit set), unicast, and unique as long as the addresses are.
 */
export function macFromIpv4(ip: string): string {
  const n = ipv4ToNumber(ip);
  const bytes = [24n, 16n, 8n, 0n].map((shift) => Number((n >> shift) & 0xffn));
  return ['0a', '58', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
