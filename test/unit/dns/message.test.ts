// The wire: every query is hostile input. Malformed, truncated, random and oversized messages get
// FORMERR or nothing, never an exception; names outside the cluster are REFUSED at once; big
// answers are truncated for UDP. Then the real sockets on loopback (UDP and TCP framing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { ClusterIndex } from '../../../dataplane/dns/cluster-index.ts';
import { answerQuery, RCODE } from '../../../dataplane/dns/message.ts';
import { DnsServer } from '../../../dataplane/dns/server.ts';
import { sampleCluster, service, slice } from './fixture.ts';

const { services, slices } = sampleCluster();
const index = new ClusterIndex(services, slices);
const current = () => index;

function query(name: string, type = 'A', extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as 'A', name }],
    ...extra,
  });
}
const rcodeOf = (b: Buffer) => b.readUInt16BE(2) & 0xf;
/** dns-packet decodes more than its types say: the rcode's name and each record's data. */
type Decoded = dnsPacket.DecodedPacket & { rcode: string };
const decode = (b: Buffer) => dnsPacket.decode(b) as Decoded;
const datas = (p: dnsPacket.Packet) => (p.answers ?? []).map((a) => (a as { data?: unknown }).data);

test('an answer echoes the id and question, is authoritative, keeps RD', () => {
  const r = answerQuery(query('backend-service.default.svc.cluster.local'), current, 'udp');
  const p = decode(r.response!);
  assert.equal(p.id, 4242);
  assert.equal(p.rcode, 'NOERROR');
  assert.equal(p.flag_aa, true);
  assert.equal(p.flag_rd, true);
  assert.deepEqual(p.questions, [
    { name: 'backend-service.default.svc.cluster.local', type: 'A', class: 'IN' },
  ]);
  assert.deepEqual(datas(p), ['10.96.0.20']);
});

test('NXDOMAIN and NODATA carry the SOA in the authority section', () => {
  const nx = decode(answerQuery(query('nope.default.svc.cluster.local'), current, 'udp').response!);
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities?.[0].type, 'SOA');
  const nodata = decode(
    answerQuery(query('backend-service.default.svc.cluster.local', 'AAAA'), current, 'udp').response!,
  );
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.answers?.length, 0);
  assert.equal(nodata.authorities?.[0].type, 'SOA');
});

test('a name outside the cluster is REFUSED, not authoritative, without waiting on anything', () => {
  const r = answerQuery(query('example.com'), current, 'udp');
  assert.equal(r.rcode, RCODE.REFUSED);
  assert.equal(decode(r.response!).flag_aa, false);
});

test('malformed messages: FORMERR with the id when a header exists, nothing otherwise', () => {
  assert.equal(answerQuery(Buffer.alloc(0), current, 'udp').response, undefined);
  assert.equal(answerQuery(Buffer.from([1, 2, 3]), current, 'udp').response, undefined);
  const good = query('backend-service.default.svc.cluster.local');
  const cut = good.subarray(0, good.length - 3);
  const r = answerQuery(cut, current, 'udp');
  assert.equal(rcodeOf(r.response!), RCODE.FORMERR);
  assert.equal(r.response!.readUInt16BE(0), 4242);
  // A label pointer that loops back on itself.
  const loop = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.equal(rcodeOf(answerQuery(loop, current, 'udp').response!), RCODE.FORMERR);
});

test('no question or several questions is FORMERR; another opcode NOTIMP; a response is ignored', () => {
  const none = dnsPacket.encode({ type: 'query', id: 1, questions: [] });
  assert.equal(answerQuery(none, current, 'udp').rcode, RCODE.FORMERR);
  const two = dnsPacket.encode({
    type: 'query',
    id: 1,
    questions: [
      { type: 'A', name: 'a.cluster.local' },
      { type: 'A', name: 'b.cluster.local' },
    ],
  });
  assert.equal(answerQuery(two, current, 'udp').rcode, RCODE.FORMERR);
  const update = Buffer.from(query('x.cluster.local'));
  update.writeUInt16BE(update.readUInt16BE(2) | (5 << 11), 2);
  assert.equal(answerQuery(update, current, 'udp').rcode, RCODE.NOTIMP);
  const response = dnsPacket.encode({
    type: 'response',
    id: 1,
    questions: [{ type: 'A', name: 'x.cluster.local' }],
  });
  assert.equal(answerQuery(response, current, 'udp').response, undefined);
});

test('random and mutated bytes never throw, and every answer parses', () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const base = query('_pg._tcp.db.other.svc.cluster.local', 'SRV');
  let answered = 0;
  for (let i = 0; i < 3000; i++) {
    const msg = i % 2 ? Buffer.from(base) : Buffer.alloc(Math.floor(rand() * 300));
    for (let j = 0; j < msg.length; j++) if (i % 2 === 0 || rand() < 0.05) msg[j] = Math.floor(rand() * 256);
    const r = answerQuery(msg, current, i % 3 ? 'udp' : 'tcp');
    if (r.response) {
      answered++;
      assert.ok(r.response.length >= 12);
    }
  }
  assert.ok(answered > 0);
});

test('an index that throws gives SERVFAIL, not a crash', () => {
  const r = answerQuery(
    query('x.default.svc.cluster.local'),
    () => {
      throw new Error('boom');
    },
    'udp',
  );
  assert.equal(r.rcode, RCODE.SERVFAIL);
});

test('an answer too big for UDP is truncated (TC) and complete over TCP', () => {
  const eps = Array.from({ length: 20 }, (_, i) => ({
    ip: `10.244.${Math.floor(i / 200)}.${(i % 200) + 1}`,
  }));
  const big = new ClusterIndex([service('big', 'ns', { clusterIP: 'None' })], [slice('big', 'ns', eps)]);
  const udp = decode(answerQuery(query('big.ns.svc.cluster.local'), () => big, 'udp').response!);
  assert.equal(udp.flag_tc, true);
  assert.equal(udp.answers?.length, 0);
  const tcp = decode(answerQuery(query('big.ns.svc.cluster.local'), () => big, 'tcp').response!);
  assert.equal(tcp.flag_tc, false);
  assert.equal(tcp.answers?.length, 20);
  // EDNS raises the UDP limit (to 1232 at most) and is answered with an OPT record.
  const edns = query('big.ns.svc.cluster.local', 'A', {
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer],
  });
  const e = decode(answerQuery(edns, () => big, 'udp').response!);
  assert.equal(e.flag_tc, false);
  assert.equal(e.additionals?.[0].type, 'OPT');
  assert.ok(answerQuery(edns, () => big, 'udp').response!.length <= 1232);
});

test('the server answers over UDP and TCP (framed, several per connection) and survives garbage', async () => {
  const server = await DnsServer.start({ bind: '127.0.0.1', port: 0, index: current });
  try {
    const sock = createSocket('udp4');
    const udpAnswer = (msg: Buffer) =>
      new Promise<Buffer>((resolve) => {
        sock.once('message', resolve);
        sock.send(msg, server.port, '127.0.0.1');
      });
    sock.send(Buffer.from([0xff]), server.port, '127.0.0.1'); // ignored
    const a = decode(await udpAnswer(query('kubernetes.default.svc.cluster.local')));
    assert.deepEqual(datas(a), ['10.96.0.1']);
    sock.close();

    const s = connect(server.port, '127.0.0.1');
    const frames: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const two = new Promise<void>((resolve) =>
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          frames.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (frames.length === 2) resolve();
        }
      }),
    );
    const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
    const both = Buffer.concat([frame(query('db.other.svc.cluster.local')), frame(query('example.com'))]);
    s.write(both.subarray(0, 5)); // split across writes
    s.write(both.subarray(5));
    await two;
    assert.equal(decode(frames[0]).answers?.length, 2);
    assert.equal(decode(frames[1]).rcode, 'REFUSED');
    // Garbage that is not even a header ends the connection; the server goes on.
    const closed = new Promise((r) => s.once('close', r));
    s.write(Buffer.from([0, 1, 7]));
    await closed;
    assert.ok(server.stats.queries >= 4);
  } finally {
    await server.close();
    await server.close();
  }
});
