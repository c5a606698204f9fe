// A restarted agent adopts what the previous one made: pods keep their namespaces, addresses and
// processes, nothing is set up twice, and new pods still come up. IPAM across the agent: a full
// pod CIDR leaves the next pod Pending with the reason, and a deletion frees an address for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../dataplane/api/types.ts';
import type { ResourceClient } from '../../../dataplane/client/interface.ts';
import { podNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { agentWorld, CLUSTER, isReady, podObject, type AgentWorld } from './fixture.ts';
import { until } from '../../helpers/until.ts';

const podsOf = (w: AgentWorld) => w.client.resource<Pod>('pods');

async function readyPod(pods: ResourceClient<Pod>, name: string): Promise<Pod> {
  return until(`${name} Ready`, async () => {
    const p = await pods.get(name, 'default');
    return isReady(p) && p;
  });
}

test('restart: existing pods, addresses and processes are kept; new pods are still realised', async () => {
  const w = await agentWorld();
  try {
    const pods = podsOf(w);
    const node = w.nodes[0].name;
    const first = await w.startAgent(1);
    for (const n of ['a', 'b', 'c']) await pods.create(podObject(n, node, [{ image: 'kdp/http' }]));
    const before = await Promise.all(['a', 'b', 'c'].map((n) => readyPod(pods, n)));
    await first.kubelet.idle();
    await first.close();

    // What exists now must not be touched by the next agent.
    const appliedBefore = w.kernel.applied.length;
    const processesBefore = w.runner.procs.size;
    await pods.delete('c', { namespace: 'default' }); // deleted while no agent runs

    const second = await w.startAgent(1);
    await pods.create(podObject('d', node, [{ image: 'kdp/http' }]));
    const d = await readyPod(pods, 'd');
    await until('c gone', async () => (await pods.tryGet('c', 'default')) === undefined);
    await second.kubelet.idle();

    const after = await Promise.all(['a', 'b'].map((n) => pods.get(n, 'default')));
    assert.deepEqual(
      after.map((p) => [p.metadata.name, p.status?.podIP, p.metadata.resourceVersion]),
      before.slice(0, 2).map((p) => [p.metadata.name, p.status?.podIP, p.metadata.resourceVersion]),
      'adopted pods keep their address and their status is not rewritten',
    );
    for (const n of ['a', 'b']) {
      const procs = w.runner.in(podNamespace(CLUSTER, 'default', n));
      assert.equal(procs.length, 1, `${n} was not started again`);
      assert.equal(procs[0].alive, true);
      assert.deepEqual(procs[0].signals, []);
    }
    const created = w.kernel.applied.slice(appliedBefore).filter((op) => op.kind === 'veth.add');
    assert.deepEqual(
      created.map((op) => op.kind === 'veth.add' && op.peerNs),
      [podNamespace(CLUSTER, 'default', 'd')],
      'only the new pod was set up',
    );
    assert.equal(w.runner.procs.size, processesBefore + 1);
    assert.equal(await w.kernel.netns.exists(podNamespace(CLUSTER, 'default', 'c')), false);
    assert.ok(
      !before
        .map((p) => p.status?.podIP)
        .slice(0, 2)
        .includes(d.status?.podIP),
    );
  } finally {
    await w.close();
  }
});

test('restart: a pod whose namespace vanished is set up again with the same address', async () => {
  const w = await agentWorld();
  try {
    const pods = podsOf(w);
    const first = await w.startAgent(1);
    await pods.create(podObject('a', w.nodes[0].name, [{ image: 'kdp/pause' }]));
    const a = await readyPod(pods, 'a');
    await first.close();
    await w.kernel.netns.delete(podNamespace(CLUSTER, 'default', 'a'));
    await w.startAgent(1);
    await until('a set up again', () => w.kernel.netns.exists(podNamespace(CLUSTER, 'default', 'a')));
    const addr = await until(
      'a address',
      async () => (await w.kernel.addresses.list(podNamespace(CLUSTER, 'default', 'a'), 'eth0'))[0],
    );
    assert.equal(addr.cidr, `${a.status?.podIP}/24`);
  } finally {
    await w.close();
  }
});

test('a full pod CIDR leaves the next pod Pending with the reason until an address is freed', async () => {
  const w = await agentWorld({ nodeCidrMaskSize: 29 }); // 5 pod addresses per node
  try {
    const pods = podsOf(w);
    await w.startAgent(1);
    const node = w.nodes[0].name;
    for (let i = 1; i <= 5; i++) await pods.create(podObject(`p${i}`, node, [{ image: 'kdp/pause' }]));
    const ips = await Promise.all(
      [1, 2, 3, 4, 5].map(async (i) => (await readyPod(pods, `p${i}`)).status?.podIP),
    );
    assert.equal(new Set(ips).size, 5);

    await pods.create(podObject('p6', node, [{ image: 'kdp/pause' }]));
    const pending = await until('p6 reported', async () => {
      const p = await pods.get('p6', 'default');
      return p.status?.containerStatuses && p;
    });
    assert.equal(pending.status?.phase, 'Pending');
    const waiting = (pending.status!.containerStatuses as { state: { waiting?: { message?: string } } }[])[0]
      .state.waiting;
    assert.match(waiting?.message ?? '', /no free pod address in 10\.244\.0\.0\/29/);

    await pods.delete('p3', { namespace: 'default' });
    const p6 = await readyPod(pods, 'p6');
    assert.equal(p6.status?.podIP, ips[2], 'the freed address is reused');
  } finally {
    await w.close();
  }
});
