/**
 * stagePlan: ops that use a link made in another namespace wait one stage, each namespace keeps
 * its order, and a namespace runs as one group where it can, so a cluster bring-up takes three
 * stages and one batch per namespace. toolRuns splits iproute2 and sysctl work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkPlan, stagePlan, toolRuns } from '../../../dataplane/kernel/network-plan.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { exampleLayout } from '../../../dataplane/cluster/testing/example-layout.ts';

const kinds = (ops: { kind: string }[]) => ops.map((o) => o.kind);

test('a veth peer configured in its namespace waits for the stage that creates it', () => {
  const plan = new NetworkPlan()
    .addVeth({ ns: 'kdp-x-node', name: 'veth1', peerNs: 'kdp-x-pod', peerName: 'eth0' })
    .setLink('kdp-x-node', 'veth1', { up: true })
    .setLink('kdp-x-pod', 'eth0', { up: true })
    .addAddress('kdp-x-pod', 'eth0', '10.0.0.2/24');
  const stages = stagePlan(plan);
  assert.equal(stages.length, 2);
  assert.deepEqual(
    stages[0].map((g) => [g.ns, kinds(g.ops)]),
    [['kdp-x-node', ['veth.add', 'link.set']]],
  );
  assert.deepEqual(
    stages[1].map((g) => [g.ns, kinds(g.ops)]),
    [['kdp-x-pod', ['link.set', 'addr.add']]],
  );
});

test("an op with no dependency joins its namespace's later group instead of making its own", () => {
  const plan = new NetworkPlan()
    .setLink('kdp-x-pod', 'lo', { up: true })
    .addVeth({ ns: 'kdp-x-node', name: 'veth1', peerNs: 'kdp-x-pod', peerName: 'eth0' })
    .setLink('kdp-x-pod', 'eth0', { up: true });
  const stages = stagePlan(plan);
  assert.equal(stages.length, 2);
  assert.deepEqual(stages[1], [
    {
      ns: 'kdp-x-pod',
      ops: [
        { kind: 'link.set', ns: 'kdp-x-pod', name: 'lo', up: true },
        { kind: 'link.set', ns: 'kdp-x-pod', name: 'eth0', up: true },
      ],
    },
  ]);
});

test('an op stays early when another namespace needs what it makes', () => {
  // B's link goes to C, which C configures; B's later op depends on A. B must split.
  const plan = new NetworkPlan()
    .addVeth({ ns: 'kdp-x-b', name: 'v1', peerNs: 'kdp-x-c', peerName: 'eth0' })
    .setLink('kdp-x-c', 'eth0', { up: true })
    .addVeth({ ns: 'kdp-x-a', name: 'v2', peerNs: 'kdp-x-b', peerName: 'up0' })
    .setLink('kdp-x-b', 'up0', { up: true });
  const stages = stagePlan(plan).map((s) => s.map((g) => `${g.ns}:${kinds(g.ops).join(',')}`));
  assert.deepEqual(stages, [
    ['kdp-x-b:veth.add', 'kdp-x-a:veth.add'],
    ['kdp-x-c:link.set', 'kdp-x-b:link.set'],
  ]);
});

test('a link moved into a namespace is used there only after the move', () => {
  const plan = new NetworkPlan()
    .addBridge('kdp-x-a', 'br9')
    .moveLink('kdp-x-a', 'br9', 'kdp-x-b')
    .setLink('kdp-x-b', 'br9', { up: true });
  assert.deepEqual(
    stagePlan(plan).map((s) => s.map((g) => g.ns)),
    [['kdp-x-a'], ['kdp-x-b']],
  );
});

test('per-link sysctls wait for their link; global ones do not', () => {
  const plan = new NetworkPlan()
    .addVeth({ ns: 'kdp-x-a', name: 'v1', peerNs: 'kdp-x-b', peerName: 'eth0' })
    .setSysctl('kdp-x-b', 'net.ipv4.conf.eth0.rp_filter', '0')
    .setSysctl('kdp-x-c', 'net.ipv4.ip_forward', '1');
  const stages = stagePlan(plan).map((s) => s.map((g) => g.ns));
  assert.deepEqual(stages, [['kdp-x-a', 'kdp-x-c'], ['kdp-x-b']]);
});

test('a cluster plan is three stages with one group per namespace', () => {
  const topology = resolveTopology({ cluster: 'c1', nodes: 3, podsPerNode: 4 });
  const { plan, namespaces } = exampleLayout(topology, { hostGw: true });
  const stages = stagePlan(plan);
  assert.equal(stages.length, 3);
  assert.deepEqual(
    stages[0].map((g) => g.ns),
    ['kdp-c1-fabric'],
  );
  assert.deepEqual(
    stages[1].map((g) => g.ns),
    ['kdp-c1-node-1', 'kdp-c1-node-2', 'kdp-c1-node-3'],
  );
  assert.equal(stages[2].length, 12);
  const groupsPerNs = new Map<string, number>();
  for (const s of stages) for (const g of s) groupsPerNs.set(g.ns, (groupsPerNs.get(g.ns) ?? 0) + 1);
  assert.deepEqual([...groupsPerNs.keys()].sort(), [...namespaces].sort());
  assert.ok([...groupsPerNs.values()].every((n) => n === 1));
  // Every op is kept, in namespace order.
  const flattened = stages.flat().flatMap((g) => g.ops);
  assert.equal(flattened.length, plan.ops.length);
  for (const ns of namespaces) {
    assert.deepEqual(
      flattened.filter((o) => o.ns === ns),
      plan.ops.filter((o) => o.ns === ns),
    );
  }
});

test('toolRuns splits a group where it switches between iproute2 and sysctl', () => {
  const plan = new NetworkPlan()
    .setSysctl('kdp-x-a', 'net.ipv4.ip_forward', '1')
    .setSysctl('kdp-x-a', 'net.ipv4.conf.all.rp_filter', '0')
    .setLink('kdp-x-a', 'lo', { up: true })
    .addBridge('kdp-x-a', 'br0')
    .setSysctl('kdp-x-a', 'net.ipv4.conf.br0.proxy_arp', '1');
  assert.deepEqual(toolRuns(plan.ops).map(kinds), [
    ['sysctl.set', 'sysctl.set'],
    ['link.set', 'bridge.add'],
    ['sysctl.set'],
  ]);
});
