// The udp engine's packet semantics (packet-core.ts) on hand-built packets: forwarding with the TTL
// decremented and the header checksum still right (checked by recomputing it), ICMP errors built
// byte for byte as a router sends them and never about ICMP errors or later fragments, and the
// drops of malformed packets, unknown peers and packets for other nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decrementTtl,
  localNode,
  processFromTun,
  processFromUdp,
} from '../../../../dataplane/overlay/backends/udp/packet-core.ts';
import { RouteTable } from '../../../../dataplane/overlay/backends/udp/route-table.ts';
import { buildPacket, icmpPayload, ipBytes, onesSum } from './packets.ts';

const local = localNode('10.244.1.0/24');
const table = RouteTable.from([
  { subnet: '10.244.2.0/24', nodeIp: '198.18.0.2' },
  { subnet: '10.244.3.0/24', nodeIp: '198.18.0.3' },
  { subnet: '10.244.3.128/25', nodeIp: '198.18.0.33' },
]);

test('a packet for a peer subnet goes to its node with TTL - 1 and a checksum that recomputes', () => {
  const packet = buildPacket({ dst: '10.244.2.7', ttl: 64, payload: Buffer.from('hello world') });
  const copy = Buffer.from(packet);
  const out = processFromTun(packet, table, local);
  assert.equal(out.kind, 'udp');
  assert.ok(out.kind === 'udp');
  assert.equal(out.dst, '198.18.0.2');
  assert.equal(out.data[8], 63);
  assert.equal(onesSum(out.data.subarray(0, 20)), 0xffff, 'header checksum verifies');
  assert.deepEqual(out.data.subarray(0, 8), packet.subarray(0, 8));
  assert.deepEqual(out.data.subarray(12), packet.subarray(12));
  assert.deepEqual(packet, copy, 'the input is not modified');
});

test('the incremental checksum equals a full recomputation for every TTL and many headers', () => {
  for (let ttl = 2; ttl <= 255; ttl++) {
    for (const id of [0, 0x00ff, 0xfeff, 0xffff, ttl * 257]) {
      for (const protocol of [1, 6, 17, 0xff]) {
        const p = buildPacket({ dst: '10.244.2.9', src: `10.244.${ttl}.${id & 0xff}`, ttl, id, protocol });
        const out = decrementTtl(p);
        const recomputed = Buffer.from(out.subarray(0, 20));
        recomputed.writeUInt16BE(0, 10);
        assert.equal(
          out.readUInt16BE(10),
          ~onesSum(recomputed) & 0xffff,
          `ttl ${ttl} id ${id} proto ${protocol}`,
        );
      }
    }
  }
});

test('the longest prefix wins', () => {
  const low = processFromTun(buildPacket({ dst: '10.244.3.1' }), table, local);
  const high = processFromTun(buildPacket({ dst: '10.244.3.200' }), table, local);
  assert.equal(low.kind === 'udp' && low.dst, '198.18.0.3');
  assert.equal(high.kind === 'udp' && high.dst, '198.18.0.33');
});

/** The ICMP error expected for `packet`, written out field by field. */
function expectedIcmp(packet: Buffer, type: number, quoteLength: number): Buffer {
  const header = Buffer.from([
    0x45,
    0xc0,
    0,
    28 + quoteLength,
    0,
    0,
    0,
    0,
    64,
    1,
    0,
    0,
    ...ipBytes('10.244.1.1'),
    ...packet.subarray(12, 16),
  ]);
  header.writeUInt16BE(~onesSum(header) & 0xffff, 10);
  const icmp = Buffer.concat([Buffer.from([type, 0, 0, 0, 0, 0, 0, 0]), packet.subarray(0, quoteLength)]);
  icmp.writeUInt16BE(~onesSum(icmp) & 0xffff, 2);
  return Buffer.concat([header, icmp]);
}

test('no lease for the destination: ICMP net unreachable from the gateway, quoting header + 8 bytes', () => {
  const packet = buildPacket({ dst: '10.244.9.9', src: '10.244.1.5', payload: Buffer.alloc(40, 7) });
  const out = processFromTun(packet, table, local);
  assert.equal(out.kind, 'drop');
  assert.ok(out.kind === 'drop' && out.reply);
  assert.equal(out.reason, 'no-route');
  assert.deepEqual(out.reply, expectedIcmp(packet, 3, 28));
  assert.equal(onesSum(out.reply.subarray(0, 20)), 0xffff);
  assert.equal(onesSum(out.reply.subarray(20)), 0xffff);
  // The local subnet is never sent away, even when a wider route covers it.
  const wide = RouteTable.from([{ subnet: '10.244.0.0/16', nodeIp: '198.18.0.9' }]);
  const mine = processFromTun(buildPacket({ dst: '10.244.1.9' }), wide, local);
  assert.equal(mine.kind === 'drop' && mine.reason, 'no-route');
  assert.equal(processFromTun(buildPacket({ dst: '10.244.2.9' }), wide, local).kind, 'udp');
});

test('TTL 1 or 0: ICMP time exceeded, checked before routing', () => {
  for (const ttl of [0, 1]) {
    const packet = buildPacket({ dst: '10.244.2.7', ttl, protocol: 1, payload: icmpPayload(8, 0) });
    const out = processFromTun(packet, table, local);
    assert.ok(out.kind === 'drop' && out.reply);
    assert.equal(out.reason, 'ttl-expired');
    assert.deepEqual(out.reply, expectedIcmp(packet, 11, 28));
  }
  const unroutable = processFromTun(buildPacket({ dst: '10.244.9.9', ttl: 1 }), table, local);
  assert.equal(unroutable.kind === 'drop' && unroutable.reason, 'ttl-expired');
});

test('the quote is the whole packet when it is shorter, and covers header options', () => {
  const short = buildPacket({ dst: '10.244.9.9', payload: Buffer.from([1, 2, 3]) });
  const a = processFromTun(short, table, local);
  assert.deepEqual(a.kind === 'drop' && a.reply, expectedIcmp(short, 3, 23));
  const withOptions = buildPacket({
    dst: '10.244.9.9',
    options: Buffer.from([1, 1, 1, 0]),
    payload: Buffer.alloc(20),
  });
  const b = processFromTun(withOptions, table, local);
  assert.deepEqual(b.kind === 'drop' && b.reply, expectedIcmp(withOptions, 3, 32));
});

test('no ICMP error about an ICMP error or a non-first fragment; a first fragment or an echo gets one', () => {
  const noReply = [
    buildPacket({ dst: '10.244.9.9', protocol: 1, payload: icmpPayload(3, 1) }),
    buildPacket({ dst: '10.244.9.9', protocol: 1, payload: icmpPayload(11, 0) }),
    buildPacket({ dst: '10.244.9.9', ttl: 1, protocol: 1, payload: icmpPayload(12, 0) }),
    buildPacket({ dst: '10.244.9.9', fragment: 0x0010 }),
    buildPacket({ dst: '10.244.9.9', ttl: 1, fragment: 0x2000 | 0x00b9 }),
  ];
  for (const p of noReply) {
    const out = processFromTun(p, table, local);
    assert.equal(out.kind, 'drop');
    assert.equal(out.kind === 'drop' && out.reply, undefined);
  }
  const reply = [
    buildPacket({ dst: '10.244.9.9', protocol: 1, payload: icmpPayload(8, 0) }),
    buildPacket({ dst: '10.244.9.9', protocol: 1, payload: icmpPayload(0, 0) }),
    buildPacket({ dst: '10.244.9.9', fragment: 0x2000 }),
  ];
  for (const p of reply) {
    const out = processFromTun(p, table, local);
    assert.ok(out.kind === 'drop' && out.reply);
  }
});

test('malformed packets are dropped without an answer', () => {
  const good = buildPacket({ dst: '10.244.2.7' });
  const cases: Buffer[] = [
    Buffer.alloc(0),
    good.subarray(0, 19),
    Buffer.from([0x60, ...good.subarray(1)]), // IPv6 version nibble
    Buffer.from([0x44, ...good.subarray(1)]), // IHL 4
    Buffer.from([0x4f, ...good.subarray(1)]), // IHL 15 > length
  ];
  const tooLong = Buffer.from(good);
  tooLong.writeUInt16BE(good.length + 1, 2);
  const tooShort = Buffer.from(good);
  tooShort.writeUInt16BE(19, 2);
  cases.push(tooLong, tooShort);
  for (const p of cases) {
    assert.deepEqual(processFromTun(p, table, local), { kind: 'drop', reason: 'malformed' });
    assert.deepEqual(processFromUdp('198.18.0.2', p, table, local), { kind: 'drop', reason: 'malformed' });
  }
});

test('from UDP: only known nodes, only packets for this subnet, written unchanged', () => {
  const packet = buildPacket({ src: '10.244.2.7', dst: '10.244.1.5', ttl: 62 });
  const out = processFromUdp('198.18.0.33', packet, table, local);
  assert.equal(out.kind, 'tun');
  assert.ok(out.kind === 'tun');
  assert.equal(out.data, packet);
  assert.deepEqual(processFromUdp('198.18.0.9', packet, table, local), {
    kind: 'drop',
    reason: 'unknown-peer',
  });
  assert.deepEqual(processFromUdp('198.18.0.9', Buffer.alloc(3), table, local), {
    kind: 'drop',
    reason: 'unknown-peer',
  });
  const elsewhere = buildPacket({ src: '10.244.2.7', dst: '10.244.3.5' });
  assert.deepEqual(processFromUdp('198.18.0.2', elsewhere, table, local), {
    kind: 'drop',
    reason: 'not-local',
  });
  // TTL 1 from a peer is still delivered: the sending node decremented it already.
  const last = buildPacket({ src: '10.244.2.7', dst: '10.244.1.5', ttl: 1 });
  assert.equal(processFromUdp('198.18.0.2', last, table, local).kind, 'tun');
});
