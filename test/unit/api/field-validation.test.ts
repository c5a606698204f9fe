// Field rules of finding 5: EndpointSlice and Endpoints addresses that would become DNAT targets on
// the node itself, container command and args that are not string lists, loadBalancerSourceRanges
// that are not CIDRs, and the externalIPs policy (CVE-2020-8554 class).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../dataplane/api/registry/generic-registry.ts';
import { createStrategies } from '../../../dataplane/api/registry/strategies/index.ts';
import type { KubeObject } from '../../../dataplane/api/types.ts';
import {
  causeFor,
  ENDPOINTS,
  expectApiError,
  invalidCauses,
  newRegistry,
  PODS,
  SERVICES,
  SLICES,
} from './strategy-fixture.ts';

function slice(addressType: string, addresses: string[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 's' },
    addressType,
    endpoints: addresses.map((a) => ({ addresses: [a] })),
    ports: [{ port: 80 }],
  } as KubeObject;
}

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } };
}

test('finding 5: EndpointSlice addresses 0.0.0.0, 127.0.0.1 and 224.0.0.1 are refused', () => {
  const { registry, store } = newRegistry();
  const bad = ['0.0.0.0', '127.0.0.1', '224.0.0.1', '169.254.1.1', '239.1.2.3', '255.255.255.255'];
  const causes = invalidCauses(() => registry.create(SLICES, 'default', slice('IPv4', bad)));
  assert.match(causeFor(causes, 'endpoints[0].addresses[0]').message!, /unspecified/);
  assert.match(causeFor(causes, 'endpoints[1].addresses[0]').message!, /loopback/);
  assert.match(causeFor(causes, 'endpoints[2].addresses[0]').message!, /link-local multicast/);
  assert.match(causeFor(causes, 'endpoints[3].addresses[0]').message!, /link-local range/);
  assert.match(causeFor(causes, 'endpoints[4].addresses[0]').message!, /multicast/);
  assert.match(causeFor(causes, 'endpoints[5].addresses[0]').message!, /broadcast/);
  const v6 = invalidCauses(() =>
    registry.create(SLICES, 'default', slice('IPv6', ['::', '::1', 'fe80::1', 'ff02::1'])),
  );
  assert.equal(v6.length, 4, JSON.stringify(v6));
  assert.equal(store.list('discovery.k8s.io/endpointslices').items.length, 0);
  registry.create(SLICES, 'default', slice('IPv4', ['10.244.1.5']));
});

test('Endpoints subsets refuse the same special addresses', () => {
  const { registry } = newRegistry();
  const causes = invalidCauses(() =>
    registry.create(ENDPOINTS, 'default', {
      metadata: { name: 'e' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }, { ip: '224.0.0.1' }], ports: [{ port: 80 }] }],
    }),
  );
  assert.match(causeFor(causes, 'subsets[0].addresses[0].ip').message!, /loopback/);
  assert.match(causeFor(causes, 'subsets[0].addresses[1].ip').message!, /multicast/);
});

test('finding 5: a string command or args, or a non-string env value, is refused', () => {
  const { registry, store } = newRegistry();
  const causes = invalidCauses(() =>
    registry.create(PODS, 'default', {
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox',
            command: 'sh -c id',
            args: ['ok', 3],
            env: [{ name: 'A', value: 1 }],
          },
        ],
      },
    }),
  );
  assert.equal(
    causeFor(causes, 'spec.containers[0].command').message,
    'Invalid value: "sh -c id": must be a list of strings',
  );
  assert.match(causeFor(causes, 'spec.containers[0].args[1]').message!, /must be a string/);
  assert.match(causeFor(causes, 'spec.containers[0].env[0].value').message!, /must be a string/);
  assert.equal(store.list('pods').items.length, 0);
});

test('finding 5: loadBalancerSourceRanges 10.0.0.0/33 is refused; ranges need type LoadBalancer', () => {
  const { registry } = newRegistry();
  let causes = invalidCauses(() =>
    registry.create(
      SERVICES,
      'default',
      svc('lb', { type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.0/33'] }),
    ),
  );
  assert.equal(causes.length, 1, JSON.stringify(causes));
  assert.match(causeFor(causes, 'spec.loadBalancerSourceRanges[1]').message!, /must be a list of IP ranges/);
  causes = invalidCauses(() =>
    registry.create(SERVICES, 'default', svc('ci', { loadBalancerSourceRanges: ['10.0.0.0/8'] })),
  );
  assert.equal(causeFor(causes, 'spec.loadBalancerSourceRanges').reason, 'FieldValueForbidden');
  registry.create(
    SERVICES,
    'default',
    svc('lb', { type: 'LoadBalancer', loadBalancerSourceRanges: [' 10.0.0.0/8'] }),
  );
});

test("finding 5: an externalIP equal to another Service's ClusterIP, or in the service CIDR, is refused", () => {
  const { registry, store } = newRegistry();
  const victim = registry.create(SERVICES, 'default', svc('victim', {}));
  const ip = (victim.spec as { clusterIP: string }).clusterIP;
  let causes = invalidCauses(() => registry.create(SERVICES, 'default', svc('thief', { externalIPs: [ip] })));
  assert.match(
    causeFor(causes, 'spec.externalIPs[0]').message!,
    /may not be in the service CIDR 10\.96\.0\.0\/16/,
  );
  causes = invalidCauses(() =>
    registry.create(SERVICES, 'default', svc('thief', { externalIPs: ['10.96.200.200', '127.0.0.1'] })),
  );
  assert.equal(causes.length, 2, JSON.stringify(causes));
  assert.equal(store.get('services', 'default', 'thief'), undefined);
  // Updates are held to it as well.
  const ok = registry.create(SERVICES, 'default', svc('ext', { externalIPs: ['192.0.2.10'] }));
  causes = invalidCauses(() =>
    registry.update(SERVICES, 'default', 'ext', {
      ...ok,
      spec: { ...(ok.spec as object), externalIPs: [ip] },
    }),
  );
  assert.equal(causeFor(causes, 'spec.externalIPs[0]').reason, 'FieldValueInvalid');
});

test('DenyServiceExternalIPs: any new externalIP is 403; keeping or dropping existing ones passes', () => {
  const { registry: open, allocators } = newRegistry();
  const existing = open.create(SERVICES, 'default', svc('ext', { externalIPs: ['192.0.2.10'] }));
  const denying = new Registry(open.store, createStrategies({ denyServiceExternalIPs: true }), allocators);
  const e = expectApiError(
    () => denying.create(SERVICES, 'default', svc('new', { externalIPs: ['192.0.2.11'] })),
    'Forbidden',
  );
  assert.equal(e.httpCode, 403);
  assert.match(e.message, /use of external IPs is denied by admission control/);
  assert.equal(open.store.get('services', 'default', 'new'), undefined);
  denying.create(SERVICES, 'default', svc('plain', {}));
  const spec = existing.spec as Record<string, unknown>;
  expectApiError(
    () =>
      denying.update(SERVICES, 'default', 'ext', {
        ...existing,
        spec: { ...spec, externalIPs: ['192.0.2.10', '192.0.2.12'] },
      }),
    'Forbidden',
  );
  const kept = denying.update(SERVICES, 'default', 'ext', {
    ...existing,
    metadata: { ...existing.metadata, labels: { a: 'b' } },
  });
  assert.deepEqual((kept.spec as { externalIPs: string[] }).externalIPs, ['192.0.2.10']);
  const dropped = denying.update(SERVICES, 'default', 'ext', {
    ...kept,
    spec: { ...(kept.spec as object), externalIPs: [] },
  });
  assert.deepEqual((dropped.spec as { externalIPs: string[] }).externalIPs, []);
});
