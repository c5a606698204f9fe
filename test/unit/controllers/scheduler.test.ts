// The scheduler on the real in-process apiserver: even spreading over Ready, schedulable Nodes,
// and Pods left Pending until a Node can take them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from '../../../dataplane/api/types.ts';
import { SchedulerController } from '../../../dataplane/controllers/scheduler.ts';
import { fastRetry, makeNode, makePod, readyCondition, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

test('9 pods spread 3/3/3 over the ready nodes, skipping not-ready and unschedulable ones', async () => {
  const s = await stack();
  for (const n of ['n1', 'n2', 'n3']) await makeNode(s.client, n, { ready: true });
  await makeNode(s.client, 'down', { ready: false });
  await makeNode(s.client, 'cordoned', { ready: true, unschedulable: true });
  await makeNode(s.client, 'tainted', { ready: true });
  const nodes = s.client.resource<Node>('nodes');
  const tainted = await nodes.get('tainted');
  await nodes.update({
    ...tainted,
    spec: { ...tainted.spec, taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] },
  });
  const ctl = new SchedulerController(s.client, { retry: fastRetry });
  const pods = s.client.resource<Pod>('pods');
  try {
    await ctl.start();
    for (let i = 0; i < 9; i++) await makePod(s.client, `p${i}`);
    const bound = await until('9 pods bound', async () => {
      const items = (await pods.list({ namespace: 'default' })).items;
      return items.every((p) => p.spec.nodeName) && items;
    });
    const perNode = new Map<string, number>();
    for (const p of bound) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(perNode), { n1: 3, n2: 3, n3: 3 });
  } finally {
    await ctl.close();
    s.close();
  }
});

test('a pod stays pending without a usable node and is bound when one becomes ready', async () => {
  const s = await stack();
  await makeNode(s.client, 'late', { ready: false });
  const ctl = new SchedulerController(s.client, { retry: fastRetry });
  const pods = s.client.resource<Pod>('pods');
  const nodes = s.client.resource<Node>('nodes');
  try {
    await ctl.start();
    await makePod(s.client, 'waiting');
    // A second pod created later is a marker that the scheduler already looked at the first one.
    await makePod(s.client, 'marker', {});
    await until('scheduler saw both pods', () => ctl.waitingPods.length === 2);
    assert.equal((await pods.get('waiting', 'default')).spec.nodeName, undefined);
    const late = await nodes.get('late');
    await nodes.updateStatus({ ...late, status: { ...late.status, conditions: [readyCondition(true)] } });
    const p = await until('bound once the node is ready', async () => {
      const got = await pods.get('waiting', 'default');
      return got.spec.nodeName ? got : undefined;
    });
    assert.equal(p.spec.nodeName, 'late');
  } finally {
    await ctl.close();
    s.close();
  }
});
