// Hand-built IPv4 packets for the udp engine tests, with checksums computed here independently of
// the code under test (a plain sum over 16-bit words), so a wrong checksum there cannot hide.
export interface PacketSpec {
  src?: string;
  dst: string;
  ttl?: number;
  protocol?: number;
  /** Bytes after the header. */
  payload?: Buffer;
  /** Header options (a multiple of 4 bytes). */
  options?: Buffer;
  tos?: number;
  id?: number;
  /** Flags and fragment offset word (e.g. 0x4000 DF, 0x2000 MF, or an offset in 8-byte units). */
  fragment?: number;
}

export function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** One's complement sum of 16-bit words, folded; a header with a correct checksum sums to 0xffff. */
export function onesSum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) + (i + 1 < data.length ? data[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function buildPacket(spec: PacketSpec): Buffer {
  const options = spec.options ?? Buffer.alloc(0);
  const payload = spec.payload ?? Buffer.from('0123456789abcdef');
  const ihl = 20 + options.length;
  const p = Buffer.alloc(ihl + payload.length);
  p[0] = 0x40 | (ihl / 4);
  p[1] = spec.tos ?? 0;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(spec.id ?? 0x1234, 4);
  p.writeUInt16BE(spec.fragment ?? 0x4000, 6);
  p[8] = spec.ttl ?? 63;
  p[9] = spec.protocol ?? 17;
  Buffer.from(ipBytes(spec.src ?? '10.244.1.5')).copy(p, 12);
  Buffer.from(ipBytes(spec.dst)).copy(p, 16);
  options.copy(p, 20);
  p.writeUInt16BE(~onesSum(p.subarray(0, ihl)) & 0xffff, 10);
  payload.copy(p, ihl);
  return p;
}

/** An ICMP message (type, code, 4 bytes of rest-of-header, data) with its checksum. */
export function icmpPayload(type: number, code: number, data: Buffer = Buffer.from('ping-data')): Buffer {
  const m = Buffer.alloc(8 + data.length);
  m[0] = type;
  m[1] = code;
  m.writeUInt32BE(0x00010002, 4);
  data.copy(m, 8);
  m.writeUInt16BE(~onesSum(m) & 0xffff, 2);
  return m;
}
