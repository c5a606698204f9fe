// The ReplicaSet controller on the real in-process apiserver: Pods from the template, scale up and
// down with upstream's deletion preference, adoption of orphans, and status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, ReplicaSet } from '../../../dataplane/api/types.ts';
import { ReplicaSetController } from '../../../dataplane/controllers/replicaset.ts';
import { fastRetry, makeNode, makePod, readyCondition, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

const RS = 'apps/replicasets';

function replicaSet(name: string, replicas: number): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: 'front' } },
        spec: { containers: [{ name: 'app', image: 'nginx' }] },
      },
    },
  };
}

test('a ReplicaSet creates, adopts and deletes pods to match spec.replicas and reports status', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true });
  // An orphan that matches the selector is adopted rather than duplicated.
  await makePod(s.client, 'orphan', { labels: { app: 'web' } });
  const ctl = new ReplicaSetController(s.client, { retry: fastRetry });
  const pods = s.client.resource<Pod>('pods');
  const sets = s.client.resource<ReplicaSet>(RS);
  const podsOf = async () => (await pods.list({ namespace: 'default', labelSelector: 'app=web' })).items;
  try {
    await ctl.start();
    const rs = await sets.create(replicaSet('web', 3));
    let items = await until('3 pods', async () => {
      const got = await podsOf();
      return got.length === 3 && got.every((p) => p.metadata.ownerReferences?.length) && got;
    });
    const created = items.filter((p) => p.metadata.name !== 'orphan');
    assert.equal(created.length, 2);
    for (const p of [...created, items.find((p) => p.metadata.name === 'orphan')!]) {
      assert.deepEqual(p.metadata.ownerReferences, [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web',
          uid: rs.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    for (const p of created) {
      assert.match(p.metadata.name!, /^web-[a-z0-9]{5}$/);
      assert.deepEqual(p.metadata.labels, { app: 'web', tier: 'front' });
    }

    // Scale up to 5.
    const cur = await sets.get('web', 'default');
    await sets.update({ ...cur, spec: { ...cur.spec, replicas: 5 } });
    items = await until('5 pods', async () => {
      const got = await podsOf();
      return got.length === 5 && got;
    });

    // Make one pod bound and ready, one bound and pending: scaling down to 1 keeps the ready one.
    const [keep, pending] = items.filter((p) => p.metadata.name !== 'orphan');
    await pods.update({ ...keep, spec: { ...keep.spec, nodeName: 'n1' } });
    const k = await pods.get(keep.metadata.name!, 'default');
    await pods.updateStatus({
      ...k,
      status: { phase: 'Running', podIP: '10.244.0.5', conditions: [readyCondition(true)] },
    });
    await pods.update({ ...pending, spec: { ...pending.spec, nodeName: 'n1' } });
    const st = await until('status sees the ready pod', async () => {
      const got = await sets.get('web', 'default');
      return got.status?.readyReplicas === 1 && got.status.replicas === 5 && got.status;
    });
    assert.equal(st.availableReplicas, 1);
    assert.equal(st.fullyLabeledReplicas, 4, 'the adopted orphan lacks the tier label');
    const gen = (await sets.get('web', 'default')).metadata.generation;
    assert.equal(st.observedGeneration, gen);

    const cur2 = await sets.get('web', 'default');
    await sets.update({ ...cur2, spec: { ...cur2.spec, replicas: 1 } });
    const left = await until('1 active pod', async () => {
      const got = (await podsOf()).filter((p) => !p.metadata.deletionTimestamp);
      return got.length === 1 && got;
    });
    assert.equal(left[0].metadata.name, keep.metadata.name, 'the bound, ready pod is kept');
    // The bound pending one is terminating (graceful); the unbound ones are gone at once.
    const all = await podsOf();
    assert.deepEqual(
      all.filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name),
      [pending.metadata.name],
    );
    await until('status replicas 1', async () => (await sets.get('web', 'default')).status?.replicas === 1);
  } finally {
    await ctl.close();
    s.close();
  }
});
