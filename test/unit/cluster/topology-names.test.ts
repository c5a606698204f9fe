/**
 * Derived names and the address plan: namespace names under the cluster prefix, interface names
 * within the kernel's 15 characters for the largest topology, long pod names shortened with a
 * hash, and node/pod addresses in the documented order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CLUSTER_NAME_LENGTH, MAX_NODES, resolveTopology } from '../../../dataplane/cluster/topology.ts';
import {
  clusterPrefix,
  fabricNamespace,
  fabricPortName,
  nodeNamespace,
  podNamespace,
  podVethName,
  stateDir,
} from '../../../dataplane/cluster/topology-names.ts';
import { planAddresses } from '../../../dataplane/cluster/topology-addresses.ts';
import { assertKdpNamespace, validIfName } from '../../../dataplane/kernel/name-checks.ts';
import {
  cidrContains,
  cidrsOverlap,
  isNetworkCidr,
  nthAddress,
  nthSubnet,
  subnetCount,
} from '../../../dataplane/kernel/cidr.ts';

test('namespace names carry the cluster prefix and pass the kernel guard', () => {
  const cluster = 'c'.repeat(MAX_CLUSTER_NAME_LENGTH);
  const names = [
    fabricNamespace(cluster),
    nodeNamespace(cluster, MAX_NODES),
    podNamespace(cluster, 'default', 'web-0'),
  ];
  for (const n of names) {
    assert.ok(n.startsWith(clusterPrefix(cluster)));
    assertKdpNamespace(n, clusterPrefix(cluster), 'test');
  }
  assert.equal(nodeNamespace('lab', 3), 'kdp-lab-node-3');
  assert.equal(fabricNamespace('lab'), 'kdp-lab-fabric');
  assert.equal(podNamespace('lab', 'team-a', 'web.v1-0'), 'kdp-lab-pod-team-a.web.v1-0');
  assert.equal(stateDir('lab'), '/run/kdp/lab');
});

test('long pod names are shortened with a hash, staying distinct', () => {
  const a = podNamespace('lab', 'default', 'x'.repeat(200) + 'a');
  const b = podNamespace('lab', 'default', 'x'.repeat(200) + 'b');
  assert.ok(a.length <= 128 && b.length <= 128);
  assert.notEqual(a, b);
  assertKdpNamespace(a, 'kdp-lab-', 'test');
});

test('interface names fit 15 characters for the largest topology', () => {
  assert.equal(validIfName(fabricPortName(MAX_NODES)), undefined);
  const veth = podVethName('some-long-namespace-name', 'a'.repeat(253));
  assert.match(veth, /^veth[0-9a-f]{8}$/);
  assert.equal(validIfName(veth), undefined);
  assert.equal(podVethName('default', 'web'), podVethName('default', 'web'));
  assert.notEqual(podVethName('default', 'web'), podVethName('other', 'web'));
});

test('the address plan: node i gets underlay address i and the i-th pod subnet; pods from .2', () => {
  const plan = planAddresses(resolveTopology({ cluster: 'lab', nodes: 3, podsPerNode: 2 }));
  assert.deepEqual(
    plan.map((n) => [n.netns, n.underlayCidr, n.podCidr, n.gateway]),
    [
      ['kdp-lab-node-1', '198.18.0.1/16', '10.244.0.0/24', '10.244.0.1'],
      ['kdp-lab-node-2', '198.18.0.2/16', '10.244.1.0/24', '10.244.1.1'],
      ['kdp-lab-node-3', '198.18.0.3/16', '10.244.2.0/24', '10.244.2.1'],
    ],
  );
  assert.deepEqual(plan[2].pods[1], {
    name: 'pod-3-2',
    podNamespace: 'default',
    netns: 'kdp-lab-pod-default.pod-3-2',
    ip: '10.244.2.3',
    cidr: '10.244.2.3/24',
    veth: podVethName('default', 'pod-3-2'),
  });
  const full = planAddresses(resolveTopology({ nodes: 250, podsPerNode: 253 }));
  assert.equal(full[249].podCidr, '10.244.249.0/24');
  assert.equal(full[249].pods[252].ip, '10.244.249.254');
});

test('CIDR helpers', () => {
  assert.equal(isNetworkCidr('10.244.0.0/16'), true);
  assert.equal(isNetworkCidr('10.244.0.1/16'), false);
  assert.equal(isNetworkCidr('10.244.0.0'), false);
  assert.equal(cidrContains('10.244.1.0/24', '10.244.1.255'), true);
  assert.equal(cidrContains('10.244.1.0/24', '10.244.2.0'), false);
  assert.equal(cidrsOverlap('10.0.0.0/8', '10.244.0.0/16'), true);
  assert.equal(cidrsOverlap('10.96.0.0/16', '10.244.0.0/16'), false);
  assert.equal(nthSubnet('10.244.0.0/16', 24, 255), '10.244.255.0/24');
  assert.throws(() => nthSubnet('10.244.0.0/16', 24, 256), RangeError);
  assert.equal(nthAddress('198.18.0.0/16', 256), '198.18.1.0');
  assert.equal(subnetCount('10.244.0.0/16', 24), 256);
  assert.equal(subnetCount('10.244.0.0/16', 8), 0);
});
