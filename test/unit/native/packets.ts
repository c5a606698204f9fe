/**
 * Hand-built IPv4/TCP/UDP/ICMP packets and independent checksum code for the native addon's unit
 * tests. Checksums here are computed from scratch (RFC 1071), never with the addon's helpers, so a
 * test recomputing a checksum the addon produced checks it against a second implementation.
 */

export function ip(text: string): number {
  return text.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** RFC 1071: one's complement of the one's complement sum of 16-bit words (odd tail padded). */
export function checksum(data: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) | (i + 1 < data.length ? data[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function pseudoSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

export interface Ipv4Fields {
  src: string;
  dst: string;
  proto?: number;
  ttl?: number;
  id?: number;
  /** flags + fragment offset word, e.g. 0x4000 for DF. */
  frag?: number;
  tos?: number;
  /** IHL in 32-bit words (options are zero bytes). */
  ihl?: number;
  /** Override the total length field. */
  totalLength?: number;
}

export function ipv4(f: Ipv4Fields, payload: Buffer): Buffer {
  const ihl = (f.ihl ?? 5) * 4;
  const p = Buffer.alloc(ihl + payload.length);
  p[0] = 0x40 | (ihl / 4);
  p[1] = f.tos ?? 0;
  p.writeUInt16BE(f.totalLength ?? p.length, 2);
  p.writeUInt16BE(f.id ?? 0x1234, 4);
  p.writeUInt16BE(f.frag ?? 0x4000, 6);
  p[8] = f.ttl ?? 64;
  p[9] = f.proto ?? 17;
  p.writeUInt32BE(ip(f.src), 12);
  p.writeUInt32BE(ip(f.dst), 16);
  p.writeUInt16BE(checksum(p.subarray(0, ihl)), 10);
  payload.copy(p, ihl);
  return p;
}

export function udpPacket(
  src: string,
  dst: string,
  payload: Buffer,
  extra: Partial<Ipv4Fields> = {},
): Buffer {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(40000, 0);
  u.writeUInt16BE(5201, 2);
  u.writeUInt16BE(u.length, 4);
  payload.copy(u, 8);
  u.writeUInt16BE(checksum(u, pseudoSum(ip(src), ip(dst), 17, u.length)) || 0xffff, 6);
  return ipv4({ src, dst, proto: 17, ...extra }, u);
}

export interface TcpFields {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  /** Default ACK (0x10). */
  flags?: number;
  /** TCP options, a multiple of 4 bytes. */
  options?: Buffer;
  id?: number;
  ttl?: number;
}

export function tcpHeaderAndPayload(f: TcpFields, payload: Buffer): Buffer {
  const opts = f.options ?? Buffer.alloc(0);
  const t = Buffer.alloc(20 + opts.length + payload.length);
  t.writeUInt16BE(f.sport ?? 40000, 0);
  t.writeUInt16BE(f.dport ?? 5201, 2);
  t.writeUInt32BE(f.seq >>> 0, 4);
  t.writeUInt32BE((f.ack ?? 1000) >>> 0, 8);
  t[12] = ((20 + opts.length) / 4) << 4;
  t[13] = f.flags ?? 0x10;
  t.writeUInt16BE(65000, 14);
  opts.copy(t, 20);
  payload.copy(t, 20 + opts.length);
  t.writeUInt16BE(checksum(t, pseudoSum(ip(f.src), ip(f.dst), 6, t.length)), 16);
  return t;
}

export function tcpPacket(f: TcpFields, payload: Buffer): Buffer {
  return ipv4({ src: f.src, dst: f.dst, proto: 6, id: f.id, ttl: f.ttl }, tcpHeaderAndPayload(f, payload));
}

/** Is the IPv4 header checksum of p right? */
export function ipChecksumOk(p: Buffer): boolean {
  return checksum(p.subarray(0, (p[0]! & 0xf) * 4)) === 0;
}

/** Is the TCP (or UDP) checksum of an IPv4 packet right? */
export function l4ChecksumOk(p: Buffer): boolean {
  const ihl = (p[0]! & 0xf) * 4;
  const total = p.readUInt16BE(2);
  const l4 = p.subarray(ihl, total);
  return checksum(l4, pseudoSum(p.readUInt32BE(12), p.readUInt32BE(16), p[9]!, l4.length)) === 0;
}

/** Deterministic payload bytes. */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A struct virtio_net_hdr (little-endian, as the TUN uses on x86). */
export function vnetHdr(f: {
  flags?: number;
  gsoType?: number;
  hdrLen?: number;
  gsoSize?: number;
  csumStart?: number;
  csumOffset?: number;
}): Buffer {
  const h = Buffer.alloc(10);
  h[0] = f.flags ?? 0;
  h[1] = f.gsoType ?? 0;
  h.writeUInt16LE(f.hdrLen ?? 0, 2);
  h.writeUInt16LE(f.gsoSize ?? 0, 4);
  h.writeUInt16LE(f.csumStart ?? 0, 6);
  h.writeUInt16LE(f.csumOffset ?? 0, 8);
  return h;
}
