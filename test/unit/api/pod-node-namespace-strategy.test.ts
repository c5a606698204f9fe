import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Namespace, Node, Pod } from '../../../dataplane/api/types.ts';
import { causeFor, invalidCauses, NAMESPACES, newRegistry, NODES, PODS } from './strategy-fixture.ts';

function pod(name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { metadata: { name }, spec, ...extra };
}

const web = { name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80, name: 'http' }] };

test('pods get upstream defaults and start Pending', () => {
  const { registry } = newRegistry();
  const p = registry.create(
    PODS,
    'default',
    pod('p', { containers: [web, { name: 'side', image: 'busybox' }] }),
  ) as Pod;
  assert.equal(p.spec.restartPolicy, 'Always');
  assert.equal(p.spec.terminationGracePeriodSeconds, 30);
  assert.equal(p.spec.dnsPolicy, 'ClusterFirst');
  assert.equal(p.spec.containers[0].ports![0].protocol, 'TCP');
  assert.equal(p.spec.containers[0].imagePullPolicy, 'IfNotPresent');
  assert.equal(p.spec.containers[1].imagePullPolicy, 'Always', 'an untagged image is pulled always');
  assert.equal(p.status?.phase, 'Pending');
  const host = registry.create(PODS, 'default', pod('h', { hostNetwork: true, containers: [web] })) as Pod;
  assert.equal(
    host.spec.containers[0].ports![0].hostPort,
    80,
    'on the host network the host port is the container port',
  );
});

test('pod validation: containers, names, ports, protocols, enums', () => {
  const { registry } = newRegistry();
  assert.equal(
    causeFor(
      invalidCauses(() => registry.create(PODS, 'default', pod('e', {}))),
      'spec.containers',
    ).reason,
    'FieldValueRequired',
  );
  const causes = invalidCauses(() =>
    registry.create(
      PODS,
      'default',
      pod('bad', {
        restartPolicy: 'Sometimes',
        hostNetwork: 'yes',
        containers: [
          {
            name: 'Web_1',
            image: 'x',
            ports: [{ containerPort: 0 }, { containerPort: 80, protocol: 'ICMP' }],
          },
          {
            name: 'dup',
            image: 'x',
            ports: [{ containerPort: 8080 }, { containerPort: 8080, name: 'x--y' }],
          },
          {
            name: 'dup',
            image: 'x',
            ports: [
              { containerPort: 1, hostPort: 9000 },
              { containerPort: 2, hostPort: 9000 },
            ],
          },
          { name: 'noimage' },
        ],
      }),
    ),
  );
  const msg = (f: string) => causeFor(causes, f).message;
  assert.equal(causeFor(causes, 'spec.containers[0].name').reason, 'FieldValueInvalid');
  assert.equal(
    msg('spec.containers[0].ports[0].containerPort'),
    'Invalid value: 0: must be between 1 and 65535, inclusive',
  );
  assert.equal(causeFor(causes, 'spec.containers[0].ports[1].protocol').reason, 'FieldValueNotSupported');
  assert.equal(
    msg('spec.containers[1].ports[1]'),
    'Duplicate value: {"containerPort":8080,"protocol":"TCP"}',
  );
  assert.equal(
    msg('spec.containers[1].ports[1].name'),
    'Invalid value: "x--y": must not contain consecutive hyphens',
  );
  assert.equal(msg('spec.containers[2].name'), 'Duplicate value: "dup"');
  assert.equal(msg('spec.containers[2].ports[1].hostPort'), 'Duplicate value: "9000/TCP"');
  assert.equal(causeFor(causes, 'spec.containers[3].image').reason, 'FieldValueRequired');
  assert.equal(causeFor(causes, 'spec.restartPolicy').reason, 'FieldValueNotSupported');
  assert.equal(msg('spec.hostNetwork'), 'Invalid value: "yes": must be a boolean');
});

test('pod updates: images may change, nodeName set once, the rest is immutable', () => {
  const { registry } = newRegistry();
  registry.create(
    PODS,
    'default',
    pod('p', { containers: [web], tolerations: [{ key: 'a', operator: 'Exists' }] }),
  );
  const bound = registry.patch(PODS, 'default', 'p', 'merge', { spec: { nodeName: 'node-1' } }) as Pod;
  assert.equal(bound.spec.nodeName, 'node-1');
  const moved = invalidCauses(() =>
    registry.patch(PODS, 'default', 'p', 'merge', { spec: { nodeName: 'node-2' } }),
  );
  assert.equal(causeFor(moved, 'spec.nodeName').reason, 'FieldValueInvalid');
  const img = registry.patch(PODS, 'default', 'p', 'strategic', {
    spec: {
      containers: [{ name: 'web', image: 'nginx:1.28' }],
      tolerations: [
        { key: 'a', operator: 'Exists' },
        { key: 'b', operator: 'Exists' },
      ],
    },
  }) as Pod;
  assert.equal(img.spec.containers[0].image, 'nginx:1.28');
  const fixed = invalidCauses(() =>
    registry.patch(PODS, 'default', 'p', 'strategic', {
      spec: { containers: [{ name: 'web', ports: [{ containerPort: 81 }] }] },
    }),
  );
  const c = causeFor(fixed, 'spec');
  assert.equal(c.reason, 'FieldValueForbidden');
  assert.match(c.message!, /^Forbidden: pod updates may not change fields other than/);
  const dropped = invalidCauses(() =>
    registry.patch(PODS, 'default', 'p', 'merge', { spec: { tolerations: [] } }),
  );
  assert.equal(causeFor(dropped, 'spec').reason, 'FieldValueForbidden', 'tolerations may only be added');
  // Metadata and status stay free to change.
  registry.patch(PODS, 'default', 'p', 'merge', { metadata: { labels: { app: 'web' } } });
  const st = registry.patch(
    PODS,
    'default',
    'p',
    'merge',
    { status: { phase: 'Running', podIP: '10.244.1.5' } },
    'status',
  ) as Pod;
  assert.deepEqual(st.status?.podIPs, [{ ip: '10.244.1.5' }]);
  const badIP = invalidCauses(() =>
    registry.patch(
      PODS,
      'default',
      'p',
      'merge',
      { status: { podIP: '10.244.1.500', podIPs: null } },
      'status',
    ),
  );
  assert.equal(
    causeFor(badIP, 'status.podIP').message,
    'Invalid value: "10.244.1.500": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  );
});

test('nodes: pod CIDR set once, valid CIDRs, address types', () => {
  const { registry } = newRegistry();
  registry.create(NODES, '', {
    metadata: { name: 'n1' },
    status: { addresses: [{ type: 'InternalIP', address: '198.18.0.2' }] },
  });
  const withCIDR = registry.patch(NODES, '', 'n1', 'merge', { spec: { podCIDR: '10.244.1.0/24' } }) as Node;
  assert.deepEqual(withCIDR.spec?.podCIDRs, ['10.244.1.0/24']);
  const changed = invalidCauses(() =>
    registry.patch(NODES, '', 'n1', 'merge', {
      spec: { podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24'] },
    }),
  );
  assert.equal(causeFor(changed, 'spec.podCIDRs').reason, 'FieldValueForbidden');
  const bad = invalidCauses(() =>
    registry.create(NODES, '', { metadata: { name: 'n2' }, spec: { podCIDR: '10.244.1.0/33' } }),
  );
  assert.equal(
    causeFor(bad, 'spec.podCIDRs[0]').message,
    'Invalid value: "10.244.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  );
  const addr = invalidCauses(() =>
    registry.update(
      NODES,
      '',
      'n1',
      { ...withCIDR, status: { addresses: [{ type: 'PrivateIP', address: '1.2.3.4' }] } },
      'status',
    ),
  );
  assert.equal(causeFor(addr, 'status.addresses[0].type').reason, 'FieldValueNotSupported');
});

test('namespaces: kubernetes finalizer and phase Active on create; the finalizer does not come back', () => {
  const { registry } = newRegistry();
  const ns = registry.create(NAMESPACES, '', { metadata: { name: 'team-a' } }) as Namespace;
  assert.deepEqual(ns.spec?.finalizers, ['kubernetes']);
  assert.equal(ns.status?.phase, 'Active');
  const cleared = registry.update(NAMESPACES, '', 'team-a', {
    metadata: { name: 'team-a' },
    spec: {},
  }) as Namespace;
  assert.equal(cleared.spec?.finalizers, undefined);
  assert.equal(cleared.status?.phase, 'Active');
  registry.create(NAMESPACES, '', { metadata: { name: 'team-c' } });
  const terminating = registry.delete(NAMESPACES, '', 'team-c') as Namespace;
  assert.equal(terminating.status?.phase, 'Terminating');
  assert.ok(terminating.metadata.deletionTimestamp);
  // The namespace controller's last step: drop the finalizer, and the namespace is gone.
  registry.update(NAMESPACES, '', 'team-c', { ...terminating, spec: { finalizers: [] } });
  assert.throws(() => registry.get(NAMESPACES, '', 'team-c'), /not found/);
  const bad = invalidCauses(() => registry.create(NAMESPACES, '', { metadata: { name: 'Team_B' } }));
  assert.equal(causeFor(bad, 'metadata.name').reason, 'FieldValueInvalid');
});
