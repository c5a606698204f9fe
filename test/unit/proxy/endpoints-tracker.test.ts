import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointsTracker } from '../../../dataplane/proxy/endpoints-tracker.ts';
import type { EndpointInfo } from '../../../dataplane/proxy/service-model.ts';
import { endpoint, keysOf, slice } from './fixtures.ts';

const HTTP = 'default/web:http/TCP';
const DNS = 'default/dns:dns/UDP';
const UDP_PORT = { name: 'dns', protocol: 'UDP' as const, port: 5353 };
const START = Date.parse('2025-01-01T00:00:00Z');

function tracker(nodeName = 'node-a') {
  return new EndpointsTracker({ nodeName, now: () => START });
}

test('a slice becomes sorted endpoints of its service port, local ones marked', () => {
  const t = tracker();
  const pending = t.onEndpointSliceAdd(
    slice('web', 'web-1', [
      endpoint('10.244.1.2', { node: 'node-b' }),
      endpoint('10.244.0.10', { node: 'node-a' }),
    ]),
  );
  assert.equal(pending, true);
  const r = t.apply();
  assert.deepEqual([...r.updatedServices], ['default/web']);
  assert.deepEqual(keysOf(r.endpoints, HTTP), ['10.244.0.10:8080', '10.244.1.2:8080']);
  const [local, remote] = r.endpoints.get(HTTP)!;
  assert.equal(local.isLocal, true);
  assert.equal(local.nodeName, 'node-a');
  assert.equal(remote.isLocal, false);
  assert.deepEqual([local.ready, local.serving, local.terminating], [true, true, false]);
});

test('unset conditions mean ready and serving, not terminating', () => {
  const t = tracker();
  t.onEndpointSliceAdd(slice('web', 'web-1', [{ addresses: ['10.244.0.5'] }]));
  const [ep] = t.apply().endpoints.get(HTTP)!;
  assert.deepEqual([ep.ready, ep.serving, ep.terminating], [true, true, false]);
});

test('add then delete before a sync, and A -> B -> A, fold to nothing', () => {
  const t = tracker();
  const a = slice('web', 'web-1', [endpoint('10.244.0.5')]);
  t.onEndpointSliceAdd(a);
  assert.equal(t.onEndpointSliceDelete(a), false);
  assert.equal(t.pendingCount(), 0);
  assert.equal(t.apply().updatedServices.size, 0);

  t.onEndpointSliceAdd(a);
  t.apply();
  const b = slice('web', 'web-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')]);
  assert.equal(t.onEndpointSliceUpdate(a, b), true);
  assert.equal(t.onEndpointSliceUpdate(b, a), false);
  const r = t.apply();
  assert.equal(r.updatedServices.size, 0);
  assert.deepEqual(keysOf(r.endpoints, HTTP), ['10.244.0.5:8080']);
});

test('an update that changes nothing kube-proxy reads is no change', () => {
  const t = tracker();
  const a = slice('web', 'web-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')]);
  t.onEndpointSliceAdd(a);
  t.apply();
  const reordered = slice('web', 'web-1', [
    { ...endpoint('10.244.0.6'), hostname: 'x', targetRef: { kind: 'Pod', name: 'p' } },
    endpoint('10.244.0.5'),
  ]);
  assert.equal(t.onEndpointSliceUpdate(a, reordered), false);
});

test('slices of one service merge; an endpoint in two slices counts once, the local copy wins', () => {
  const t = tracker('node-a');
  t.onEndpointSliceAdd(
    slice('web', 'web-1', [endpoint('10.244.0.5'), endpoint('10.244.1.5', { node: 'node-b' })]),
  );
  t.onEndpointSliceAdd(
    slice('web', 'web-2', [endpoint('10.244.0.5', { node: 'node-a' }), endpoint('10.244.2.5')]),
  );
  const r = t.apply();
  assert.deepEqual(keysOf(r.endpoints, HTTP), ['10.244.0.5:8080', '10.244.1.5:8080', '10.244.2.5:8080']);
  assert.equal(r.endpoints.get(HTTP)![0].isLocal, true);
  // The local copy in the first slice is not displaced by a remote copy in a later one.
  t.onEndpointSliceAdd(slice('web', 'web-3', [endpoint('10.244.0.5', { node: 'node-c', ready: false })]));
  assert.equal(t.apply().updatedServices.size, 0);
  assert.equal(t.endpoints.get(HTTP)![0].isLocal, true);
  assert.equal(t.endpoints.get(HTTP)![0].ready, true);
});

test('slices with different ports give each service port its own endpoints', () => {
  const t = tracker();
  t.onEndpointSliceAdd(
    slice('web', 'web-1', [endpoint('10.244.0.5')], {
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    }),
  );
  t.onEndpointSliceAdd(
    slice('web', 'web-2', [endpoint('10.244.0.6')], {
      ports: [{ name: 'http', protocol: 'TCP', port: 9090 }],
    }),
  );
  t.onEndpointSliceAdd(
    slice('web', 'web-3', [endpoint('10.244.0.7')], {
      ports: [{ name: 'metrics', protocol: 'TCP', port: 9100 }, { name: 'all' }],
    }),
  );
  const r = t.apply();
  assert.deepEqual(keysOf(r.endpoints, HTTP), ['10.244.0.5:8080', '10.244.0.6:9090']);
  assert.deepEqual(keysOf(r.endpoints, 'default/web:metrics/TCP'), ['10.244.0.7:9100']);
  assert.equal(r.endpoints.has('default/web:all/TCP'), false, 'a port without a number is ignored');
});

test('an endpoint moving between slices is not a change, whichever slice changes first', () => {
  const t = tracker();
  const one = slice('web', 'web-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')]);
  const two = slice('web', 'web-2', [endpoint('10.244.0.7')]);
  t.onEndpointSliceAdd(one);
  t.onEndpointSliceAdd(two);
  t.apply();
  // Gaining slice first, synced in between.
  const twoWith = slice('web', 'web-2', [endpoint('10.244.0.6'), endpoint('10.244.0.7')]);
  t.onEndpointSliceUpdate(two, twoWith);
  const first = t.apply();
  assert.equal(first.updatedServices.size, 0);
  assert.deepEqual(first.deletedEndpoints, []);
  const oneWithout = slice('web', 'web-1', [endpoint('10.244.0.5')]);
  t.onEndpointSliceUpdate(one, oneWithout);
  const second = t.apply();
  assert.equal(second.updatedServices.size, 0);
  assert.deepEqual(second.deletedEndpoints, []);
  assert.deepEqual(keysOf(second.endpoints, HTTP), ['10.244.0.5:8080', '10.244.0.6:8080', '10.244.0.7:8080']);
  // Losing slice first, both in one sync.
  t.onEndpointSliceUpdate(twoWith, two);
  t.onEndpointSliceUpdate(oneWithout, one);
  assert.equal(t.apply().updatedServices.size, 0);
});

test('removed UDP endpoints are stale; TCP ones and never-serving ones are only deleted', () => {
  const t = tracker();
  const udp = slice(
    'dns',
    'dns-1',
    [endpoint('10.244.0.5'), endpoint('10.244.0.6'), endpoint('10.244.0.7', { ready: false })],
    {
      ports: [UDP_PORT],
    },
  );
  const tcp = slice('web', 'web-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')]);
  t.onEndpointSliceAdd(udp);
  t.onEndpointSliceAdd(tcp);
  t.apply();
  t.onEndpointSliceUpdate(udp, slice('dns', 'dns-1', [endpoint('10.244.0.5')], { ports: [UDP_PORT] }));
  t.onEndpointSliceUpdate(tcp, slice('web', 'web-1', [endpoint('10.244.0.5')]));
  const r = t.apply();
  assert.deepEqual(
    r.staleEndpoints.map((s) => [s.servicePort, s.protocol, s.endpoint.key]),
    [[DNS, 'UDP', '10.244.0.6:5353']],
  );
  assert.deepEqual(r.deletedEndpoints.map((s) => `${s.servicePort} ${s.endpoint.key}`).sort(), [
    `${DNS} 10.244.0.6:5353`,
    `${DNS} 10.244.0.7:5353`,
    `${HTTP} 10.244.0.6:8080`,
  ]);
  assert.deepEqual(r.staleServices, []);
});

test('a UDP endpoint that stops serving is stale although still listed; SCTP too', () => {
  const t = tracker();
  const sctpPort = { name: 'sig', protocol: 'SCTP' as const, port: 9 };
  const a = slice('dns', 'dns-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')], {
    ports: [UDP_PORT, sctpPort],
  });
  t.onEndpointSliceAdd(a);
  t.apply();
  const b = slice(
    'dns',
    'dns-1',
    [endpoint('10.244.0.5'), endpoint('10.244.0.6', { ready: false, serving: false })],
    {
      ports: [UDP_PORT, sctpPort],
    },
  );
  t.onEndpointSliceUpdate(a, b);
  const r = t.apply();
  assert.deepEqual(r.staleEndpoints.map((s) => `${s.servicePort} ${s.endpoint.key}`).sort(), [
    'default/dns:dns/UDP 10.244.0.6:5353',
    'default/dns:sig/SCTP 10.244.0.6:9',
  ]);
  assert.deepEqual(r.deletedEndpoints, []);
});

test('a UDP service port going from no serving endpoint to some is a stale service', () => {
  const t = tracker();
  const none = slice('dns', 'dns-1', [endpoint('10.244.0.5', { ready: false, serving: false })], {
    ports: [UDP_PORT],
  });
  t.onEndpointSliceAdd(none);
  const first = t.apply();
  assert.deepEqual(first.staleServices, []);
  const one = slice('dns', 'dns-1', [endpoint('10.244.0.5')], { ports: [UDP_PORT] });
  t.onEndpointSliceUpdate(none, one);
  assert.deepEqual(t.apply().staleServices, [DNS]);
  t.onEndpointSliceUpdate(
    one,
    slice('dns', 'dns-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')], { ports: [UDP_PORT] }),
  );
  assert.deepEqual(t.apply().staleServices, [], 'a second endpoint is no news for conntrack');
  // Brand-new UDP service with endpoints: also flushed (packets may have been rejected before).
  t.onEndpointSliceAdd(
    slice('ntp', 'ntp-1', [endpoint('10.244.0.9')], { ports: [{ name: 'ntp', protocol: 'UDP', port: 123 }] }),
  );
  assert.deepEqual(t.apply().staleServices, ['default/ntp:ntp/UDP']);
  // TCP never.
  t.onEndpointSliceAdd(slice('web', 'web-1', [endpoint('10.244.0.9')]));
  assert.deepEqual(t.apply().staleServices, []);
});

test('trigger times: kept per service, only after the tracker started, never from deletions', () => {
  const t = tracker();
  const before = '2024-12-31T23:59:59Z';
  const t1 = '2025-01-01T00:00:01.5Z';
  const t2 = '2025-01-01T00:00:02Z';
  const a = slice('web', 'web-1', [endpoint('10.244.0.5')], { trigger: before });
  t.onEndpointSliceAdd(a);
  let r = t.apply();
  assert.equal(r.triggerTimes.size, 0, 'changes from before the start are not measured');

  const b = slice('web', 'web-1', [endpoint('10.244.0.6')], { trigger: t1 });
  const c = slice('web', 'web-1', [endpoint('10.244.0.7')], { trigger: t2 });
  t.onEndpointSliceUpdate(a, b);
  t.onEndpointSliceUpdate(b, c);
  t.onEndpointSliceAdd(slice('api', 'api-1', [endpoint('10.244.0.8')], { trigger: t2 }));
  r = t.apply();
  assert.deepEqual(r.triggerTimes.get('default/web'), [Date.parse(t1), Date.parse(t2)]);
  assert.deepEqual(r.triggerTimes.get('default/api'), [Date.parse(t2)]);

  t.onEndpointSliceDelete(
    slice('web', 'web-1', [endpoint('10.244.0.7')], { trigger: '2025-01-01T00:00:03Z' }),
  );
  r = t.apply();
  assert.deepEqual([...r.updatedServices], ['default/web']);
  assert.equal(r.triggerTimes.size, 0);
});

test('trigger times of changes that cancel out are dropped', () => {
  const t = tracker();
  const a = slice('web', 'web-1', [endpoint('10.244.0.5')]);
  t.onEndpointSliceAdd(a);
  t.apply();
  const b = slice('web', 'web-1', [endpoint('10.244.0.6')], { trigger: '2025-01-01T00:00:01Z' });
  t.onEndpointSliceUpdate(a, b);
  t.onEndpointSliceUpdate(b, { ...a, metadata: { ...a.metadata, annotations: b.metadata.annotations } });
  assert.equal(t.apply().triggerTimes.size, 0);
  // Moving between slices: pending per slice, but the merged endpoints did not change.
  const two = slice('web', 'web-2', [], { trigger: '2025-01-01T00:00:02Z' });
  t.onEndpointSliceAdd(two);
  assert.equal(t.apply().triggerTimes.size, 0);
});

test('slices of another family, FQDN slices and slices without a service label are ignored', () => {
  const t = tracker();
  assert.equal(
    t.onEndpointSliceAdd(slice('web', 'web-6', [endpoint('fd00::5')], { addressType: 'IPv6' })),
    false,
  );
  assert.equal(
    t.onEndpointSliceAdd(slice('web', 'web-f', [{ addresses: ['a.example'] }], { addressType: 'FQDN' })),
    false,
  );
  const orphan = slice('web', 'orphan', [endpoint('10.244.0.5')]);
  orphan.metadata.labels = {};
  assert.equal(t.onEndpointSliceAdd(orphan), false);
  assert.equal(t.apply().endpoints.size, 0);
  const v6 = new EndpointsTracker({ nodeName: 'n', ipFamily: 'IPv6', now: () => START });
  v6.onEndpointSliceAdd(slice('web', 'web-6', [endpoint('fd00::5')], { addressType: 'IPv6' }));
  assert.deepEqual(keysOf(v6.apply().endpoints, HTTP), ['[fd00::5]:8080']);
});

test('deleting the last slice removes the service port; the factory result is reused while unchanged', () => {
  let made = 0;
  const t = new EndpointsTracker<EndpointInfo & { chain: string }>({
    nodeName: 'n',
    now: () => START,
    makeEndpoint: (base) => {
      made++;
      return { ...base, chain: `KUBE-SEP-${base.key}` };
    },
  });
  const a = slice('web', 'web-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6')]);
  t.onEndpointSliceAdd(a);
  const first = t.apply().endpoints.get(HTTP)!;
  assert.equal(made, 2);
  assert.equal(first[0].chain, 'KUBE-SEP-10.244.0.5:8080');
  const b = slice('web', 'web-1', [endpoint('10.244.0.5'), endpoint('10.244.0.6', { ready: false })]);
  t.onEndpointSliceUpdate(a, b);
  const second = t.apply().endpoints.get(HTTP)!;
  assert.equal(made, 3, 'only the changed endpoint is made again');
  assert.equal(second[0], first[0]);
  t.onEndpointSliceDelete(b);
  const r = t.apply();
  assert.equal(r.endpoints.has(HTTP), false);
  assert.equal(r.deletedEndpoints.length, 2);
});
