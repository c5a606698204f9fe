import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Service } from '../../../dataplane/api/types.ts';
import { causeFor, expectApiError, invalidCauses, newRegistry, SERVICES } from './strategy-fixture.ts';

function svc(name: string, spec: Record<string, unknown>): unknown {
  return { metadata: { name }, spec };
}

test('a ClusterIP Service gets upstream defaults and a cluster IP', () => {
  const { registry, allocators } = newRegistry();
  const s = registry.create(
    SERVICES,
    'default',
    svc('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }),
  ) as Service;
  const spec = s.spec;
  assert.equal(spec.type, 'ClusterIP');
  assert.equal(spec.sessionAffinity, 'None');
  assert.deepEqual(spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
  assert.deepEqual(spec.ipFamilies, ['IPv4']);
  assert.equal(spec.ipFamilyPolicy, 'SingleStack');
  assert.equal(spec.internalTrafficPolicy, 'Cluster');
  assert.equal(spec.externalTrafficPolicy, undefined);
  assert.match(spec.clusterIP!, /^10\.96\.\d+\.\d+$/);
  assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
  assert.ok(allocators.clusterIP.has(spec.clusterIP!));
});

test('ClientIP affinity, LoadBalancer and NodePort defaults', () => {
  const { registry } = newRegistry();
  const lb = registry.create(
    SERVICES,
    'default',
    svc('lb', {
      type: 'LoadBalancer',
      sessionAffinity: 'ClientIP',
      ports: [{ port: 443, targetPort: 'https' }],
    }),
  ) as Service;
  assert.equal(lb.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds, 10800);
  assert.equal(lb.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
  assert.equal(lb.spec.ports![0].targetPort, 'https');
  assert.ok(lb.spec.ports![0].nodePort! >= 30000 && lb.spec.ports![0].nodePort! <= 32767);
  assert.equal(lb.spec.healthCheckNodePort, undefined, 'Cluster policy needs no health check port');
  const ext = registry.create(
    SERVICES,
    'default',
    svc('ext', { externalIPs: ['198.18.0.100'], ports: [{ port: 80 }] }),
  ) as Service;
  assert.equal(
    ext.spec.externalTrafficPolicy,
    'Cluster',
    'a ClusterIP with external IPs is externally accessible',
  );
});

test('a requested cluster IP is honoured; a taken or foreign one is refused with the reason', () => {
  const { registry, allocators } = newRegistry();
  const s = registry.create(
    SERVICES,
    'default',
    svc('dns', { clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }] }),
  ) as Service;
  assert.equal(s.spec.clusterIP, '10.96.0.10');
  assert.deepEqual(s.spec.clusterIPs, ['10.96.0.10']);
  const free = allocators.clusterIP.free;
  let c = causeFor(
    invalidCauses(() =>
      registry.create(SERVICES, 'default', svc('dns2', { clusterIP: '10.96.0.10', ports: [{ port: 53 }] })),
    ),
    'spec.clusterIPs',
  );
  assert.equal(c.reason, 'FieldValueInvalid');
  assert.equal(
    c.message,
    'Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: provided IP is already allocated',
  );
  c = causeFor(
    invalidCauses(() =>
      registry.create(SERVICES, 'default', svc('far', { clusterIP: '10.0.0.1', ports: [{ port: 53 }] })),
    ),
    'spec.clusterIPs',
  );
  assert.match(
    c.message!,
    /provided IP is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/16$/,
  );
  assert.equal(allocators.clusterIP.free, free, 'refusals allocate nothing');
});

test('headless and ExternalName Services allocate no cluster IP', () => {
  const { registry, allocators } = newRegistry();
  const free = allocators.clusterIP.free;
  const h = registry.create(
    SERVICES,
    'default',
    svc('h', { clusterIP: 'None', selector: { app: 'db' } }),
  ) as Service;
  assert.equal(h.spec.clusterIP, 'None');
  assert.deepEqual(h.spec.clusterIPs, ['None']);
  const e = registry.create(
    SERVICES,
    'default',
    svc('e', { type: 'ExternalName', externalName: 'db.example.com.' }),
  ) as Service;
  assert.equal(e.spec.clusterIP, undefined);
  assert.equal(e.spec.ipFamilies, undefined);
  assert.equal(allocators.clusterIP.free, free);
  const causes = invalidCauses(() =>
    registry.create(SERVICES, 'default', svc('e2', { type: 'ExternalName', clusterIP: '10.96.0.50' })),
  );
  assert.equal(causeFor(causes, 'spec.externalName').reason, 'FieldValueRequired');
  assert.equal(
    causeFor(causes, 'spec.clusterIP').message,
    'Forbidden: may not be set for ExternalName services',
  );
});

test('a failed create gives back the cluster IP and node ports it took', () => {
  const { registry, allocators } = newRegistry();
  registry.create(SERVICES, 'default', svc('web', { type: 'NodePort', ports: [{ port: 80 }] }));
  const ips = allocators.clusterIP.free;
  const ports = allocators.nodePort.free;
  // AlreadyExists comes from the store, after the allocations.
  expectApiError(
    () =>
      registry.create(
        SERVICES,
        'default',
        svc('web', { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ port: 80, nodePort: 30080 }] }),
      ),
    'AlreadyExists',
  );
  assert.equal(allocators.clusterIP.free, ips);
  assert.equal(allocators.nodePort.free, ports);
  assert.ok(!allocators.clusterIP.has('10.96.0.20'));
  assert.ok(!allocators.nodePort.has(30080));
  // A second requested node port that is refused releases the first one and the IP.
  registry.create(
    SERVICES,
    'default',
    svc('holder', { type: 'NodePort', ports: [{ port: 80, nodePort: 30090 }] }),
  );
  const before = { ips: allocators.clusterIP.free, ports: allocators.nodePort.free };
  const c = causeFor(
    invalidCauses(() =>
      registry.create(
        SERVICES,
        'default',
        svc('two', {
          type: 'NodePort',
          ports: [
            { name: 'a', port: 80, nodePort: 30091 },
            { name: 'b', port: 81, nodePort: 30090 },
          ],
        }),
      ),
    ),
    'spec.ports[1].nodePort',
  );
  assert.equal(c.message, 'Invalid value: 30090: provided port is already allocated');
  assert.deepEqual({ ips: allocators.clusterIP.free, ports: allocators.nodePort.free }, before);
  assert.ok(!allocators.nodePort.has(30091));
});

test('dry-run create shows the allocation but keeps nothing', () => {
  const { registry, allocators, store } = newRegistry();
  const s = registry.create(SERVICES, 'default', svc('dry', { type: 'NodePort', ports: [{ port: 80 }] }), {
    dryRun: true,
  }) as Service;
  assert.ok(s.spec.clusterIP && s.spec.ports![0].nodePort);
  assert.ok(!allocators.clusterIP.has(s.spec.clusterIP!));
  assert.ok(!allocators.nodePort.has(s.spec.ports![0].nodePort!));
  assert.equal(store.get('services', 'default', 'dry'), undefined);
});

test('node ports: requested ones honoured, out of range refused, shared across protocols, released on delete', () => {
  const { registry, allocators } = newRegistry();
  const s = registry.create(
    SERVICES,
    'default',
    svc('dns', {
      type: 'NodePort',
      ports: [
        { name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30053 },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
        { name: 'metrics', port: 9153 },
      ],
    }),
  ) as Service;
  const [tcp, udp, metrics] = s.spec.ports!;
  assert.equal(tcp.nodePort, 30053);
  assert.equal(udp.nodePort, 30053, 'the same port number on another protocol shares the node port');
  assert.ok(metrics.nodePort && metrics.nodePort !== 30053);
  assert.ok(allocators.nodePort.has(30053) && allocators.nodePort.has(metrics.nodePort));
  const c = causeFor(
    invalidCauses(() =>
      registry.create(
        SERVICES,
        'default',
        svc('low', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }),
      ),
    ),
    'spec.ports[0].nodePort',
  );
  assert.equal(
    c.message,
    'Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
  );
  registry.delete(SERVICES, 'default', 'dns');
  assert.ok(!allocators.nodePort.has(30053));
  assert.ok(!allocators.nodePort.has(metrics.nodePort));
  assert.ok(!allocators.clusterIP.has(s.spec.clusterIP!));
});

test('LoadBalancer with externalTrafficPolicy Local gets a health check node port', () => {
  const { registry, allocators } = newRegistry();
  const s = registry.create(
    SERVICES,
    'default',
    svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
  ) as Service;
  const hc = s.spec.healthCheckNodePort!;
  assert.ok(hc >= 30000 && hc !== s.spec.ports![0].nodePort);
  assert.ok(allocators.nodePort.has(hc));
  // Switching to Cluster drops the health check port and releases it.
  registry.patch(SERVICES, 'default', 'lb', 'merge', { spec: { externalTrafficPolicy: 'Cluster' } });
  assert.ok(!allocators.nodePort.has(hc));
  assert.equal((registry.get(SERVICES, 'default', 'lb') as Service).spec.healthCheckNodePort, undefined);
});

test('type changes allocate and release node ports', () => {
  const { registry, allocators } = newRegistry();
  const created = registry.create(SERVICES, 'default', svc('web', { ports: [{ port: 80 }] })) as Service;
  const ip = created.spec.clusterIP!;
  const np = registry.patch(SERVICES, 'default', 'web', 'strategic', {
    spec: { type: 'NodePort' },
  }) as Service;
  const nodePort = np.spec.ports![0].nodePort!;
  assert.ok(allocators.nodePort.has(nodePort));
  assert.equal(np.spec.clusterIP, ip, 'the cluster IP stays');
  assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
  // Adding a port allocates one more node port; the existing one is kept.
  const two = registry.patch(SERVICES, 'default', 'web', 'json', [
    { op: 'add', path: '/spec/ports/0/name', value: 'http' },
    { op: 'add', path: '/spec/ports/-', value: { name: 'https', port: 443 } },
  ]) as Service;
  assert.equal(two.spec.ports![0].nodePort, nodePort);
  const second = two.spec.ports![1].nodePort!;
  assert.ok(allocators.nodePort.has(second));
  // Removing it releases it.
  registry.patch(SERVICES, 'default', 'web', 'json', [{ op: 'remove', path: '/spec/ports/1' }]);
  assert.ok(!allocators.nodePort.has(second));
  assert.ok(allocators.nodePort.has(nodePort));
  // Back to ClusterIP: the node port goes and is released.
  const back = registry.patch(SERVICES, 'default', 'web', 'merge', {
    spec: { type: 'ClusterIP' },
  }) as Service;
  assert.equal(back.spec.ports![0].nodePort, undefined);
  assert.equal(back.spec.externalTrafficPolicy, undefined);
  assert.ok(!allocators.nodePort.has(nodePort));
  assert.ok(allocators.clusterIP.has(ip));
});

test('ClusterIP <-> ExternalName releases and allocates the cluster IP', () => {
  const { registry, allocators } = newRegistry();
  const s = registry.create(SERVICES, 'default', svc('x', { ports: [{ port: 80 }] })) as Service;
  const ip = s.spec.clusterIP!;
  const e = registry.patch(SERVICES, 'default', 'x', 'merge', {
    spec: { type: 'ExternalName', externalName: 'example.com' },
  }) as Service;
  assert.equal(e.spec.clusterIP, undefined);
  assert.equal(e.spec.clusterIPs, undefined);
  assert.ok(!allocators.clusterIP.has(ip));
  const c = registry.patch(SERVICES, 'default', 'x', 'merge', {
    spec: { type: 'ClusterIP', externalName: null },
  }) as Service;
  assert.match(c.spec.clusterIP!, /^10\.96\./);
  assert.ok(allocators.clusterIP.has(c.spec.clusterIP!));
});

test('update keeps allocations the client left out, and clusterIP is immutable', () => {
  const { registry, allocators } = newRegistry();
  const s = registry.create(
    SERVICES,
    'default',
    svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80 }] }),
  ) as Service;
  // A PUT of the original manifest (as kubectl replace sends it) keeps the IP and the node port.
  const put = registry.update(SERVICES, 'default', 'web', {
    metadata: { name: 'web', resourceVersion: s.metadata.resourceVersion },
    spec: { type: 'NodePort', ports: [{ name: 'http', port: 80 }], selector: { app: 'web' } },
  }) as Service;
  assert.equal(put.spec.clusterIP, s.spec.clusterIP);
  assert.equal(put.spec.ports![0].nodePort, s.spec.ports![0].nodePort);
  const free = allocators.nodePort.free;
  const causes = invalidCauses(() =>
    registry.patch(SERVICES, 'default', 'web', 'merge', {
      spec: { clusterIP: '10.96.0.99', clusterIPs: ['10.96.0.99'] },
    }),
  );
  const c = causeFor(causes, 'spec.clusterIP');
  assert.equal(c.message, 'Invalid value: "10.96.0.99": field is immutable');
  assert.ok(!allocators.clusterIP.has('10.96.0.99'));
  assert.equal(allocators.nodePort.free, free);
});

test('a failed update gives back the node ports it took', () => {
  const { registry, allocators } = newRegistry();
  const s = registry.create(SERVICES, 'default', svc('web', { ports: [{ port: 80 }] })) as Service;
  const free = allocators.nodePort.free;
  // Conflict comes from the store after allocation: a stale resourceVersion.
  registry.patch(SERVICES, 'default', 'web', 'merge', { metadata: { labels: { a: 'b' } } });
  expectApiError(
    () =>
      registry.update(SERVICES, 'default', 'web', {
        ...s,
        spec: { ...s.spec, type: 'NodePort', ports: [{ port: 80, nodePort: 30500 }] },
      }),
    'Conflict',
  );
  assert.equal(allocators.nodePort.free, free);
  assert.ok(!allocators.nodePort.has(30500));
  // Dry run likewise.
  const dry = registry.patch(SERVICES, 'default', 'web', 'merge', { spec: { type: 'NodePort' } }, undefined, {
    dryRun: true,
  }) as Service;
  assert.ok(dry.spec.ports![0].nodePort);
  assert.equal(allocators.nodePort.free, free);
});

test('validation: upstream field paths, reasons and wording', () => {
  const { registry, allocators } = newRegistry();
  const free = allocators.clusterIP.free;
  const causes = invalidCauses(() =>
    registry.create(
      SERVICES,
      'default',
      svc('bad', {
        type: 'ClusterIP',
        selector: { 'bad key!': 'x' },
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 90000 } },
        externalIPs: ['1.2.3', '127.0.0.1'],
        ports: [
          { port: 70000 },
          { name: 'a', port: 80, protocol: 'ICMP', targetPort: 'Not_A_Name' },
          { name: 'a', port: 80, protocol: 'ICMP', nodePort: 30001 },
        ],
      }),
    ),
  );
  const msg = (f: string) => causeFor(causes, f).message;
  const reason = (f: string) => causeFor(causes, f).reason;
  assert.equal(msg('spec.ports[0].port'), 'Invalid value: 70000: must be between 1 and 65535, inclusive');
  assert.equal(reason('spec.ports[0].name'), 'FieldValueRequired');
  assert.equal(reason('spec.ports[1].protocol'), 'FieldValueNotSupported');
  assert.equal(
    msg('spec.ports[1].protocol'),
    'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
  );
  assert.equal(reason('spec.ports[1].targetPort'), 'FieldValueInvalid');
  assert.equal(msg('spec.ports[2].name'), 'Duplicate value: "a"');
  assert.equal(reason('spec.ports[2]'), 'FieldValueDuplicate');
  assert.equal(msg('spec.ports[2].nodePort'), "Forbidden: may not be used when `type` is 'ClusterIP'");
  assert.equal(reason('spec.selector'), 'FieldValueInvalid');
  assert.equal(
    msg('spec.sessionAffinityConfig.clientIP.timeoutSeconds'),
    'Invalid value: 90000: must be greater than 0 and less than 86400',
  );
  assert.equal(
    msg('spec.externalIPs[0]'),
    'Invalid value: "1.2.3": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  );
  assert.match(msg('spec.externalIPs[1]') ?? '', /loopback/);
  assert.equal(allocators.clusterIP.free, free, 'an invalid Service allocates nothing');

  const more = invalidCauses(() =>
    registry.create(
      SERVICES,
      'default',
      svc('bad2', { type: 'Magic', clusterIP: 'abc', sessionAffinity: 'Sticky' }),
    ),
  );
  assert.equal(
    causeFor(more, 'spec.type').message,
    'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  );
  assert.equal(causeFor(more, 'spec.ports').message, 'Required value');
  assert.equal(causeFor(more, 'spec.clusterIPs[0]').reason, 'FieldValueInvalid');
  assert.equal(causeFor(more, 'spec.sessionAffinity').reason, 'FieldValueNotSupported');

  const policy = invalidCauses(() =>
    registry.create(
      SERVICES,
      'default',
      svc('p', { externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Nearby', ports: [{ port: 1 }] }),
    ),
  );
  assert.equal(
    causeFor(policy, 'spec.externalTrafficPolicy').message,
    'Invalid value: "Local": may only be set for externally-accessible services',
  );
  assert.equal(causeFor(policy, 'spec.internalTrafficPolicy').reason, 'FieldValueNotSupported');
});

test('status: load balancer ingress IPs must be valid', () => {
  const { registry } = newRegistry();
  const s = registry.create(
    SERVICES,
    'default',
    svc('lb', { type: 'LoadBalancer', ports: [{ port: 80 }] }),
  ) as Service;
  const causes = invalidCauses(() =>
    registry.update(
      SERVICES,
      'default',
      'lb',
      { ...s, status: { loadBalancer: { ingress: [{ ip: '300.1.1.1' }] } } },
      'status',
    ),
  );
  assert.equal(causeFor(causes, 'status.loadBalancer.ingress[0].ip').reason, 'FieldValueInvalid');
  const ok = registry.update(
    SERVICES,
    'default',
    'lb',
    { ...s, status: { loadBalancer: { ingress: [{ ip: '198.18.1.1' }] } } },
    'status',
  ) as Service;
  assert.deepEqual(ok.status, { loadBalancer: { ingress: [{ ip: '198.18.1.1' }] } });
  assert.deepEqual(ok.spec, s.spec);
});

test('allocators rebuilt from the store match what the registry allocated', () => {
  const { registry, allocators, store } = newRegistry();
  registry.create(SERVICES, 'default', svc('a', { type: 'NodePort', ports: [{ port: 80 }] }));
  registry.create(SERVICES, 'default', svc('b', { clusterIP: '10.96.0.10', ports: [{ port: 53 }] }));
  const ips = allocators.clusterIP.free;
  const ports = allocators.nodePort.free;
  allocators.rebuild(store.list('services').items as Service[]);
  assert.equal(allocators.clusterIP.free, ips);
  assert.equal(allocators.nodePort.free, ports);
});
