// host-gw driven by the agent: the node's routes follow the Node objects (a route per other node's
// pod CIDR via its InternalIP), nodes appearing, changing pod CIDR and disappearing, and the agent
// keeps its Node Ready with NetworkUnavailable=False once routes are programmed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from '../../../dataplane/api/types.ts';
import { agentWorld, createNode } from '../agent/fixture.ts';
import { until } from '../../helpers/until.ts';

test('routes are added, moved and removed as Nodes appear, change pod CIDR and disappear', async () => {
  const w = await agentWorld({ nodes: 3 });
  try {
    const [n1, n2, n3] = w.nodes;
    const nodes = w.client.resource<Node>('nodes');
    await nodes.delete(n3.name);
    await w.startAgent(1);
    const routes = async () =>
      (await w.kernel.routes.list(n1.netns)).filter((r) => r.via).map((r) => `${r.dst} via ${r.via}`);
    const expect = (want: string[]) =>
      until(`routes ${want.join(', ')}`, async () => JSON.stringify(await routes()) === JSON.stringify(want));

    await expect([`${n2.podCidr} via ${n2.underlayIp}`]);
    await createNode(w.client, n3);
    await expect([`${n2.podCidr} via ${n2.underlayIp}`, `${n3.podCidr} via ${n3.underlayIp}`]);

    // A node that comes back with another pod CIDR moves its route.
    await nodes.delete(n3.name);
    await createNode(w.client, { ...n3, podCidr: '10.244.77.0/24' });
    await expect([`${n2.podCidr} via ${n2.underlayIp}`, `10.244.77.0/24 via ${n3.underlayIp}`]);

    await nodes.delete(n2.name);
    await expect([`10.244.77.0/24 via ${n3.underlayIp}`]);

    const self = await nodes.get(n1.name);
    const cond = (t: string) => self.status?.conditions?.find((c) => c.type === t)?.status;
    assert.equal(cond('Ready'), 'True');
    assert.equal(cond('NetworkUnavailable'), 'False');
    assert.deepEqual(
      self.status?.addresses?.map((a) => a.type),
      ['InternalIP', 'Hostname'],
      "the heartbeat keeps the builder's addresses",
    );
  } finally {
    await w.close();
  }
});
