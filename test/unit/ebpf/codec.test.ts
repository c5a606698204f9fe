/**
 * ebpf-ts codecs (no root, no kernel): C layout of structs (alignment, padding, tail padding),
 * byte order of each scalar, range checks with clear errors, per-CPU slots rounded to 8 bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import {
  array,
  be16,
  bytes,
  encode,
  i32,
  ipv4,
  perCpu,
  struct,
  u16,
  u32,
  u64,
  u8,
} from '../../../dataplane/ebpf/codec.ts';

test('struct layout follows C: each field aligned, the whole padded to its widest member', () => {
  const s = struct({ a: u8, b: u32, c: u16, d: u64, e: u8 });
  assert.deepEqual(s.shape.kind === 'struct' && s.shape.fields.map((f) => [f.name, f.offset]), [
    ['a', 0],
    ['b', 4],
    ['c', 8],
    ['d', 16],
    ['e', 24],
  ]);
  assert.equal(s.size, 32);
  assert.equal(s.align, 8);
  const flowKey = struct({ addr: ipv4, port: be16, proto: u8, pad: u8 });
  assert.equal(flowKey.size, 8);
});

test('encode and decode round-trip with the bytes C would hold', () => {
  const s = struct({ addr: ipv4, port: be16, proto: u8, count: u64 });
  const v = { addr: '10.244.1.2', port: 8080, proto: 6, count: (1n << 60n) + 3n };
  const buf = encode(s, v);
  assert.equal(buf.toString('hex', 0, 7), '0af401021f9006', 'address and port in network order');
  assert.equal(buf[7], 0, 'padding is zero');
  assert.equal(buf.readBigUInt64LE(8), v.count, 'u64 little-endian at offset 8');
  assert.deepEqual(s.decode(buf, 0), v);
  assert.equal(i32.decode(encode(i32, -2), 0), -2);
  assert.deepEqual(array(u16, 3).decode(encode(array(u16, 3), [1, 2, 65535]), 0), [1, 2, 65535]);
});

test('values that do not fit are KDP_ERR_BPF_CODEC naming the type', () => {
  assert.throws(
    () => encode(u8, 256),
    (e) => isKdpError(e, 'KDP_ERR_BPF_CODEC') && /256 does not fit u8/.test(e.message),
  );
  assert.throws(() => encode(u32, -1), /does not fit u32/);
  assert.throws(() => encode(u64, 5 as unknown as bigint), /u64 \(a bigint\)/);
  assert.throws(() => encode(ipv4, '10.0.0.256'), /not an IPv4 address/);
  assert.throws(() => encode(bytes(4), Buffer.alloc(3)), /4 bytes/);
  assert.throws(() => encode(struct({ a: u8, b: u8 }), { a: 1 } as never), /field "b" is missing/);
  assert.throws(() => encode(array(u8, 2), [1]), /array of 2/);
});

test('per-CPU values: one slot per CPU, each rounded up to 8 bytes', () => {
  const c = perCpu(u32, 3);
  assert.equal(c.size, 24);
  const buf = encode(c, [1, 2, 3]);
  assert.deepEqual([buf.readUInt32LE(0), buf.readUInt32LE(8), buf.readUInt32LE(16)], [1, 2, 3]);
  assert.deepEqual(c.decode(buf, 0), [1, 2, 3]);
  assert.throws(() => encode(c, [1, 2]), /array of 3 values, one per possible CPU/);
});
