// Static ARP made by the agent, against the FakeKernel: a pod's eth0 has the MAC that follows from
// its address, the pod has a permanent entry for its gateway (cni0's MAC, which the agent pins so
// pods coming and going cannot change it) and the node one for the pod on cni0, removed with the
// pod; a restarted agent removes entries of pods that are gone. Between nodes: each agent
// publishes its uplink's MAC on its Node, and host-gw gives every peer a permanent entry that
// follows the Node objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from '../../../dataplane/api/types.ts';
import { podNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { macFromIpv4 } from '../../../dataplane/kernel/mac.ts';
import { UNDERLAY_MAC_ANNOTATION } from '../../../dataplane/overlay/backend.ts';
import { agentWorld, CLUSTER, isReady, podObject, type AgentWorld } from './fixture.ts';
import { until } from '../../helpers/until.ts';

const pods = (w: AgentWorld) => w.client.resource<Pod>('pods');

async function readyIp(w: AgentWorld, name: string): Promise<string> {
  const pod = await until(`${name} Ready`, async () => {
    const p = await pods(w).get(name, 'default');
    return isReady(p) && p;
  });
  return pod.status!.podIP!;
}

const macOf = async (w: AgentWorld, ns: string, link: string) =>
  (await w.kernel.links.list(ns)).find((l) => l.name === link)?.address;

/** The node's permanent entries on cni0, as `ip lladdr`. */
const cniEntries = async (w: AgentWorld, ns: string) =>
  (await w.kernel.neighbours.list(ns, 'cni0')).map((n) => `${n.ip} ${n.lladdr}`).sort();

test('pod and node have permanent entries for each other; the node entry goes with the pod', async () => {
  const w = await agentWorld();
  try {
    const [node] = w.nodes;
    const cniMacBefore = await macOf(w, node.netns, 'cni0');
    await w.startAgent(1);
    for (const n of ['a', 'b']) await pods(w).create(podObject(n, node.name, [{ image: 'kdp/pause' }]));
    const [a, b] = [await readyIp(w, 'a'), await readyIp(w, 'b')];

    // cni0's MAC never moved, although the fixture did not set one and pods' veths joined it.
    const cniMac = await macOf(w, node.netns, 'cni0');
    assert.equal(cniMac, cniMacBefore);
    for (const [name, ip] of [
      ['a', a],
      ['b', b],
    ]) {
      const ns = podNamespace(CLUSTER, 'default', name);
      assert.equal(await macOf(w, ns, 'eth0'), macFromIpv4(ip));
      assert.deepEqual(await w.kernel.neighbours.list(ns), [
        { ip: node.gateway, dev: 'eth0', lladdr: cniMac, state: 'permanent' },
      ]);
    }
    assert.deepEqual(await cniEntries(w, node.netns), [`${a} ${macFromIpv4(a)}`, `${b} ${macFromIpv4(b)}`]);

    await pods(w).delete('a', { namespace: 'default' });
    await until('a gone', async () => (await pods(w).tryGet('a', 'default')) === undefined);
    assert.deepEqual(await cniEntries(w, node.netns), [`${b} ${macFromIpv4(b)}`]);
  } finally {
    await w.close();
  }
});

test("a restarted agent removes the node's entries for pods that are gone, and no others", async () => {
  const w = await agentWorld();
  try {
    const [node] = w.nodes;
    const first = await w.startAgent(1);
    await pods(w).create(podObject('a', node.name, [{ image: 'kdp/pause' }]));
    const a = await readyIp(w, 'a');
    await first.kubelet.idle();
    await first.close();
    // Left by a pod whose record was lost, and one that kdp did not make (its MAC says so).
    await w.kernel.neighbours.replace(node.netns, {
      ip: '10.244.0.77',
      dev: 'cni0',
      lladdr: macFromIpv4('10.244.0.77'),
    });
    await w.kernel.neighbours.replace(node.netns, {
      ip: '10.244.0.78',
      dev: 'cni0',
      lladdr: '02:00:00:12:34:56',
    });

    await w.startAgent(1);
    assert.deepEqual(await cniEntries(w, node.netns), [
      `${a} ${macFromIpv4(a)}`,
      '10.244.0.78 02:00:00:12:34:56',
    ]);
  } finally {
    await w.close();
  }
});

test('agents publish their uplink MAC; peers get a permanent entry for it that follows the Nodes', async () => {
  const w = await agentWorld({ nodes: 3 });
  try {
    const [n1, n2, n3] = w.nodes;
    const nodes = w.client.resource<Node>('nodes');
    await w.startAgent(1);
    await w.startAgent(2);
    const mac2 = await macOf(w, n2.netns, 'eth0');
    assert.equal((await nodes.get(n2.name)).metadata.annotations?.[UNDERLAY_MAC_ANNOTATION], mac2);
    const uplinkEntries = async () =>
      (await w.kernel.neighbours.list(n1.netns, 'eth0')).map((n) => `${n.ip} ${n.lladdr} ${n.state}`);
    await until('node-1 has an entry for node-2', async () =>
      (await uplinkEntries()).includes(`${n2.underlayIp} ${mac2} permanent`),
    );
    // node-3 runs no agent, so it published nothing: it is reached with ordinary ARP.
    assert.deepEqual(await uplinkEntries(), [`${n2.underlayIp} ${mac2} permanent`]);
    assert.ok((await w.kernel.routes.list(n1.netns)).some((r) => r.via === n3.underlayIp));

    // A changed MAC is followed; a Node that goes takes its entry and route with it.
    await nodes.patch(n2.name, {
      metadata: { annotations: { [UNDERLAY_MAC_ANNOTATION]: '0a:58:00:00:00:02' } },
    });
    await until('the entry follows the annotation', async () =>
      (await uplinkEntries()).includes(`${n2.underlayIp} 0a:58:00:00:00:02 permanent`),
    );
    await nodes.delete(n2.name);
    await until('the entry is gone with node-2', async () => (await uplinkEntries()).length === 0);
    assert.ok(!(await w.kernel.routes.list(n1.netns)).some((r) => r.via === n2.underlayIp));
  } finally {
    await w.close();
  }
});
