// Stale conntrack entries after syncs, through FakeConntrack: deletions issued exactly for removed
// UDP endpoints (ClusterIP, external IP and node port entries DNATed to them), none for TCP, a
// flush of a UDP service's addresses when it gets its first endpoint, and of a removed UDP
// service's ClusterIP; entries of live endpoints stay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ep, R1, R2, slice, svc } from '../../../../dataplane/proxy/compliance/index.ts';
import { cluster, NS } from './helpers.ts';

const DNS_PORT = { name: 'dns', protocol: 'UDP' as const, port: 53, targetPort: 5353, nodePort: 30053 };
const DNS_TARGET = [{ name: 'dns', protocol: 'UDP' as const, port: 5353 }];
const dns = svc('dns', '10.96.0.53', { type: 'NodePort', ports: [DNS_PORT], externalIPs: ['198.18.5.1'] });
const web = svc('web', '10.96.0.10');

test('removing a UDP endpoint deletes exactly the entries DNATed to it', async () => {
  const c = await cluster(
    [dns, web],
    [slice('dns', [ep(R1), ep(R2)], DNS_TARGET), slice('web', [ep(R1), ep(R2)])],
  );
  const flow = (dst: string, dport: number, dnat: string) =>
    c.conntrack.addFlow(NS, { protocol: 'udp', src: '10.244.1.10', sport: 40000, dst, dport, dnat });
  flow('10.96.0.53', 53, `${R1}:5353`);
  flow('10.96.0.53', 53, `${R2}:5353`);
  flow('198.18.5.1', 53, `${R1}:5353`);
  flow('198.18.0.2', 30053, `${R1}:5353`);
  c.conntrack.calls.length = 0;

  await c.set([dns, web], [slice('dns', [ep(R2)], DNS_TARGET), slice('web', [ep(R2)])]);
  const deletes = c.conntrack
    .callsOf('delete')
    .map((d) => d.args.join(' '))
    .sort();
  assert.deepEqual(deletes, [
    `-D --orig-dst 10.96.0.53 -p udp --dst-nat ${R1}`,
    `-D --orig-dst 198.18.5.1 -p udp --dst-nat ${R1}`,
    `-D -p udp --dport 30053 --dst-nat ${R1}`,
  ]);
  const left = c.conntrack.entries(NS);
  assert.equal(left.length, 1, 'the live endpoint keeps its entry');
  assert.equal(left[0].reply.src, R2);
});

test('a UDP service getting its first endpoint flushes its addresses; a removed one its ClusterIP', async () => {
  const c = await cluster([dns], []);
  c.conntrack.addFlow(NS, {
    protocol: 'udp',
    src: '10.244.1.10',
    sport: 40000,
    dst: '10.96.0.53',
    dport: 53,
  });
  c.conntrack.calls.length = 0;
  await c.set([dns], [slice('dns', [ep(R1)], DNS_TARGET)]);
  assert.deepEqual(
    c.conntrack
      .callsOf('delete')
      .map((d) => d.args.join(' '))
      .sort(),
    ['-D --orig-dst 10.96.0.53 -p udp', '-D --orig-dst 198.18.5.1 -p udp', '-D -p udp --dport 30053'],
  );
  assert.equal(c.conntrack.entries(NS).length, 0, 'the entry made while rejecting is gone');

  c.conntrack.calls.length = 0;
  await c.set([], [slice('dns', [ep(R1)], DNS_TARGET)]);
  assert.deepEqual(
    c.conntrack.callsOf('delete').map((d) => d.args.join(' ')),
    ['-D --orig-dst 10.96.0.53 -p udp'],
  );
});

test('TCP changes delete nothing', async () => {
  const c = await cluster([web], [slice('web', [ep(R1), ep(R2)])]);
  c.conntrack.calls.length = 0;
  await c.set([web], [slice('web', [ep(R2)])]);
  await c.set([], []);
  assert.deepEqual(c.conntrack.calls, []);
});

test('a failed conntrack deletion is logged and does not fail the sync', async () => {
  const c = await cluster([dns], [slice('dns', [ep(R1), ep(R2)], DNS_TARGET)]);
  const warnings: unknown[] = [];
  c.conntrack.delete = async () => {
    warnings.push('called');
    throw new Error('conntrack: no such tool');
  };
  await c.set([dns], [slice('dns', [ep(R2)], DNS_TARGET)]);
  assert.ok(warnings.length > 0);
  assert.equal(c.errors.length, 0);
});
