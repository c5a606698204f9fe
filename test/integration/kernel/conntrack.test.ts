/**
 * The real Conntrack on entries made by real traffic: a client namespace DNATs two "service"
 * addresses to a server namespace over a veth and sends UDP to them and straight to the server;
 * each of kube-proxy's flushes then removes exactly the entries it should, an empty result is
 * success, and FakeConntrack, given the same flows, deletes the same counts. withIsolatedKernel
 * checks the root namespace is unchanged. Run as root:
 *   node --import tsx --test test/integration/kernel/conntrack.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConntrack } from '../../../dataplane/kernel/conntrack/conntrack.ts';
import type { Conntrack } from '../../../dataplane/kernel/conntrack/interface.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import { withIsolatedKernel } from './isolated.ts';

const CLIENT_IP = '10.250.0.1';
const SERVER_IP = '10.250.0.2';

const SEND = `
const dgram = require('dgram');
const targets = JSON.parse(process.argv[1]);
const s = dgram.createSocket('udp4');
s.bind(0, async () => {
  for (const [host, port] of targets) await new Promise((ok, fail) => s.send('x', port, host, (e) => (e ? fail(e) : ok())));
  s.close();
});
`;

/** The client's UDP flows: two service addresses DNATed to the server, one straight to it. */
const FLOWS: [host: string, port: number][] = [
  ['10.96.0.10', 53],
  ['10.96.0.11', 53],
  [SERVER_IP, 7000],
];

/** kube-proxy's flushes in order, with how many entries each must remove. */
const FLUSHES: [string, (ct: Conntrack, ns: string) => Promise<number>, number][] = [
  ['stale endpoint of a service IP', (ct, ns) => ct.deleteByNat(ns, '10.96.0.10', SERVER_IP, 'udp'), 1],
  [
    'the same again: nothing left, still success',
    (ct, ns) => ct.deleteByNat(ns, '10.96.0.10', SERVER_IP, 'udp'),
    0,
  ],
  ['a port on any address', (ct, ns) => ct.deleteByPort(ns, 7000, 'udp'), 1],
  ['NodePort endpoint that never had flows', (ct, ns) => ct.deleteByPortNat(ns, 30053, SERVER_IP, 'udp'), 0],
  ['a service IP', (ct, ns) => ct.deleteByDestination(ns, '10.96.0.11', 'udp'), 1],
];

test('conntrack deletes what kube-proxy flushes, on entries real traffic made; the fake agrees', async (t) => {
  await withIsolatedKernel(t, async (kernel, cluster) => {
    const client = `kdp-${cluster}-client`;
    const server = `kdp-${cluster}-server`;
    await kernel.netns.create(client);
    await kernel.netns.create(server);
    await kernel.links.addVeth({ ns: client, name: 'eth0', peerNs: server, peerName: 'eth0' });
    await kernel.addresses.add(client, 'eth0', `${CLIENT_IP}/24`);
    await kernel.addresses.add(server, 'eth0', `${SERVER_IP}/24`);
    for (const ns of [client, server]) await kernel.links.setUp(ns, 'eth0');
    await kernel.routes.add(client, { dst: 'default', via: SERVER_IP });
    // NAT rules also make conntrack track this namespace's traffic.
    await createIptables({ prefix: kernel.prefix }).restore(
      client,
      '*nat\n' +
        `-A OUTPUT -d 10.96.0.10/32 -p udp --dport 53 -j DNAT --to-destination ${SERVER_IP}:5353\n` +
        `-A OUTPUT -d 10.96.0.11/32 -p udp --dport 53 -j DNAT --to-destination ${SERVER_IP}:5354\n` +
        'COMMIT\n',
    );
    const ct = createConntrack({ prefix: kernel.prefix });
    assert.deepEqual(await ct.list(client, { protocol: 'udp' }), []);
    await kernel.netns.exec(client, [process.execPath, '-e', SEND, JSON.stringify(FLOWS)]);

    const entries = await ct.list(client, { protocol: 'udp' });
    const seen = entries
      .map((e) => `${e.original.dst}:${e.original.dport} -> ${e.reply.src}:${e.reply.sport}`)
      .sort();
    assert.deepEqual(seen, [
      `${SERVER_IP}:7000 -> ${SERVER_IP}:7000`,
      `10.96.0.10:53 -> ${SERVER_IP}:5353`,
      `10.96.0.11:53 -> ${SERVER_IP}:5354`,
    ]);

    const fake = new FakeConntrack({ prefix: kernel.prefix });
    for (const e of entries)
      fake.addFlow(client, {
        protocol: 'udp',
        src: e.original.src,
        sport: e.original.sport!,
        dst: e.original.dst,
        dport: e.original.dport!,
        dnat: `${e.reply.src}:${e.reply.sport}`,
      });
    for (const [name, flush, expected] of FLUSHES) {
      assert.equal(await flush(ct, client), expected, `kernel: ${name}`);
      assert.equal(await flush(fake, client), expected, `fake: ${name}`);
    }
    assert.deepEqual(await ct.list(client, { protocol: 'udp' }), []);
    // A namespace that never saw traffic: every flush succeeds with nothing to do.
    for (const [name, flush] of FLUSHES) assert.equal(await flush(ct, server), 0, `empty table: ${name}`);
  });
});
