/**
 * The batched engine's offload functions through engineProcess with offload on: TSO super-packets
 * from the TUN (virtio_net_hdr GSO_TCPV4, partial checksum) cut into MTU-sized packets, every
 * segment's checksums recomputed here; partial checksums finished on plain packets; and on the way
 * back, in-order TCP segments coalesced into one super-packet with a GSO vnet header while anything
 * else passes through alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadOverlayAddon,
  type EngineProcessOutput,
} from '../../../dataplane/overlay/backends/udp/native-binding.ts';
import {
  bytes,
  checksum,
  ip,
  ipChecksumOk,
  l4ChecksumOk,
  pseudoSum,
  tcpHeaderAndPayload,
  tcpPacket,
  udpPacket,
  vnetHdr,
  ipv4,
  type TcpFields,
} from './packets.ts';

const addon = loadOverlayAddon();
const routes = [{ subnet: '10.244.2.0/24', nodeIp: '198.18.0.2' }];
const base = { routes, localIp: '198.18.0.1', localSubnet: '10.244.1.0/24', mtu: 1472, offload: true };
const GSO_TCPV4 = 1;
const NEEDS_CSUM = 1;

/** What the kernel hands over with TUN_F_TSO4: the TCP checksum field holds the pseudo-header sum. */
function tsoPacket(f: TcpFields, payload: Buffer, gsoSize: number): Buffer {
  const p = tcpPacket(f, payload);
  const ps = pseudoSum(ip(f.src), ip(f.dst), 6, p.length - 20);
  p.writeUInt16BE(~checksum(Buffer.alloc(0), ps) & 0xffff, 36);
  const hdrLen = 20 + (p[32]! >> 4) * 4;
  return Buffer.concat([
    vnetHdr({ flags: NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen, gsoSize, csumStart: 20, csumOffset: 16 }),
    p,
  ]);
}

function fromTun(...packets: Buffer[]): EngineProcessOutput[] {
  return addon.engineProcess({ ...base, direction: 'tun', packets: packets.map((data) => ({ data })) });
}

function udpData(out: EngineProcessOutput[]): Buffer[] {
  return out.map((o) => {
    assert.equal(o.kind, 'udp');
    return (o as { data: Buffer }).data;
  });
}

const flow: TcpFields = {
  src: '10.244.1.5',
  dst: '10.244.2.7',
  seq: 0xfffff000,
  ack: 77,
  flags: 0x18 | 0x01 | 0x80,
};

test('a TSO super-packet becomes MTU-sized segments with correct headers and checksums', () => {
  const options = Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // NOP NOP timestamp
  const payload = bytes(10_000, 7);
  const mss = 1408;
  const out = udpData(fromTun(tsoPacket({ ...flow, options, id: 0xfffe }, payload, mss)));
  assert.equal(out.length, Math.ceil(payload.length / mss));
  const rebuilt: Buffer[] = [];
  out.forEach((seg, i) => {
    const last = i === out.length - 1;
    assert.equal(seg.readUInt16BE(2), seg.length);
    assert.equal(seg.length, 20 + 32 + (last ? payload.length - i * mss : mss));
    assert.equal(seg.readUInt16BE(4), (0xfffe + i) & 0xffff, 'IP id increments per segment');
    assert.equal(seg[8], 63, 'TTL decremented');
    assert.ok(ipChecksumOk(seg), `IP checksum of segment ${i}`);
    assert.ok(l4ChecksumOk(seg), `TCP checksum of segment ${i}`);
    assert.equal(seg.readUInt32BE(24), (flow.seq + i * mss) >>> 0, 'sequence number (wrapping)');
    assert.equal(seg.readUInt32BE(28), 77);
    const flags = seg[33]!;
    assert.equal(flags & 0x10, 0x10, 'ACK everywhere');
    assert.equal(Boolean(flags & 0x09), last, 'PSH and FIN only on the last');
    assert.equal(Boolean(flags & 0x80), i === 0, 'CWR only on the first');
    assert.deepEqual(seg.subarray(40, 52), options);
    rebuilt.push(seg.subarray(52));
  });
  assert.deepEqual(Buffer.concat(rebuilt), payload);
});

test('a payload of an exact multiple of the segment size gives equal segments', () => {
  const out = udpData(fromTun(tsoPacket({ ...flow, flags: 0x10 }, bytes(4 * 1000), 1000)));
  assert.deepEqual(
    out.map((s) => s.length),
    [1040, 1040, 1040, 1040],
  );
});

test('odd segment sizes keep every checksum right', () => {
  for (const mss of [1001, 999, 537]) {
    const payload = bytes(7777, mss);
    const out = udpData(fromTun(tsoPacket({ ...flow, flags: 0x10 }, payload, mss)));
    assert.equal(out.length, Math.ceil(payload.length / mss));
    for (const seg of out) assert.ok(ipChecksumOk(seg) && l4ChecksumOk(seg), `mss ${mss}`);
    assert.deepEqual(Buffer.concat(out.map((s) => s.subarray(40))), payload);
  }
});

test('a plain packet with NEEDS_CSUM gets its checksum finished; without it passes as is', () => {
  const udp = udpPacket('10.244.1.5', '10.244.2.7', bytes(301));
  const partial = Buffer.from(udp);
  partial.writeUInt16BE(
    ~checksum(Buffer.alloc(0), pseudoSum(ip('10.244.1.5'), ip('10.244.2.7'), 17, 309)) & 0xffff,
    26,
  );
  const [finished] = udpData(
    fromTun(Buffer.concat([vnetHdr({ flags: NEEDS_CSUM, csumStart: 20, csumOffset: 6 }), partial])),
  );
  assert.ok(l4ChecksumOk(finished!));
  const [plain] = udpData(fromTun(Buffer.concat([vnetHdr({}), udp])));
  assert.deepEqual(plain!.subarray(20), udp.subarray(20));
});

test('finished checksums are right for every payload length (word and tail handling)', () => {
  for (let n = 0; n < 150; n++) {
    const udp = udpPacket('10.244.1.5', '10.244.2.7', bytes(n, n + 1));
    const partial = Buffer.from(udp);
    const ps = pseudoSum(ip('10.244.1.5'), ip('10.244.2.7'), 17, 8 + n);
    partial.writeUInt16BE(~checksum(Buffer.alloc(0), ps) & 0xffff, 26);
    const hdr = vnetHdr({ flags: NEEDS_CSUM, csumStart: 20, csumOffset: 6 });
    const [out] = udpData(fromTun(Buffer.concat([hdr, partial])));
    assert.ok(l4ChecksumOk(out!), `payload length ${n}`);
  }
});

test('vnet headers that cannot be honoured are malformed drops', () => {
  const p = tcpPacket(flow, bytes(3000));
  const cases = [
    Buffer.alloc(5), // shorter than a vnet header
    Buffer.concat([vnetHdr({ gsoType: 3, gsoSize: 1000 }), p]), // GSO_UDP: never enabled
    Buffer.concat([vnetHdr({ gsoType: GSO_TCPV4, gsoSize: 0 }), p]),
    Buffer.concat([
      vnetHdr({ gsoType: GSO_TCPV4, gsoSize: 1000 }),
      udpPacket('10.244.1.5', '10.244.2.7', bytes(3000)),
    ]),
    Buffer.concat([vnetHdr({ gsoType: GSO_TCPV4, gsoSize: 1 }), p]), // more segments than allowed
    Buffer.concat([vnetHdr({ flags: NEEDS_CSUM, csumStart: 4000, csumOffset: 16 }), p]),
  ];
  for (const c of cases)
    assert.deepEqual(fromTun(c), [{ kind: 'drop', reason: 'malformed' }], c.subarray(0, 10).toString('hex'));
});

test('ICMP errors written back carry a zero vnet header when offload is on', () => {
  const p = udpPacket('10.244.1.5', '10.250.0.9', bytes(20));
  const out = fromTun(Buffer.concat([vnetHdr({}), p]));
  assert.equal(out[0]?.kind, 'tun');
  const data = (out[0] as { data: Buffer }).data;
  assert.deepEqual(data.subarray(0, 10), Buffer.alloc(10));
  assert.equal(data[10 + 20], 3);
});

// ---- coalescing (UDP -> TUN) ----

const inbound: TcpFields = { src: '10.244.2.7', dst: '10.244.1.5', seq: 5000, ack: 9, flags: 0x10 };

function segments(fields: TcpFields, sizes: number[], seed = 3): Buffer[] {
  let seq = fields.seq;
  return sizes.map((n, i) => {
    const p = tcpPacket({ ...fields, seq, id: 100 + i }, bytes(n, seed + i));
    seq += n;
    return p;
  });
}

function fromUdp(packets: Buffer[], gsoSize?: number): { hdr: Buffer; pkt: Buffer }[] {
  const input = gsoSize
    ? [{ data: Buffer.concat(packets), src: '198.18.0.2', gsoSize }]
    : packets.map((data) => ({ data, src: '198.18.0.2' }));
  return addon.engineProcess({ ...base, direction: 'udp', packets: input }).map((o) => {
    assert.equal(o.kind, 'tun');
    const data = (o as { data: Buffer }).data;
    return { hdr: data.subarray(0, 10), pkt: data.subarray(10) };
  });
}

/** Finishes a NEEDS_CSUM checksum the way the kernel would, then checks the result. */
function coalescedChecksumOk(hdr: Buffer, pkt: Buffer): boolean {
  const start = hdr.readUInt16LE(6);
  const field = start + hdr.readUInt16LE(8);
  const done = Buffer.from(pkt);
  done.writeUInt16BE(checksum(done.subarray(start)), field);
  return l4ChecksumOk(done);
}

test('in-order segments of one flow become one GSO super-packet', () => {
  const segs = segments(inbound, [1400, 1400, 1400, 900]);
  const out = fromUdp(segs);
  assert.equal(out.length, 1);
  const { hdr, pkt } = out[0]!;
  assert.deepEqual(
    [hdr[0], hdr[1], hdr.readUInt16LE(2), hdr.readUInt16LE(4), hdr.readUInt16LE(6), hdr.readUInt16LE(8)],
    [NEEDS_CSUM, GSO_TCPV4, 40, 1400, 20, 16],
  );
  assert.equal(pkt.readUInt16BE(2), pkt.length);
  assert.equal(pkt.length, 40 + 5100);
  assert.ok(ipChecksumOk(pkt));
  assert.ok(coalescedChecksumOk(hdr, pkt));
  assert.equal(pkt.readUInt32BE(24), 5000);
  assert.deepEqual(pkt.subarray(40), Buffer.concat(segs.map((s) => s.subarray(40))));
});

test('a UDP_GRO buffer is split by its gso size before coalescing', () => {
  const segs = segments(inbound, [1000, 1000, 1000]);
  const out = fromUdp(segs, 1040);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.pkt.length, 3040);
});

test('segmenting then coalescing gives back the original stream', () => {
  const payload = bytes(20_000, 11);
  const tso = tsoPacket({ ...flow, src: '10.244.2.7', dst: '10.244.1.5', flags: 0x10 }, payload, 1400);
  const wire = udpData(
    addon.engineProcess({
      ...base,
      routes: [{ subnet: '10.244.1.0/24', nodeIp: '198.18.0.1' }],
      localSubnet: '10.244.2.0/24',
      direction: 'tun',
      packets: [{ data: tso }],
    }),
  );
  const back = fromUdp(wire);
  assert.equal(back.length, 1);
  assert.deepEqual(back[0]!.pkt.subarray(40), payload);
  assert.ok(coalescedChecksumOk(back[0]!.hdr, back[0]!.pkt));
});

test('what cannot join passes through alone with a zero vnet header, order kept within a flow', () => {
  const [a, b, c] = segments(inbound, [1000, 1000, 1000]);
  const gap = fromUdp([a!, c!]); // c does not follow a
  assert.deepEqual(
    gap.map((o) => [o.hdr.equals(Buffer.alloc(10)), o.pkt.readUInt32BE(24)]),
    [
      [true, 5000],
      [true, 7000],
    ],
  );
  const udp = udpPacket('10.244.2.7', '10.244.1.5', bytes(50));
  const mixed = fromUdp([a!, udp, b!]);
  assert.equal(mixed.length, 2, 'the UDP packet does not break the TCP flow apart');
  assert.equal(mixed[0]!.pkt.length, 2040);
  assert.deepEqual(mixed[1], { hdr: Buffer.alloc(10), pkt: udp });
  // A longer segment than the first cannot join; a shorter one joins and closes the packet.
  const [s1, s2, s3] = segments(inbound, [800, 1000, 800]);
  assert.deepEqual(
    fromUdp([s1!, s2!, s3!]).map((o) => o.pkt.length),
    [840, 1840],
  );
  const [t1, t2, t3] = segments(inbound, [1000, 500, 1000]);
  assert.deepEqual(
    fromUdp([t1!, t2!, t3!]).map((o) => o.pkt.length),
    [1540, 1040],
  );
});

test('PSH closes a super-packet and is kept on it; SYN, FIN and bad checksums never join', () => {
  const [a, b, c] = segments(inbound, [1000, 1000, 1000]);
  b![33] = 0x18;
  b!.writeUInt16BE(0, 36);
  b!.writeUInt16BE(
    checksum(b!.subarray(20), pseudoSum(ip(inbound.src), ip(inbound.dst), 6, b!.length - 20)),
    36,
  );
  const out = fromUdp([a!, b!, c!]);
  assert.deepEqual(
    out.map((o) => o.pkt.length),
    [2040, 1040],
  );
  assert.equal(out[0]!.pkt[33]! & 0x08, 0x08);
  const fin = segments({ ...inbound, flags: 0x11 }, [1000, 1000]);
  assert.equal(fromUdp(fin).length, 2);
  const [x, y] = segments(inbound, [1000, 1000]);
  y![45] = y![45]! ^ 0xff; // corrupt payload: checksum no longer matches
  const corrupt = fromUdp([x!, y!]);
  assert.equal(corrupt.length, 2);
  assert.deepEqual(corrupt[1]!.pkt, y);
});

test('interleaved flows coalesce separately; differing options or ACK split a flow', () => {
  const f1 = segments(inbound, [1000, 1000]);
  const f2 = segments({ ...inbound, sport: 40001 }, [1000, 1000]);
  const out = fromUdp([f1[0]!, f2[0]!, f1[1]!, f2[1]!]);
  assert.deepEqual(
    out.map((o) => [o.pkt.readUInt16BE(20), o.pkt.length]),
    [
      [40000, 2040],
      [40001, 2040],
    ],
  );
  const [p] = segments(inbound, [1000]);
  const q = ipv4(
    { src: inbound.src, dst: inbound.dst, proto: 6, id: 101 },
    tcpHeaderAndPayload({ ...inbound, seq: 6000, ack: 10 }, bytes(1000, 4)),
  );
  assert.equal(fromUdp([p!, q]).length, 2);
});
