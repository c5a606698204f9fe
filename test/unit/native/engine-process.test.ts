/**
 * The native engines' packet functions, through engineProcess (no I/O, no root): routing by
 * longest prefix, TTL decrement with the checksum checked by recomputation, the exact bytes of the
 * ICMP errors, when no ICMP may be sent, and every drop reason. Also the addon's argument checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import {
  loadOverlayAddon,
  loadOverlayAddonAt,
  type EngineProcessInput,
  type EngineProcessOutput,
} from '../../../dataplane/overlay/backends/udp/native-binding.ts';
import { bytes, checksum, ip, ipChecksumOk, ipv4, udpPacket } from './packets.ts';

const addon = loadOverlayAddon();
const routes = [
  { subnet: '10.244.2.0/24', nodeIp: '198.18.0.2' },
  { subnet: '10.244.3.0/24', nodeIp: '198.18.0.3' },
  { subnet: '10.245.0.0/16', nodeIp: '198.18.0.4' },
  { subnet: '10.245.7.0/24', nodeIp: '198.18.0.5' },
];
const base = { routes, localIp: '198.18.0.1', localSubnet: '10.244.1.0/24', mtu: 1472 };

function fromTun(...packets: Buffer[]): EngineProcessOutput[] {
  return addon.engineProcess({ ...base, direction: 'tun', packets: packets.map((data) => ({ data })) });
}

function fromUdp(src: string, ...packets: Buffer[]): EngineProcessOutput[] {
  return addon.engineProcess({ ...base, direction: 'udp', packets: packets.map((data) => ({ data, src })) });
}

test('TUN packets go to the node owning the longest matching prefix', () => {
  const out = fromTun(
    udpPacket('10.244.1.5', '10.244.2.7', bytes(10)),
    udpPacket('10.244.1.5', '10.244.3.200', bytes(10)),
    udpPacket('10.244.1.5', '10.245.9.1', bytes(10)),
    udpPacket('10.244.1.5', '10.245.7.1', bytes(10)),
  );
  assert.deepEqual(
    out.map((o) => (o.kind === 'udp' ? o.dst : o.kind)),
    ['198.18.0.2', '198.18.0.3', '198.18.0.4', '198.18.0.5'],
  );
});

test('forwarding decrements TTL and keeps the header checksum right (recomputed), nothing else changes', () => {
  for (let i = 0; i < 200; i++) {
    // Vary id, TTL and TOS so the checksum walks through many values, including its edges.
    const p = udpPacket('10.244.1.5', '10.244.2.7', bytes(i % 37, i), {
      id: (i * 7919) & 0xffff,
      ttl: 2 + (i % 250),
      tos: i & 0xfc,
    });
    const [o] = fromTun(p);
    assert.equal(o?.kind, 'udp');
    const data = (o as { data: Buffer }).data;
    assert.equal(data[8], p[8]! - 1);
    assert.ok(ipChecksumOk(data), `checksum wrong for packet ${i}`);
    const expected = Buffer.from(p);
    expected[8] = p[8]! - 1;
    expected.writeUInt16BE(data.readUInt16BE(10), 10);
    assert.deepEqual(data, expected);
  }
});

/** The ICMP error a router sends, built independently of the addon. */
function expectedIcmp(orig: Buffer, type: number, gateway: string): Buffer {
  const ihl = (orig[0]! & 0xf) * 4;
  const quoted = orig.subarray(0, Math.min(orig.readUInt16BE(2), ihl + 8));
  const icmp = Buffer.concat([Buffer.from([type, 0, 0, 0, 0, 0, 0, 0]), quoted]);
  icmp.writeUInt16BE(checksum(icmp), 2);
  const hdr = Buffer.alloc(20);
  hdr[0] = 0x45;
  hdr[1] = 0xc0;
  hdr.writeUInt16BE(20 + icmp.length, 2);
  hdr[8] = 64;
  hdr[9] = 1;
  hdr.writeUInt32BE(ip(gateway), 12);
  orig.copy(hdr, 16, 12, 16);
  hdr.writeUInt16BE(checksum(hdr), 10);
  return Buffer.concat([hdr, icmp]);
}

test('no route: an ICMP net unreachable from the cni0 address goes into the TUN, then the drop', () => {
  const p = udpPacket('10.244.1.5', '10.250.0.9', bytes(40));
  const out = fromTun(p);
  assert.deepEqual(out, [
    { kind: 'tun', data: expectedIcmp(p, 3, '10.244.1.1') },
    { kind: 'drop', reason: 'no-route' },
  ]);
  // 20 (IP) + 8 (ICMP) + 20 (quoted header) + 8 (quoted data)
  assert.equal((out[0] as { data: Buffer }).data.length, 56);
});

test('the local subnet is never a route target, even when a route names it', () => {
  const withSelf = [...routes, { subnet: '10.244.1.0/24', nodeIp: '198.18.0.1' }];
  const p = udpPacket('10.244.1.5', '10.244.1.9', bytes(4));
  const out = addon.engineProcess({ ...base, routes: withSelf, direction: 'tun', packets: [{ data: p }] });
  assert.deepEqual(out.at(-1), { kind: 'drop', reason: 'no-route' });
});

test('TTL <= 1 gets time exceeded (checked before routing), quoting the header as received', () => {
  for (const ttl of [0, 1]) {
    const p = udpPacket('10.244.1.5', '10.250.0.9', bytes(3), { ttl });
    assert.deepEqual(fromTun(p), [
      { kind: 'tun', data: expectedIcmp(p, 11, '10.244.1.1') },
      { kind: 'drop', reason: 'ttl-expired' },
    ]);
  }
  // A short packet quotes what there is.
  const short = ipv4({ src: '10.244.1.5', dst: '10.244.2.7', ttl: 1, proto: 17 }, bytes(3));
  assert.equal((fromTun(short)[0] as { data: Buffer }).data.length, 20 + 8 + 23);
});

test('no ICMP error about an ICMP error or a non-first fragment; ICMP echo does get one', () => {
  const icmpError = ipv4(
    { src: '10.244.1.5', dst: '10.250.0.9', proto: 1 },
    Buffer.from([3, 1, 0, 0, 0, 0, 0, 0]),
  );
  assert.deepEqual(fromTun(icmpError), [{ kind: 'drop', reason: 'no-route' }]);
  const timeExceeded = ipv4(
    { src: '10.244.1.5', dst: '10.244.2.9', proto: 1, ttl: 1 },
    Buffer.from([11, 0, 0, 0]),
  );
  assert.deepEqual(fromTun(timeExceeded), [{ kind: 'drop', reason: 'ttl-expired' }]);
  const fragment = udpPacket('10.244.1.5', '10.250.0.9', bytes(8), { frag: 0x2000 | 185 });
  assert.deepEqual(fromTun(fragment), [{ kind: 'drop', reason: 'no-route' }]);
  const echo = ipv4(
    { src: '10.244.1.5', dst: '10.250.0.9', proto: 1 },
    Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]),
  );
  assert.equal(fromTun(echo)[0]?.kind, 'tun');
  // The first fragment (MF set, offset 0) is answered.
  const first = udpPacket('10.244.1.5', '10.250.0.9', bytes(8), { frag: 0x2000 });
  assert.equal(fromTun(first)[0]?.kind, 'tun');
});

test('malformed packets are dropped in both directions', () => {
  const good = udpPacket('10.244.2.7', '10.244.1.5', bytes(20));
  const cases: Buffer[] = [
    Buffer.alloc(0),
    good.subarray(0, 19),
    Buffer.concat([Buffer.from([0x65]), good.subarray(1)]), // version 6
    Buffer.concat([Buffer.from([0x44]), good.subarray(1)]), // IHL 4
    Buffer.concat([Buffer.from([0x4f]), good.subarray(1)]), // IHL 15 > length
    ipv4({ src: '10.244.2.7', dst: '10.244.1.5', totalLength: 19 }, bytes(8)),
    ipv4({ src: '10.244.2.7', dst: '10.244.1.5', totalLength: 60 }, bytes(8)),
  ];
  for (const c of cases) {
    assert.deepEqual(fromTun(c), [{ kind: 'drop', reason: 'malformed' }], `tun: ${c.toString('hex')}`);
    assert.deepEqual(
      fromUdp('198.18.0.2', c),
      [{ kind: 'drop', reason: 'malformed' }],
      `udp: ${c.toString('hex')}`,
    );
  }
});

test('datagrams: known peer and local destination pass unchanged; unknown peer and not-local are dropped', () => {
  const p = udpPacket('10.244.2.7', '10.244.1.5', bytes(100), { ttl: 1 });
  assert.deepEqual(fromUdp('198.18.0.2', p), [{ kind: 'tun', data: p }]);
  // Any node's address is accepted as a source, whichever subnet the inner source is in.
  assert.deepEqual(fromUdp('198.18.0.5', p), [{ kind: 'tun', data: p }]);
  assert.deepEqual(fromUdp('198.18.0.99', p), [{ kind: 'drop', reason: 'unknown-peer' }]);
  // Unknown peer is decided before parsing: garbage from a stranger is 'unknown-peer'.
  assert.deepEqual(fromUdp('203.0.113.1', Buffer.from('junk')), [{ kind: 'drop', reason: 'unknown-peer' }]);
  const elsewhere = udpPacket('10.244.2.7', '10.244.3.5', bytes(10));
  assert.deepEqual(fromUdp('198.18.0.2', elsewhere), [{ kind: 'drop', reason: 'not-local' }]);
});

test('outputs keep the input order across a mixed sequence', () => {
  const seq = [
    udpPacket('10.244.1.5', '10.244.2.7', bytes(5)),
    Buffer.from('xx'),
    udpPacket('10.244.1.5', '10.250.0.1', bytes(5)),
    udpPacket('10.244.1.5', '10.244.3.7', bytes(5)),
  ];
  assert.deepEqual(
    fromTun(...seq).map((o) => o.kind + (o.kind === 'drop' ? `:${o.reason}` : '')),
    ['udp', 'drop:malformed', 'tun', 'drop:no-route', 'udp'],
  );
});

test('bad arguments are TypeErrors that say what is wrong', () => {
  const input = (over: Partial<EngineProcessInput> & Record<string, unknown>) =>
    ({ ...base, direction: 'tun', packets: [], ...over }) as EngineProcessInput;
  assert.throws(() => addon.engineProcess(input({ direction: 'sideways' as 'tun' })), {
    name: 'TypeError',
    message: /direction must be 'tun' or 'udp'/,
  });
  assert.throws(
    () => addon.engineProcess(input({ localSubnet: '10.244.1.0' })),
    /localSubnet '10.244.1.0' is not an IPv4 CIDR/,
  );
  assert.throws(
    () => addon.engineProcess(input({ routes: [{ subnet: '10.1.0.0/33', nodeIp: '1.2.3.4' }] })),
    TypeError,
  );
  assert.throws(
    () => addon.engineProcess(input({ routes: [{ subnet: '10.1.0.0/16', nodeIp: 'x' }] })),
    /nodeIp 'x'/,
  );
  assert.throws(
    () =>
      addon.engineProcess(input({ routes: [routes[0]!, { subnet: '10.244.2.0/24', nodeIp: '198.18.0.9' }] })),
    /routed twice/,
  );
  assert.throws(
    () => addon.engineProcess(input({ packets: [{ data: 'x' as unknown as Buffer }] })),
    /data must be a Buffer/,
  );
  assert.throws(
    () => addon.engineProcess(input({ direction: 'udp', packets: [{ data: Buffer.alloc(20) }] })),
    /src/,
  );
  assert.throws(() => addon.engineProcess(input({ mtu: 10 })), /mtu must be an integer/);
  assert.throws(() => addon.openTun(42 as unknown as string, { vnetHdr: false }), TypeError);
  assert.throws(() => addon.openTun('x'.repeat(16), { vnetHdr: false }), /1-15 characters/);
  assert.throws(() => addon.openTun('kdp0', {} as { vnetHdr: boolean }), /vnetHdr must be a boolean/);
  const engine = {
    tunName: 'kdp0',
    localIp: '198.18.0.1',
    port: 8285,
    mtu: 1472,
    localSubnet: '10.244.1.0/24',
    offload: false,
  };
  assert.throws(
    () => addon.createEngine({ ...engine, mode: 'turbo' as 'batched' }),
    /mode must be 'batched' or 'baseline'/,
  );
  assert.throws(
    () => addon.createEngine({ ...engine, mode: 'baseline', port: 70000 }),
    /port must be an integer/,
  );
});

test('a missing build is KDP_ERR_NATIVE_MISSING pointing at scripts/setup.sh', () => {
  assert.throws(
    () => loadOverlayAddonAt('/nonexistent/kdp_overlay.node'),
    (err: unknown) => isKdpError(err, 'KDP_ERR_NATIVE_MISSING') && /run scripts\/setup.sh/.test(err.message),
  );
});

test('hundreds of nodes: every subnet reaches its own node, mixed prefix lengths resolve longest first', () => {
  const many = Array.from({ length: 600 }, (_, i) => ({
    subnet: `10.${100 + (i >> 8)}.${i & 0xff}.0/24`,
    nodeIp: `198.19.${i >> 8}.${i & 0xff}`,
  }));
  many.push(
    { subnet: '10.102.0.0/16', nodeIp: '198.20.0.1' },
    { subnet: '10.100.7.128/25', nodeIp: '198.20.0.2' },
  );
  const packets = many.map((_, i) => ({
    data: udpPacket('10.244.1.5', `10.${100 + (i >> 8)}.${i & 0xff}.${(i * 37) & 0xff}`, bytes(1)),
  }));
  const out = addon.engineProcess({ ...base, routes: many, direction: 'tun', packets });
  // (Packet 7 goes to 10.100.7.3, below the /25.)
  out
    .slice(0, 600)
    .forEach((o, i) => assert.equal(o.kind === 'udp' && o.dst, many[i]!.nodeIp, `packet ${i}`));
  const probe = (dst: string) =>
    addon.engineProcess({
      ...base,
      routes: many,
      direction: 'tun',
      packets: [{ data: udpPacket('10.244.1.5', dst, bytes(1)) }],
    })[0];
  assert.equal((probe('10.100.7.200') as { dst: string }).dst, '198.20.0.2');
  assert.equal((probe('10.100.7.100') as { dst: string }).dst, '198.19.0.7');
  // 10.102.88.x has no /24 (the 600 end at 10.102.87.0): the /16 holds it; 10.103.x nothing does.
  assert.equal((probe('10.102.88.1') as { dst: string }).dst, '198.20.0.1');
  assert.equal(probe('10.103.0.1')?.kind, 'tun');
});

test('engineBench runs the batch in native code: per round, the counts engineProcess gives', () => {
  const tun: EngineProcessInput = {
    ...base,
    direction: 'tun',
    packets: [
      udpPacket('10.244.1.5', '10.244.2.7', bytes(100)), // forwarded
      // Forwarded with TTL 1: expired in the next round unless each round starts from a fresh copy.
      udpPacket('10.244.1.5', '10.244.2.8', bytes(10), { ttl: 2 }),
      udpPacket('10.244.1.5', '10.250.0.1', bytes(10)), // no route: ICMP back + drop
      udpPacket('10.244.1.5', '10.244.3.9', bytes(10), { ttl: 1 }), // time exceeded + drop
      Buffer.alloc(3), // malformed
    ].map((data) => ({ data })),
  };
  const udp: EngineProcessInput = {
    ...base,
    direction: 'udp',
    packets: [
      { data: udpPacket('10.244.2.7', '10.244.1.5', bytes(50)), src: '198.18.0.2' }, // to the TUN
      { data: udpPacket('10.244.2.7', '10.244.1.5', bytes(50)), src: '198.18.0.99' }, // unknown peer
    ],
  };
  for (const input of [tun, udp]) {
    const once = addon.engineProcess(input);
    const forwarded = once.filter((o) => o.kind !== 'drop').length;
    const dropped = once.length - forwarded;
    assert.ok(forwarded > 0 && dropped > 0, JSON.stringify(once.map((o) => o.kind)));
    const r = addon.engineBench(input, 7);
    assert.deepEqual([r.forwarded, r.dropped], [7 * forwarded, 7 * dropped], input.direction);
    assert.deepEqual(addon.engineProcess(input), once, "the caller's buffers are not modified");
  }
  for (const rounds of [0, -1, 1.5, NaN, '3'])
    assert.throws(() => addon.engineBench(tun, rounds as number), {
      name: 'TypeError',
      message: /engineBench: rounds must be a positive integer/,
    });
});
