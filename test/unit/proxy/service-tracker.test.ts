import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServicePortInfo } from '../../../dataplane/proxy/service-model.ts';
import { ServiceTracker } from '../../../dataplane/proxy/service-tracker.ts';
import { service } from './fixtures.ts';

test('an added service appears in the map and as updated', () => {
  const t = new ServiceTracker();
  assert.equal(t.onServiceAdd(service('web')), true);
  assert.equal(t.pendingCount(), 1);
  const r = t.apply();
  assert.deepEqual([...r.services.keys()], ['default/web:http/TCP']);
  assert.deepEqual([...r.updatedServices], ['default/web']);
  assert.equal(t.pendingCount(), 0);
  const again = t.apply();
  assert.equal(again.updatedServices.size, 0);
  assert.equal(again.services.size, 1);
});

test('add then delete before a sync folds to nothing', () => {
  const t = new ServiceTracker();
  const svc = service('web');
  t.onServiceAdd(svc);
  assert.equal(t.onServiceDelete(svc), false);
  assert.equal(t.pendingCount(), 0);
  const r = t.apply();
  assert.equal(r.services.size, 0);
  assert.equal(r.updatedServices.size, 0);
});

test('A -> B -> A between syncs is no change', () => {
  const t = new ServiceTracker();
  const a = service('web');
  t.onServiceAdd(a);
  t.apply();
  const b = service('web', { ports: [{ name: 'http', protocol: 'TCP', port: 81, targetPort: 8080 }] });
  assert.equal(t.onServiceUpdate(a, b), true);
  assert.equal(t.onServiceUpdate(b, a), false);
  assert.equal(t.apply().updatedServices.size, 0);
});

test('an update touching only fields no proxy programs is no change', () => {
  const t = new ServiceTracker();
  const a = service('web');
  t.onServiceAdd(a);
  t.apply();
  const b = { ...a, metadata: { ...a.metadata, labels: { team: 'x' }, resourceVersion: '99' } };
  assert.equal(t.onServiceUpdate(a, b), false);
});

test('a removed port is deleted; a UDP one reports its stale ClusterIP; TCP does not', () => {
  const t = new ServiceTracker();
  const a = service('dns', {
    ports: [
      { name: 'dns', protocol: 'UDP', port: 53 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53 },
      { name: 'sig', protocol: 'SCTP', port: 9 },
    ],
  });
  t.onServiceAdd(a);
  t.apply();
  const b = service('dns', { ports: [{ name: 'dns-tcp', protocol: 'TCP', port: 53 }] });
  t.onServiceUpdate(a, b);
  const r = t.apply();
  assert.deepEqual([...r.services.keys()], ['default/dns:dns-tcp/TCP']);
  assert.deepEqual(
    r.deletedServicePorts.map((s) => s.key),
    ['default/dns:dns/UDP', 'default/dns:sig/SCTP'],
  );
  assert.deepEqual(r.staleClusterIPs, [
    { clusterIP: '10.96.0.10', protocol: 'UDP' },
    { clusterIP: '10.96.0.10', protocol: 'SCTP' },
  ]);
  t.onServiceDelete(b);
  const gone = t.apply();
  assert.equal(gone.services.size, 0);
  assert.deepEqual(gone.staleClusterIPs, []);
  assert.deepEqual([...gone.updatedServices], ['default/dns']);
});

test('delete and re-create with another ClusterIP between syncs flushes the old IP', () => {
  const t = new ServiceTracker();
  const a = service('dns', { ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] });
  t.onServiceAdd(a);
  t.apply();
  t.onServiceDelete(a);
  t.onServiceAdd(
    service('dns', { clusterIP: '10.96.0.99', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] }),
  );
  const r = t.apply();
  assert.equal(r.services.get('default/dns:dns/UDP')?.clusterIP, '10.96.0.99');
  assert.deepEqual(r.staleClusterIPs, [{ clusterIP: '10.96.0.10', protocol: 'UDP' }]);
});

test('a service turning headless or ExternalName leaves the map', () => {
  const t = new ServiceTracker();
  const a = service('web');
  t.onServiceAdd(a);
  t.apply();
  t.onServiceUpdate(
    a,
    service('web', { type: 'ExternalName', clusterIP: undefined, externalName: 'x.example' }),
  );
  assert.equal(t.apply().services.size, 0);
});

test('the factory extends each port once; unchanged ports keep their object', () => {
  let made = 0;
  const t = new ServiceTracker<ServicePortInfo & { chain: string }>({
    makeServicePort: (base) => {
      made++;
      return { ...base, chain: `KUBE-SVC-${base.id}` };
    },
  });
  const a = service('web', {
    ports: [
      { name: 'http', protocol: 'TCP', port: 80 },
      { name: 'https', protocol: 'TCP', port: 443 },
    ],
  });
  t.onServiceAdd(a);
  const first = t.apply().services;
  assert.equal(made, 2);
  assert.equal(first.get('default/web:http/TCP')?.chain, 'KUBE-SVC-default/web:http');
  const httpBefore = first.get('default/web:http/TCP');
  const b = service('web', {
    ports: [
      { name: 'http', protocol: 'TCP', port: 80 },
      { name: 'https', protocol: 'TCP', port: 8443 },
    ],
  });
  t.onServiceUpdate(a, b);
  const second = t.apply().services;
  assert.equal(made, 3);
  assert.equal(second.get('default/web:http/TCP'), httpBefore);
  assert.equal(second.get('default/web:https/TCP')?.port, 8443);
});

test('several services: only changed ones are reported', () => {
  const t = new ServiceTracker();
  for (const n of ['a', 'b', 'c']) t.onServiceAdd(service(n));
  t.apply();
  t.onServiceUpdate(service('b'), service('b', { sessionAffinity: 'ClientIP' }));
  const r = t.apply();
  assert.deepEqual([...r.updatedServices], ['default/b']);
  assert.equal(r.services.get('default/b:http/TCP')?.sessionAffinityClientIP, true);
  assert.equal(r.services.size, 3);
});
