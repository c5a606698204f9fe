/**
 * Nodes added to and removed from a running cluster, with the real kernel and agents: an added
 * node's pod answers a pod on an existing node (and the other way round) through the host-gw
 * routes and neighbour entries the existing agents program from the new Node; removing the node
 * drains its pod, and the other nodes' routes and entries for it go, its namespaces, processes,
 * fabric port and state are gone, and the other pods keep working. Closing leaves nothing and the
 * root namespace is unchanged.
 * Run as root: node --import tsx --test test/integration/cluster/nodes.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../../dataplane/api/types.ts';
import { processTitle } from '../../../dataplane/cluster/cleanup-processes.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { clusterPrefix, fabricNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { createIproute2Kernel } from '../../../dataplane/kernel/iproute2/kernel.ts';
import { macFromIpv4 } from '../../../dataplane/kernel/mac.ts';
import { httpFrom, uniqueCluster, withRootUnchanged } from './helpers.ts';
import { until } from '../../helpers/until.ts';

const titles = () =>
  readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((pid) => processTitle(Number(pid)) ?? '');

test('a node joins, serves a pod across nodes, and leaves without a trace', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 1 }, { handleSignals: false });
    const kernel = createIproute2Kernel({ prefix: clusterPrefix(cluster) });
    const [n1, n2] = c.nodes;
    /** What node `ns` has for the peer: its host-gw route and its neighbour entry. */
    const toPeer = async (ns: string, peer: { podCidr: string; underlayIp: string }) => [
      ...(await kernel.routes.list(ns))
        .filter((r) => r.dst === peer.podCidr)
        .map((r) => `route via ${r.via}`),
      ...(await kernel.neighbours.list(ns, 'eth0'))
        .filter((n) => n.ip === peer.underlayIp)
        .map((n) => `neigh ${n.lladdr} ${n.state}`),
    ];

    const n3 = await c.addNode();
    assert.equal(n3.name, 'node-3');
    const want = [`route via ${n3.underlayIp}`, `neigh ${macFromIpv4(n3.underlayIp)} permanent`];
    for (const n of [n1, n2]) {
      await until(
        `${n.name} to route to node-3`,
        async () => (await toPeer(n.netns, n3)).join() === want.join(),
        { intervalMs: 50 },
      );
    }
    const pod = await c.addPod('on-3', { node: 'node-3' });
    const ip1 = (await c.client.resource<Pod>('pods').get('pod-1-1', 'default')).status!.podIP!;
    assert.equal(await httpFrom(c, 'pod-1-1', pod.status!.podIP!), 'on-3');
    assert.equal(await httpFrom(c, 'on-3', ip1), 'pod-1-1');

    const podNetns = c.podNetns('on-3');
    await c.removeNode('node-3');
    assert.equal(await c.client.resource<Pod>('pods').tryGet('on-3', 'default'), undefined);
    for (const n of [n1, n2]) {
      await until(`${n.name} to forget node-3`, async () => (await toPeer(n.netns, n3)).length === 0, {
        intervalMs: 50,
      });
    }
    const namespaces = await kernel.netns.list(kernel.prefix);
    assert.ok(!namespaces.includes(n3.netns) && !namespaces.includes(podNetns), namespaces.join(' '));
    const ports = (await kernel.links.list(fabricNamespace(cluster))).map((l) => l.name);
    assert.ok(!ports.includes('fab-node-3'), ports.join(' '));
    const left = titles().filter(
      (x) => x === `kdp:${cluster}:agent:node-3` || x === `kdp:${cluster}:pod:default/on-3`,
    );
    assert.deepEqual(left, []);
    assert.equal(existsSync(join(c.stateDir, 'nodes', 'node-3')), false);
    assert.deepEqual(
      c.nodes.map((n) => n.name),
      ['node-1', 'node-2'],
    );
    const ip2 = (await c.client.resource<Pod>('pods').get('pod-2-1', 'default')).status!.podIP!;
    assert.equal(await httpFrom(c, 'pod-1-1', ip2), 'pod-2-1');
  });
});
