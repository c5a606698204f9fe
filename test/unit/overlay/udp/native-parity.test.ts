// The TypeScript engine's packet functions (packet-core.ts) and the native engine's (the addon's
// engineProcess) must turn the same bytes into the same bytes: the same packet sequences (traffic
// shapes a node sees: a TCP connection, pings, DNS, fragments, traceroute, ICMP errors in transit,
// IP options, malformed input) plus seeded random mutations of them go through both, and every
// output - datagram destination and bytes, TUN writes (ICMP errors), drop reasons - is compared.
// Skipped, saying so, only when the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadOverlayAddon,
  type EngineProcessOutput,
} from '../../../../dataplane/overlay/backends/udp/native-binding.ts';
import {
  localNode,
  processFromTun,
  processFromUdp,
  type PacketResult,
} from '../../../../dataplane/overlay/backends/udp/packet-core.ts';
import { RouteTable } from '../../../../dataplane/overlay/backends/udp/route-table.ts';
import { buildPacket, icmpPayload, type PacketSpec } from './packets.ts';

function addonMissing(): string | false {
  try {
    return typeof loadOverlayAddon().engineProcess === 'function' ? false : 'the addon has no engineProcess';
  } catch (e) {
    return `native addon not built (${(e as Error).message}); build it with scripts/setup.sh`;
  }
}

const routes = [
  { subnet: '10.244.2.0/24', nodeIp: '198.18.0.2' },
  { subnet: '10.244.3.0/24', nodeIp: '198.18.0.3' },
  { subnet: '10.244.3.128/25', nodeIp: '198.18.0.33' },
  { subnet: '10.245.0.0/16', nodeIp: '198.18.0.4' },
];
const base = { routes, localIp: '198.18.0.1', localSubnet: '10.244.1.0/24', mtu: 1472 };
const table = RouteTable.from(routes);
const local = localNode(base.localSubnet);

/** packet-core's result in engineProcess's shape: an ICMP error is a TUN write before the drop. */
function flatten(r: PacketResult): EngineProcessOutput[] {
  if (r.kind !== 'drop') return [r];
  return r.reply
    ? [
        { kind: 'tun', data: r.reply },
        { kind: 'drop', reason: r.reason },
      ]
    : [r];
}

function tcp(flags: number, seq: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20 + data.length);
  h.writeUInt16BE(43512, 0);
  h.writeUInt16BE(8080, 2);
  h.writeUInt32BE(seq, 4);
  h[12] = 0x50;
  h[13] = flags;
  h.writeUInt16BE(64240, 14);
  data.copy(h, 20);
  return h;
}

/** Traffic from pod 10.244.1.5 as the TUN hands it over. */
function outgoing(): Buffer[] {
  const to = (dst: string, spec: Partial<PacketSpec> = {}) =>
    buildPacket({ src: '10.244.1.5', dst, ...spec });
  const t = (flags: number, seq: number, data?: Buffer) =>
    to('10.244.2.7', { protocol: 6, payload: tcp(flags, seq, data) });
  return [
    t(0x02, 1000),
    t(0x10, 1001),
    t(0x18, 1001, Buffer.alloc(1400, 0x61)),
    t(0x11, 2401),
    to('10.244.3.9', { protocol: 1, payload: icmpPayload(8, 0) }),
    to('10.244.3.200', { protocol: 1, payload: icmpPayload(8, 0), ttl: 255 }),
    to('10.245.9.1', { payload: Buffer.from('dns query') }),
    to('10.244.2.7', { fragment: 0x2000, payload: Buffer.alloc(1000, 1) }),
    to('10.244.2.7', { fragment: 0x007d, payload: Buffer.alloc(200, 2) }),
    to('10.244.9.9', { fragment: 0x007d, payload: Buffer.alloc(16, 3) }),
    to('10.244.9.9', { protocol: 1, payload: icmpPayload(8, 0) }),
    ...[1, 2, 3].map((ttl) => to('10.244.3.9', { ttl, payload: Buffer.alloc(32) })),
    to('10.244.2.7', { protocol: 1, payload: icmpPayload(3, 3, Buffer.alloc(28, 9)) }),
    to('10.244.9.9', { protocol: 1, payload: icmpPayload(3, 3, Buffer.alloc(28, 9)) }),
    to('10.244.9.9', { ttl: 1, protocol: 1, payload: icmpPayload(11, 0, Buffer.alloc(28, 9)) }),
    to('10.244.9.9', { options: Buffer.from([0x94, 0x04, 0, 0]), payload: Buffer.alloc(3) }),
    to('10.244.1.9'),
    to('10.244.9.9', { payload: Buffer.alloc(0), tos: 0xb8, id: 0xffff }),
  ];
}

/** Datagrams as they arrive on port 8285, from their senders. */
function incoming(): { src: string; data: Buffer }[] {
  const p = (src: string, dst: string, spec: Partial<PacketSpec> = {}) => buildPacket({ src, dst, ...spec });
  return [
    { src: '198.18.0.2', data: p('10.244.2.7', '10.244.1.5', { protocol: 6, payload: tcp(0x12, 5000) }) },
    {
      src: '198.18.0.33',
      data: p('10.244.3.200', '10.244.1.5', { protocol: 1, payload: icmpPayload(0, 0) }),
    },
    { src: '198.18.0.4', data: p('10.245.9.1', '10.244.1.77', { ttl: 1 }) },
    { src: '198.18.0.2', data: p('10.244.2.7', '10.244.3.5') },
    { src: '198.18.0.9', data: p('10.244.2.7', '10.244.1.5') },
    { src: '203.0.113.1', data: Buffer.from('not a packet at all') },
    { src: '198.18.0.2', data: Buffer.from('not a packet at all') },
    { src: '198.18.0.2', data: Buffer.alloc(0) },
  ];
}

/** Seeded xorshift, so a failure names a case that can be run again. */
function random(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** `packet` with a few header bytes changed, or cut short: what a broken sender or a bit flip makes. */
function mutate(packet: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(packet);
  const edits = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < edits; i++) out[Math.floor(rnd() * Math.min(out.length, 28))] = Math.floor(rnd() * 256);
  return rnd() < 0.2 ? out.subarray(0, Math.floor(rnd() * out.length)) : out;
}

test('from the TUN: the same outputs, byte for byte', { skip: addonMissing() }, () => {
  const rnd = random(6);
  const packets = outgoing();
  for (let i = 0; i < 2000; i++) packets.push(mutate(packets[i % 22]!, rnd));
  const native = loadOverlayAddon().engineProcess({
    ...base,
    direction: 'tun',
    packets: packets.map((data) => ({ data })),
  });
  const mine = packets.flatMap((p) => flatten(processFromTun(p, table, local)));
  assert.equal(native.length, mine.length, 'as many outputs');
  for (let i = 0; i < mine.length; i++) assert.deepEqual(native[i], mine[i], `output ${i}`);
  const kinds = new Set(mine.map((o) => (o.kind === 'drop' ? o.reason : o.kind)));
  assert.deepEqual(
    [...kinds].sort(),
    ['malformed', 'no-route', 'ttl-expired', 'tun', 'udp'],
    'every path taken',
  );
});

test('from UDP: the same outputs, byte for byte', { skip: addonMissing() }, () => {
  const rnd = random(8285);
  const datagrams = incoming();
  for (let i = 0; i < 2000; i++) {
    const d = datagrams[i % 8]!;
    datagrams.push({ src: d.src, data: mutate(d.data, rnd) });
  }
  // Empty datagrams included: both sides check the sender before the length.
  const compared = datagrams;
  assert.ok(
    compared.some((d) => d.data.length === 0 && !table.isNode(d.src)),
    'an empty datagram from a stranger is among them',
  );
  const native = loadOverlayAddon().engineProcess({ ...base, direction: 'udp', packets: compared });
  const mine = compared.flatMap((d) => flatten(processFromUdp(d.src, d.data, table, local)));
  assert.equal(native.length, mine.length, 'as many outputs');
  for (let i = 0; i < mine.length; i++) assert.deepEqual(native[i], mine[i], `output ${i}`);
  const kinds = new Set(mine.map((o) => (o.kind === 'drop' ? o.reason : o.kind)));
  assert.deepEqual([...kinds].sort(), ['malformed', 'not-local', 'tun', 'unknown-peer'], 'every path taken');
});
