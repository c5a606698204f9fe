/**
 * Static ARP in a real cluster (2 nodes x 2 kdp/http pods): every pod's eth0 has the MAC that
 * follows from its address and a permanent entry for its gateway (cni0's MAC); every node has a
 * permanent entry on cni0 for each of its pods and one on its uplink for the other node (the MAC
 * its agent published on its Node). Traffic across nodes then needs no ARP at all: after it, the
 * tables hold only those permanent entries. A deleted pod's entry leaves with it (the kernel keeps
 * entries on cni0 when a port goes). The root namespace is unchanged and nothing is left.
 * Run as root: node --import tsx --test test/integration/cluster/neighbours.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from '../../../dataplane/api/types.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import { createIproute2Kernel } from '../../../dataplane/kernel/iproute2/kernel.ts';
import { macFromIpv4 } from '../../../dataplane/kernel/mac.ts';
import { UNDERLAY_MAC_ANNOTATION } from '../../../dataplane/overlay/backend.ts';
import { httpFrom, uniqueCluster, withRootUnchanged } from './helpers.ts';
import { until } from '../../helpers/until.ts';

test('pods and nodes reach each other through permanent neighbour entries', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 2 }, { handleSignals: false });
    const kernel = createIproute2Kernel({ prefix: clusterPrefix(cluster) });
    const entries = async (ns: string, dev: string) =>
      (await kernel.neighbours.list(ns, dev)).map((n) => `${n.ip} ${n.lladdr ?? '-'} ${n.state}`).sort();
    const macOf = async (ns: string, dev: string) =>
      (await kernel.links.list(ns)).find((l) => l.name === dev)?.address;
    const pods = await c.pods();
    const ip = new Map(pods.map((p) => [p.metadata.name!, p.status!.podIP!]));
    const [n1, n2] = c.nodes;

    for (const node of c.nodes) {
      assert.equal(await macOf(node.netns, 'eth0'), macFromIpv4(node.underlayIp));
      const obj = await c.client.resource<Node>('nodes').get(node.name);
      assert.equal(obj.metadata.annotations?.[UNDERLAY_MAC_ANNOTATION], macFromIpv4(node.underlayIp));
      const cniMac = await macOf(node.netns, 'cni0');
      const mine = pods.filter((p) => p.spec.nodeName === node.name);
      assert.deepEqual(
        await entries(node.netns, 'cni0'),
        mine.map((p) => `${p.status!.podIP} ${macFromIpv4(p.status!.podIP!)} permanent`).sort(),
      );
      for (const p of mine) {
        const ns = c.podNetns(p);
        assert.equal(await macOf(ns, 'eth0'), macFromIpv4(p.status!.podIP!));
        assert.deepEqual(await entries(ns, 'eth0'), [`${node.gateway} ${cniMac} permanent`]);
      }
    }
    // host-gw programs the peer's entry once the peer's agent has published its MAC.
    const peerEntry = `${n2.underlayIp} ${macFromIpv4(n2.underlayIp)} permanent`;
    await until(
      `node-1 to have the entry ${peerEntry}`,
      async () => (await entries(n1.netns, 'eth0')).includes(peerEntry),
      {
        timeoutMs: 10_000,
        intervalMs: 50,
      },
    );

    // Across nodes, both ways: every hop is a permanent entry, so no ARP entry appears.
    assert.equal(await httpFrom(c, 'pod-1-1', ip.get('pod-2-1')!), 'pod-2-1');
    assert.equal(await httpFrom(c, 'pod-2-2', ip.get('pod-1-2')!), 'pod-1-2');
    for (const node of c.nodes) {
      const all = (await kernel.neighbours.list(node.netns)).filter((n) => n.state !== 'permanent');
      assert.deepEqual(all, [], `${node.name} needed ARP`);
    }
    for (const name of ['pod-1-1', 'pod-2-1', 'pod-2-2', 'pod-1-2']) {
      const all = (await kernel.neighbours.list(c.podNetns(name))).filter((n) => n.state !== 'permanent');
      assert.deepEqual(all, [], `${name} needed ARP`);
    }

    // The deleted pod's entry goes; node-1's other pods (pod-1-1 and any cluster DNS pod) keep theirs.
    await c.deletePod('pod-1-2');
    const left = pods.filter((p) => p.spec.nodeName === n1.name && p.metadata.name !== 'pod-1-2');
    assert.ok(left.some((p) => p.metadata.name === 'pod-1-1'));
    assert.deepEqual(
      await entries(n1.netns, 'cni0'),
      left.map((p) => `${p.status!.podIP} ${macFromIpv4(p.status!.podIP!)} permanent`).sort(),
    );
    assert.equal(await httpFrom(c, 'pod-2-1', ip.get('pod-1-1')!), 'pod-1-1');
  });
});
