import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { RecordingProxier } from '../../../dataplane/proxy/testing/recording-proxier.ts';
import { endpoint, keysOf, node, service, slice } from './fixtures.ts';

const HTTP = 'default/web:http/TCP';
const DNS = 'default/dns:dns/UDP';
const UDP_PORT = { name: 'dns', protocol: 'UDP' as const, port: 5353 };

function setup(opts: { mode?: string; fullSyncPeriodMs?: number } = {}) {
  const clock = new FakeClock();
  const p = new RecordingProxier({
    nodeName: 'node-a',
    clock,
    minSyncPeriodMs: 1000,
    syncPeriodMs: 30_000,
    retryPeriodMs: 5000,
    ...opts,
  });
  return { clock, p };
}

/** Both initial lists delivered, the loop started and the first sync done. */
async function initialized(opts: Parameters<typeof setup>[0] = {}) {
  const s = setup(opts);
  s.p.start();
  s.p.onServicesSynced();
  s.p.onEndpointSlicesSynced();
  await s.clock.advance(0);
  assert.equal(s.p.syncs.length, 1);
  return s;
}

test('no sync before both initial lists have arrived, even when the periodic timer fires', async () => {
  const { clock, p } = setup();
  p.start();
  p.onServiceAdd(service('web'));
  p.onEndpointSliceAdd(slice('web', 'web-1', [endpoint('10.244.0.5')]));
  await clock.advance(31_000);
  assert.equal(p.syncs.length, 0);
  p.onServicesSynced();
  await clock.advance(31_000);
  assert.equal(p.syncs.length, 0, 'services alone are not enough');
  p.onEndpointSlicesSynced();
  await clock.advance(0);
  assert.equal(p.syncs.length, 1);
  const first = p.last!;
  assert.equal(first.full, true);
  assert.deepEqual([...first.services.keys()], [HTTP]);
  assert.deepEqual(keysOf(first.endpoints, HTTP), ['10.244.0.5:8080']);
  assert.deepEqual([...first.updatedServices], ['default/web']);
  await p.stop();
});

test('lists that arrive before start sync once the loop starts', async () => {
  const { clock, p } = setup();
  p.onEndpointSlicesSynced();
  p.onServicesSynced();
  await clock.advance(10_000);
  assert.equal(p.syncs.length, 0);
  p.start();
  await clock.advance(0);
  assert.equal(p.syncs.length, 1);
  await p.stop();
});

test('after the first sync, a change is a partial sync naming only its service', async () => {
  const { clock, p } = await initialized();
  p.onServiceAdd(service('a'));
  p.onServiceAdd(service('b'));
  await clock.advance(1000);
  assert.equal(p.syncs.length, 2);
  const s = p.last!;
  assert.equal(s.full, false);
  assert.deepEqual([...s.updatedServices].sort(), ['default/a', 'default/b']);
  p.onEndpointSliceAdd(slice('b', 'b-1', [endpoint('10.244.0.9')]));
  await clock.advance(1000);
  assert.deepEqual([...p.last!.updatedServices], ['default/b']);
  assert.equal(p.last!.services.size, 2);
  // A change that cancels out requests nothing.
  const svc = service('c');
  p.onServiceAdd(svc);
  p.onServiceDelete(svc);
  await clock.advance(1000);
  assert.equal(p.syncs.length, 3);
  // An explicit sync() runs even with nothing pending.
  p.sync();
  await clock.advance(1000);
  assert.equal(p.syncs.length, 4);
  assert.equal(p.last!.full, false);
  assert.equal(p.last!.updatedServices.size, 0);
  await p.stop();
});

test('periodic syncs come every syncPeriod; a full one once per fullSyncPeriod', async () => {
  const { clock, p } = await initialized({ fullSyncPeriodMs: 60_000 });
  await clock.advance(30_000);
  assert.equal(p.syncs.length, 2);
  assert.equal(p.last!.full, false);
  assert.equal(p.last!.updatedServices.size, 0);
  await clock.advance(30_000);
  assert.equal(p.syncs.length, 3);
  assert.equal(p.last!.full, true);
  await p.stop();
});

test('a failed sync is retried in full, carrying its stale entries, trigger times and services', async () => {
  const { clock, p } = await initialized();
  const a = slice('dns', 'dns-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')], { ports: [UDP_PORT] });
  p.onServiceAdd(service('dns', { ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] }));
  p.onEndpointSliceAdd(a);
  await clock.advance(1000);
  assert.equal(p.syncs.length, 2);

  p.failNext(new Error('iptables-restore: exit status 4'), 2);
  const trigger = new Date(clock.now() - 100).toISOString();
  p.onEndpointSliceUpdate(a, slice('dns', 'dns-1', [endpoint('10.244.0.5')], { ports: [UDP_PORT], trigger }));
  await clock.advance(1000);
  assert.equal(p.syncs.length, 3);
  assert.equal(p.last!.full, false);
  assert.deepEqual(
    p.last!.staleEndpoints.map((s) => s.endpoint.key),
    ['10.244.0.6:5353'],
  );
  // A new change does not wait for the retry; it fails too, and owes both.
  p.onServiceAdd(service('web'));
  await clock.advance(1000);
  assert.equal(p.syncs.length, 4);
  assert.equal(p.last!.full, true);
  assert.deepEqual([...p.last!.updatedServices].sort(), ['default/dns', 'default/web']);
  await clock.advance(4999);
  assert.equal(p.syncs.length, 4, 'the retry waits for the retry period');
  await clock.advance(1);
  assert.equal(p.syncs.length, 5);
  const retry = p.last!;
  assert.equal(retry.full, true);
  assert.deepEqual(
    retry.staleEndpoints.map((s) => `${s.servicePort} ${s.endpoint.key}`),
    [`${DNS} 10.244.0.6:5353`],
  );
  assert.deepEqual(
    retry.deletedEndpoints.map((s) => s.endpoint.key),
    ['10.244.0.6:5353'],
  );
  assert.deepEqual([...retry.updatedServices].sort(), ['default/dns', 'default/web']);
  assert.deepEqual(retry.triggerTimes.get('default/dns'), [Date.parse(trigger)]);
  // ...and after success nothing is owed any more.
  p.onServiceAdd(service('x'));
  await clock.advance(1000);
  assert.equal(p.last!.full, false);
  assert.deepEqual(p.last!.staleEndpoints, []);
  assert.deepEqual([...p.last!.updatedServices], ['default/x']);
  await p.stop();
});

test("this node's addresses reach the sync; a change of them forces a full sync; other nodes do not matter", async () => {
  const { clock, p } = await initialized();
  p.onNodeAdd(node('node-b', { ips: ['198.18.0.3'] }));
  await clock.advance(1000);
  assert.equal(p.syncs.length, 1);
  const mine = node('node-a', {
    ips: ['198.18.0.2', 'fd00::2'],
    podCIDR: '10.244.0.0/24',
    labels: { zone: 'z1' },
  });
  p.onNodeAdd(mine);
  await clock.advance(1000);
  assert.equal(p.syncs.length, 2);
  assert.equal(p.last!.full, true);
  assert.deepEqual(p.last!.node.addresses, ['198.18.0.2']);
  assert.deepEqual(p.last!.node.podCIDRs, ['10.244.0.0/24']);
  assert.equal(p.last!.node.labels.zone, 'z1');
  p.onNodeUpdate(mine, { ...mine, metadata: { ...mine.metadata, resourceVersion: '7' } });
  await clock.advance(1000);
  assert.equal(p.syncs.length, 2, 'a heartbeat that changes nothing is no sync');
  p.onNodeDelete(mine);
  await clock.advance(1000);
  assert.equal(p.syncs.length, 3);
  assert.deepEqual(p.last!.node.addresses, []);
  await p.stop();
});

test('cleanup stops the loop and removes the mode state; no timer is left', async () => {
  const { clock, p } = await initialized();
  await p.cleanup();
  assert.equal(p.cleanups, 1);
  assert.equal(clock.pendingTimers(), 0);
  p.onServiceAdd(service('late'));
  await clock.advance(60_000);
  assert.equal(p.syncs.length, 1);
});
