/**
 * Cluster.create with the real kernel and the real node agents: 2 nodes x 2 kdp/http pods come
 * up Ready with addresses from their nodes' pod CIDRs; HTTP works pod to pod on one node and
 * across nodes (the body is the answering pod's name); pods are deleted and added while it runs;
 * an agent killed with SIGKILL is restarted by its supervisor without disturbing running pods, and
 * the new agent realises new pods. Closing leaves nothing and the root namespace is unchanged.
 * Run as root: node --import tsx --test test/integration/cluster/cluster.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import type { Pod } from '../../../dataplane/api/types.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { cidrContains } from '../../../dataplane/kernel/cidr.ts';
import { netnsPath } from '../../../dataplane/kernel/name-checks.ts';
import { httpFrom, uniqueCluster, withRootUnchanged } from './helpers.ts';
import { until } from '../../helpers/until.ts';

test('a 2 x 2 cluster: pod to pod, delete and add, agent restart, nothing left', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 2 }, { handleSignals: false });
    const ip = new Map<string, string>();
    const pods = await c.pods();
    for (const p of pods) ip.set(p.metadata.name!, p.status!.podIP!);

    await t.test('pods (the cluster DNS pair too) are Ready with addresses from their node', () => {
      const named = (ns: string) =>
        pods.filter((p) => p.metadata.namespace === ns).map((p) => p.metadata.name);
      assert.deepEqual(named('default'), ['pod-1-1', 'pod-1-2', 'pod-2-1', 'pod-2-2']);
      assert.equal(named('kube-system').filter((n) => n?.startsWith('coredns-')).length, 2);
      for (const p of pods) {
        const node = c.nodes.find((n) => n.name === p.spec.nodeName)!;
        assert.equal(p.status?.phase, 'Running');
        assert.ok(p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
        assert.ok(cidrContains(node.podCidr, p.status!.podIP!), `${p.status?.podIP} not in ${node.podCidr}`);
        assert.equal(p.status?.hostIP, node.underlayIp);
      }
    });

    await t.test('HTTP pod to pod on one node and across nodes', async () => {
      assert.equal(await httpFrom(c, 'pod-1-1', ip.get('pod-1-2')!), 'pod-1-2');
      assert.equal(await httpFrom(c, 'pod-1-1', ip.get('pod-2-1')!), 'pod-2-1');
      assert.equal(await httpFrom(c, 'pod-2-2', ip.get('pod-1-2')!), 'pod-1-2');
    });

    await t.test('a deleted pod is gone with its namespace; an added one answers', async () => {
      const netns = c.podNetns('pod-2-2');
      await c.deletePod('pod-2-2');
      assert.equal(await c.client.resource<Pod>('pods').tryGet('pod-2-2', 'default'), undefined);
      assert.throws(() => statSync(netnsPath(netns)), /ENOENT/);
      const added = await c.addPod('extra', { node: 'node-2' });
      assert.equal(await httpFrom(c, 'pod-1-1', added.status!.podIP!), 'extra');
    });

    await t.test('an agent killed with SIGKILL is restarted and running pods are untouched', async () => {
      const before = c.agent('node-1');
      const netnsInode = statSync(netnsPath(c.podNetns('pod-1-2'))).ino;
      process.kill(before.pid!, 'SIGKILL');
      await until('the agent of node-1 to be back', () => {
        const a = c.agent('node-1');
        return a.restarts === before.restarts + 1 && a.state === 'running';
      });
      assert.notEqual(c.agent('node-1').pid, before.pid);
      // The pod kept its namespace, address and server.
      assert.equal(statSync(netnsPath(c.podNetns('pod-1-2'))).ino, netnsInode);
      assert.equal(await httpFrom(c, 'pod-2-1', ip.get('pod-1-2')!), 'pod-1-2');
      const pod = (await c.client.resource<Pod>('pods').get('pod-1-2', 'default')).status;
      assert.equal(pod?.podIP, ip.get('pod-1-2'));
      // The new agent realises new pods.
      const late = await c.addPod('after-restart', { node: 'node-1' });
      assert.equal(await httpFrom(c, 'pod-2-1', late.status!.podIP!), 'after-restart');
    });
  });
});
