/**
 * Typed key/value codecs for BPF maps, described in TypeScript with C's layout rules (each field at
 * the next multiple of its alignment, the struct padded to its largest alignment), so a codec reads
 * as the C struct it mirrors. A map checks its codecs against the object's BTF before use
 * (btf-check.ts): a size or offset that differs is an error naming the field, never a silent
 * misread. u64/i64 are bigints (counters pass 2^53).
 */
import { KdpError } from '../errors.ts';
import { BPF_ERR } from './errors.ts';

/** What btf-check compares with the object's BTF. */
export type CodecShape =
  | { kind: 'int'; size: number; signed: boolean }
  | { kind: 'bytes'; size: number }
  | { kind: 'array'; size: number; count: number; elem: CodecShape }
  | { kind: 'struct'; size: number; fields: { name: string; offset: number; shape: CodecShape }[] };

export interface Codec<T> {
  readonly size: number;
  readonly align: number;
  readonly shape: CodecShape;
  encode(value: T, buf: Buffer, offset: number): void;
  decode(buf: Buffer, offset: number): T;
}

export type ValueOf<C> = C extends Codec<infer T> ? T : never;

function invalid(message: string): KdpError {
  return new KdpError(BPF_ERR.codec, message);
}

function intCodec(size: 1 | 2 | 4, signed: boolean, bigEndian = false): Codec<number> {
  const min = signed ? -(2 ** (size * 8 - 1)) : 0;
  const max = signed ? 2 ** (size * 8 - 1) - 1 : 2 ** (size * 8) - 1;
  const name = `${signed ? 'i' : 'u'}${size * 8}${bigEndian ? ' (big-endian)' : ''}`;
  return {
    size,
    align: size,
    shape: { kind: 'int', size, signed },
    encode(v, buf, off) {
      if (!Number.isInteger(v) || v < min || v > max) throw invalid(`${v} does not fit ${name}`);
      if (size === 1) buf[off] = v & 0xff;
      else if (bigEndian) buf.writeUIntBE(v < 0 ? v + 2 ** (size * 8) : v, off, size);
      else if (signed) buf.writeIntLE(v, off, size);
      else buf.writeUIntLE(v, off, size);
    },
    decode(buf, off) {
      if (bigEndian) return buf.readUIntBE(off, size);
      return signed ? buf.readIntLE(off, size) : buf.readUIntLE(off, size);
    },
  };
}

function int64Codec(signed: boolean): Codec<bigint> {
  const [min, max] = signed ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n];
  return {
    size: 8,
    align: 8,
    shape: { kind: 'int', size: 8, signed },
    encode(v, buf, off) {
      if (typeof v !== 'bigint' || v < min || v > max)
        throw invalid(`${String(v)} does not fit ${signed ? 'i64' : 'u64'} (a bigint)`);
      if (signed) buf.writeBigInt64LE(v, off);
      else buf.writeBigUInt64LE(v, off);
    },
    decode: (buf, off) => (signed ? buf.readBigInt64LE(off) : buf.readBigUInt64LE(off)),
  };
}

export const u8 = intCodec(1, false);
export const u16 = intCodec(2, false);
export const u32 = intCodec(4, false);
export const i8 = intCodec(1, true);
export const i16 = intCodec(2, true);
export const i32 = intCodec(4, true);
export const u64 = int64Codec(false);
export const i64 = int64Codec(true);
/** __be16 / __be32: network byte order (ports, addresses as numbers). */
export const be16 = intCodec(2, false, true);
export const be32 = intCodec(4, false, true);

/** An IPv4 address stored as a __be32 (network order), as "10.244.1.2". */
export const ipv4: Codec<string> = {
  size: 4,
  align: 4,
  shape: { kind: 'int', size: 4, signed: false },
  encode(v, buf, off) {
    const parts = typeof v === 'string' ? v.split('.').map(Number) : [];
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
      throw invalid(`"${String(v)}" is not an IPv4 address`);
    parts.forEach((p, i) => (buf[off + i] = p));
  },
  decode: (buf, off) => `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`,
};

/** `n` opaque bytes (char[n], padding, addresses of other families). */
export function bytes(n: number): Codec<Buffer> {
  return {
    size: n,
    align: 1,
    shape: { kind: 'bytes', size: n },
    encode(v, buf, off) {
      if (!Buffer.isBuffer(v) || v.length !== n) throw invalid(`expected a Buffer of ${n} bytes`);
      v.copy(buf, off);
    },
    decode: (buf, off) => Buffer.from(buf.subarray(off, off + n)),
  };
}

/** A C array `T name[count]`. */
export function array<T>(elem: Codec<T>, count: number): Codec<T[]> {
  return {
    size: elem.size * count,
    align: elem.align,
    shape: { kind: 'array', size: elem.size * count, count, elem: elem.shape },
    encode(v, buf, off) {
      if (!Array.isArray(v) || v.length !== count) throw invalid(`expected an array of ${count} elements`);
      v.forEach((x, i) => elem.encode(x, buf, off + i * elem.size));
    },
    decode: (buf, off) => Array.from({ length: count }, (_, i) => elem.decode(buf, off + i * elem.size)),
  };
}

type StructValue<F extends Record<string, Codec<unknown>>> = { [K in keyof F]: ValueOf<F[K]> };

/** A C struct: fields in declaration order, laid out with C's alignment and tail padding. */
export function struct<F extends Record<string, Codec<unknown>>>(fields: F): Codec<StructValue<F>> {
  let offset = 0;
  let align = 1;
  const layout = Object.entries(fields).map(([name, codec]) => {
    offset = Math.ceil(offset / codec.align) * codec.align;
    align = Math.max(align, codec.align);
    const field = { name, offset, codec };
    offset += codec.size;
    return field;
  });
  const size = Math.ceil(offset / align) * align;
  return {
    size,
    align,
    shape: {
      kind: 'struct',
      size,
      fields: layout.map((f) => ({ name: f.name, offset: f.offset, shape: f.codec.shape })),
    },
    encode(v, buf, off) {
      if (typeof v !== 'object' || v === null) throw invalid('expected an object for a struct');
      buf.fill(0, off, off + size); // padding is zero, so hash keys compare equal
      for (const f of layout) {
        const x = (v as Record<string, unknown>)[f.name];
        if (x === undefined) throw invalid(`field "${f.name}" is missing`);
        f.codec.encode(x, buf, off + f.offset);
      }
    },
    decode(buf, off) {
      const out: Record<string, unknown> = {};
      for (const f of layout) out[f.name] = f.codec.decode(buf, off + f.offset);
      return out as StructValue<F>;
    },
  };
}

/** The value of a per-CPU map: one slot per possible CPU, each rounded up to 8 bytes. */
export function perCpu<T>(elem: Codec<T>, cpus: number): Codec<T[]> {
  const slot = Math.ceil(elem.size / 8) * 8;
  return {
    size: slot * cpus,
    align: 8,
    shape: elem.shape,
    encode(v, buf, off) {
      if (!Array.isArray(v) || v.length !== cpus)
        throw invalid(`a per-CPU value is an array of ${cpus} values, one per possible CPU`);
      buf.fill(0, off, off + slot * cpus);
      v.forEach((x, i) => elem.encode(x, buf, off + i * slot));
    },
    decode: (buf, off) => Array.from({ length: cpus }, (_, i) => elem.decode(buf, off + i * slot)),
  };
}

/** Encodes one value into a fresh Buffer of the codec's size. */
export function encode<T>(codec: Codec<T>, value: T): Buffer {
  const buf = Buffer.alloc(codec.size);
  codec.encode(value, buf, 0);
  return buf;
}
