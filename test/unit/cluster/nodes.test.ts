// Nodes added to and removed from a running cluster, against the kernel fake and stand-in agents:
// an added node gets the lowest free index (namespace, underlay address, fabric port), a Node
// object with a pod CIDR, an agent with the contract's arguments, and takes pods; a removed node's
// pods are drained, its agent stopped, its Node object, namespace, fabric port and state gone, and
// its index is free again. A node that cannot join leaves nothing; bad names are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, Pod } from '../../../dataplane/api/types.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { clusterPrefix, fabricNamespace, nodeNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { cidrContains } from '../../../dataplane/kernel/cidr.ts';
import { builderSetup } from './builder-fixture.ts';

test('a node is added while the cluster runs, takes pods, and is drained and removed', async () => {
  const { cluster, kernel, agents, stateDir, options } = builderSetup();
  await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 1 }, options);
  const nodes = c.client.resource<Node>('nodes');
  const fabricPorts = async () =>
    (await kernel.links.list(fabricNamespace(cluster))).filter((l) => l.master).map((l) => l.name);

  const added = await c.addNode();
  assert.deepEqual([added.name, added.index, added.underlayIp], ['node-3', 3, '198.18.0.3']);
  assert.equal(added.netns, nodeNamespace(cluster, 3));
  assert.equal(added.agent.state, 'running');
  const obj = await nodes.get('node-3');
  assert.equal(obj.spec?.podCIDR, added.podCidr);
  assert.ok(!c.nodes.slice(0, 2).some((n) => n.podCidr === added.podCidr));
  assert.equal(obj.metadata.labels?.['kdp.dev/cluster'], cluster);
  assert.deepEqual(obj.status?.addresses?.[0], { type: 'InternalIP', address: '198.18.0.3' });
  assert.deepEqual(await kernel.addresses.list(added.netns), [
    { dev: 'eth0', cidr: '198.18.0.3/16' },
    { dev: 'cni0', cidr: `${added.gateway}/24` },
  ]);
  assert.deepEqual(await fabricPorts(), ['fab-node-1', 'fab-node-2', 'fab-node-3']);
  assert.deepEqual(agents.spawned.at(-1)?.spec.stateDir, join(stateDir, 'nodes', 'node-3'));
  const record = () => JSON.parse(readFileSync(join(stateDir, 'cluster.json'), 'utf8'));
  assert.deepEqual(
    record().nodes.map((n: { name: string }) => n.name),
    ['node-1', 'node-2', 'node-3'],
  );

  const pod = await c.addPod('on-3', { node: 'node-3' });
  assert.ok(cidrContains(added.podCidr, pod.status!.podIP!));

  await c.removeNode('node-3');
  assert.equal(await c.client.resource<Pod>('pods').tryGet('on-3', 'default'), undefined);
  assert.equal(await nodes.tryGet('node-3'), undefined);
  assert.equal(agents.live.has('node-3'), false);
  assert.deepEqual(await kernel.netns.list(clusterPrefix(cluster)), [
    fabricNamespace(cluster),
    nodeNamespace(cluster, 1),
    nodeNamespace(cluster, 2),
  ]);
  assert.deepEqual(await fabricPorts(), ['fab-node-1', 'fab-node-2']);
  assert.equal(existsSync(join(stateDir, 'nodes', 'node-3')), false);
  assert.deepEqual(
    c.nodes.map((n) => n.name),
    ['node-1', 'node-2'],
  );
  assert.equal(record().nodes.length, 2);
  assert.deepEqual(
    (await c.pods({ namespace: 'default' })).map((p) => p.metadata.name),
    ['pod-1-1', 'pod-2-1'],
    'the other nodes keep their pods',
  );

  // The lowest free index is used again, here under another name; an existing node goes first.
  await c.removeNode('node-1');
  const again = await c.addNode({ name: 'edge' });
  assert.deepEqual([again.name, again.index, again.netns], ['edge', 1, nodeNamespace(cluster, 1)]);
  assert.equal((await c.addNode()).name, 'node-3');
});

test('bad or taken names are refused, an unknown node cannot be removed, and nothing changes', async () => {
  const { cluster, kernel, agents, options } = builderSetup();
  await using c = await Cluster.create({ cluster, nodes: 1, podsPerNode: 0 }, options);
  const spawned = agents.spawned.length;
  for (const name of ['node-1', 'Bad_Name']) {
    await assert.rejects(c.addNode({ name }), (e: unknown) => isKdpError(e, 'KDP_ERR_TOPOLOGY_INVALID'));
  }
  await assert.rejects(c.removeNode('node-9'), (e: unknown) => isKdpError(e, 'KDP_ERR_NO_SUCH_NODE'));
  assert.equal(agents.spawned.length, spawned);
  assert.equal((await kernel.netns.list(clusterPrefix(cluster))).length, 2);
  assert.equal((await c.client.resource<Node>('nodes').list()).items.length, 1);
});

test('a node whose agent never gets Ready is removed again, and the error says why', async () => {
  const { cluster, kernel, agents, stateDir, options } = builderSetup();
  await using c = await Cluster.create({ cluster, nodes: 1, podsPerNode: 0 }, options);
  agents.failNext('node-2', 1_000_000);
  await assert.rejects(c.addNode({ timeoutMs: 300 }), (e: unknown) => {
    assert.ok(isKdpError(e, 'KDP_ERR_CLUSTER_WAIT_TIMEOUT'), String(e));
    assert.match((e as Error).message, /not Ready: node-2/);
    return true;
  });
  assert.equal(await c.client.resource<Node>('nodes').tryGet('node-2'), undefined);
  assert.deepEqual(await kernel.netns.list(clusterPrefix(cluster)), [
    fabricNamespace(cluster),
    nodeNamespace(cluster, 1),
  ]);
  assert.equal(existsSync(join(stateDir, 'nodes', 'node-2')), false);
  assert.deepEqual(
    c.nodes.map((n) => n.name),
    ['node-1'],
  );
  assert.throws(
    () => c.agent('node-2'),
    (e: unknown) => isKdpError(e, 'KDP_ERR_NO_SUCH_NODE'),
  );
});
