// The record schema case by case, as the Kubernetes DNS specification (CoreDNS's kubernetes
// plugin) gives it, against Services and EndpointSlices as the apiserver holds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterIndex } from '../../../dataplane/dns/cluster-index.ts';
import { type Outcome, resolve } from '../../../dataplane/dns/records.ts';
import { sampleCluster, service, slice } from './fixture.ts';

const { services, slices } = sampleCluster();
const index = new ClusterIndex(services, slices);
const ask = (name: string, type: string) => resolve(name, type, index);

function data(o: Outcome): unknown[] {
  assert.equal(o.kind, 'answer', `expected an answer, got ${o.kind}`);
  return o.kind === 'answer' ? o.answers.map((a) => a.data) : [];
}

test('A of a ClusterIP Service is its cluster IP, with TTL 5, in any case and with the final dot', () => {
  for (const name of [
    'backend-service.default.svc.cluster.local',
    'Backend-Service.DEFAULT.svc.cluster.local.',
  ]) {
    const o = ask(name, 'A');
    assert.deepEqual(data(o), ['10.96.0.20']);
    assert.equal(o.kind === 'answer' && o.answers[0].ttl, 5);
    assert.equal(o.kind === 'answer' && o.answers[0].name, name.replace(/\.$/, ''));
  }
  assert.deepEqual(data(ask('kubernetes.default.svc.cluster.local', 'A')), ['10.96.0.1']);
});

test('AAAA of a single-stack IPv4 Service is NODATA with the SOA; dual-stack answers both families', () => {
  const o = ask('backend-service.default.svc.cluster.local', 'AAAA');
  assert.equal(o.kind, 'nodata');
  assert.equal(o.kind === 'nodata' && o.authority[0].type, 'SOA');
  assert.equal(o.kind === 'nodata' && o.authority[0].name, 'cluster.local');
  assert.deepEqual(data(ask('dual.other.svc.cluster.local', 'A')), ['10.96.0.30']);
  assert.deepEqual(data(ask('dual.other.svc.cluster.local', 'AAAA')), ['fd00:10:96::30']);
  assert.equal(ask('dual.other.svc.cluster.local', 'MX').kind, 'nodata');
});

test('headless: A is every ready endpoint; each endpoint by hostname or dashed address', () => {
  assert.deepEqual(data(ask('db.other.svc.cluster.local', 'A')).sort(), ['10.244.1.7', '10.244.2.8']);
  assert.deepEqual(data(ask('db-0.db.other.svc.cluster.local', 'A')), ['10.244.1.7']);
  assert.deepEqual(data(ask('10-244-2-8.db.other.svc.cluster.local', 'A')), ['10.244.2.8']);
  // Not ready: not published.
  assert.equal(ask('10-244-2-9.db.other.svc.cluster.local', 'A').kind, 'nxdomain');
  // An endpoint name under a ClusterIP Service does not exist.
  assert.equal(ask('10-244-1-5.backend-service.default.svc.cluster.local', 'A').kind, 'nxdomain');
});

test('publishNotReadyAddresses publishes endpoints that are not ready', () => {
  const svc = service('db', 'other', { clusterIP: 'None', publishNotReadyAddresses: true });
  const idx = new ClusterIndex([svc], [slice('db', 'other', [{ ip: '10.244.2.9', ready: false }])]);
  assert.deepEqual(data(resolve('db.other.svc.cluster.local', 'A', idx)), ['10.244.2.9']);
});

test('a headless Service without ready endpoints exists (NODATA), it is not NXDOMAIN', () => {
  const idx = new ClusterIndex([service('empty', 'ns', { clusterIP: 'None' })], []);
  assert.equal(resolve('empty.ns.svc.cluster.local', 'A', idx).kind, 'nodata');
});

test('ExternalName is a CNAME to its name', () => {
  const o = ask('ext.other.svc.cluster.local', 'A');
  assert.equal(o.kind === 'answer' && o.answers[0].type, 'CNAME');
  assert.deepEqual(data(o), ['example.org']);
});

test('SRV of a named port: ClusterIP answers the Service name and port, with its A as additional', () => {
  const o = ask('_http._tcp.backend-service.default.svc.cluster.local', 'SRV');
  assert.deepEqual(data(o), [
    { priority: 0, weight: 100, port: 80, target: 'backend-service.default.svc.cluster.local' },
  ]);
  assert.deepEqual(o.kind === 'answer' && o.additionals.map((a) => [a.name, a.type, a.data]), [
    ['backend-service.default.svc.cluster.local', 'A', '10.96.0.20'],
  ]);
  // An unnamed port has no SRV name; a wrong protocol or port name does not exist.
  assert.equal(ask('_http._udp.backend-service.default.svc.cluster.local', 'SRV').kind, 'nxdomain');
  assert.equal(ask('_nope._tcp.backend-service.default.svc.cluster.local', 'SRV').kind, 'nxdomain');
  // The name exists: other types are NODATA.
  assert.equal(ask('_http._tcp.backend-service.default.svc.cluster.local', 'A').kind, 'nodata');
});

test('SRV of a headless Service: one per ready endpoint, its name and target port', () => {
  const o = ask('_pg._tcp.db.other.svc.cluster.local', 'SRV');
  const targets = data(o) as { target: string; port: number }[];
  assert.deepEqual(targets.map((t) => [t.target, t.port]).sort(), [
    ['10-244-2-8.db.other.svc.cluster.local', 5432],
    ['db-0.db.other.svc.cluster.local', 5432],
  ]);
  assert.equal(o.kind === 'answer' && o.additionals.length, 2);
});

test('SRV on the Service name lists every named port', () => {
  assert.deepEqual(data(ask('backend-service.default.svc.cluster.local', 'SRV')), [
    { priority: 0, weight: 100, port: 80, target: 'backend-service.default.svc.cluster.local' },
  ]);
});

test('PTR of a cluster IP is the Service; of a headless endpoint its endpoint name; IPv6 too', () => {
  assert.deepEqual(data(ask('20.0.96.10.in-addr.arpa', 'PTR')), [
    'backend-service.default.svc.cluster.local',
  ]);
  assert.deepEqual(data(ask('7.1.244.10.in-addr.arpa', 'PTR')), ['db-0.db.other.svc.cluster.local']);
  const v6 = '0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa';
  assert.deepEqual(data(ask(v6, 'PTR')), ['dual.other.svc.cluster.local']);
  // A ClusterIP Service's endpoints have no PTR; malformed reverse names do not exist.
  assert.equal(ask('5.1.244.10.in-addr.arpa', 'PTR').kind, 'nxdomain');
  assert.equal(ask('300.1.244.10.in-addr.arpa', 'PTR').kind, 'nxdomain');
  assert.equal(ask('1.244.10.in-addr.arpa', 'PTR').kind, 'nxdomain');
});

test('pod records: the dashed address in a namespace', () => {
  assert.deepEqual(data(ask('10-244-1-5.default.pod.cluster.local', 'A')), ['10.244.1.5']);
  assert.equal(ask('not-an-ip.default.pod.cluster.local', 'A').kind, 'nxdomain');
  assert.equal(ask('10-244-1-5.default.pod.cluster.local', 'AAAA').kind, 'nodata');
});

test('NXDOMAIN vs NODATA along the tree', () => {
  assert.equal(ask('cluster.local', 'A').kind, 'nodata');
  assert.deepEqual(data(ask('cluster.local', 'SOA')).length, 1);
  assert.equal(ask('svc.cluster.local', 'A').kind, 'nodata');
  assert.equal(ask('default.svc.cluster.local', 'A').kind, 'nodata');
  assert.equal(ask('nowhere.svc.cluster.local', 'A').kind, 'nxdomain');
  assert.equal(ask('missing.default.svc.cluster.local', 'A').kind, 'nxdomain');
  assert.equal(ask('backend-service.nowhere.svc.cluster.local', 'A').kind, 'nxdomain');
  assert.equal(ask('a.b.c.backend-service.default.svc.cluster.local', 'A').kind, 'nxdomain');
  assert.equal(ask('whatever.cluster.local', 'A').kind, 'nxdomain');
  assert.deepEqual(data(ask('dns-version.cluster.local', 'TXT')), ['1.1.0']);
});

test('names outside the zone are not ours; another zone and TTL can be configured', () => {
  assert.equal(ask('example.com', 'A').kind, 'outside');
  assert.equal(ask('cluster.local.example.com', 'A').kind, 'outside');
  const o = resolve('backend-service.default.svc.kdp.test', 'A', index, { zone: 'kdp.test', ttl: 30 });
  assert.equal(o.kind === 'answer' && o.answers[0].ttl, 30);
  assert.equal(ask('backend-service.default.svc.kdp.test', 'A').kind, 'outside');
});

test('search-path expansion of a short name finds the Service in the pod namespace first', () => {
  // What a resolver with `search <ns>.svc.cluster.local svc.cluster.local cluster.local` and
  // ndots:5 asks, in order, until one answers.
  const search = ['other.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
  const expand = (name: string) => [...search.map((s) => `${name}.${s}`), name];
  const first = (name: string) =>
    expand(name)
      .map((n) => [n, ask(n, 'A').kind])
      .find(([, k]) => k !== 'nxdomain');
  assert.deepEqual(first('db'), ['db.other.svc.cluster.local', 'answer']);
  assert.deepEqual(first('backend-service.default'), ['backend-service.default.svc.cluster.local', 'answer']);
  assert.deepEqual(first('kubernetes.default'), ['kubernetes.default.svc.cluster.local', 'answer']);
  assert.deepEqual(first('example.com'), ['example.com', 'outside']);
});

test('the index follows the objects it was built from, slices of unknown Services ignored', () => {
  const idx = new ClusterIndex([], [slice('ghost', 'default', [{ ip: '10.244.0.9' }])]);
  assert.equal(resolve('ghost.default.svc.cluster.local', 'A', idx).kind, 'nxdomain');
  assert.equal(resolve('9.0.244.10.in-addr.arpa', 'PTR', idx).kind, 'nxdomain');
});
