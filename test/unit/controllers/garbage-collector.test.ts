// The garbage collector on the real in-process apiserver: dependents of a deleted owner go,
// dependents with a live owner (or one of several owners alive) stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, ReplicaSet } from '../../../dataplane/api/types.ts';
import { GarbageCollector } from '../../../dataplane/controllers/garbage-collector.ts';
import { ReplicaSetController } from '../../../dataplane/controllers/replicaset.ts';
import { fastRetry, makePod, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

test('deleting a ReplicaSet deletes its pods; pods with a living owner stay', async () => {
  const s = await stack();
  const rsCtl = new ReplicaSetController(s.client, { retry: fastRetry });
  const gc = new GarbageCollector(s.client, { retry: fastRetry });
  const pods = s.client.resource<Pod>('pods');
  const sets = s.client.resource<ReplicaSet>('apps/replicasets');
  try {
    await Promise.all([rsCtl.start(), gc.start()]);
    const rs = await sets.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'nginx' }] },
        },
      },
    });
    const keeper = await sets.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'keeper', namespace: 'default' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'keeper' } },
        template: {
          metadata: { labels: { app: 'keeper' } },
          spec: { containers: [{ name: 'app', image: 'nginx' }] },
        },
      },
    });
    // Two owners, one of which survives: the pod stays.
    const shared = await makePod(s.client, 'shared', { labels: { app: 'other' } });
    await pods.update({
      ...shared,
      metadata: {
        ...shared.metadata,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid! },
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'keeper', uid: keeper.metadata.uid! },
        ],
      },
    });
    await until(
      '3 pods of web',
      async () => (await pods.list({ namespace: 'default', labelSelector: 'app=web' })).items.length === 3,
    );

    await sets.delete('web', { namespace: 'default' });
    await until('pods of the deleted ReplicaSet gone', async () => {
      return (await pods.list({ namespace: 'default', labelSelector: 'app=web' })).items.length === 0;
    });
    assert.ok(await pods.tryGet('shared', 'default'), 'a pod with a living owner is kept');

    // An owner reference to a uid that never existed under that name counts as gone.
    await makePod(s.client, 'stale', { labels: { app: 'x' } });
    const stale = await pods.get('stale', 'default');
    await pods.update({
      ...stale,
      metadata: {
        ...stale.metadata,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'keeper',
            uid: '00000000-0000-0000-0000-000000000000',
          },
        ],
      },
    });
    await until(
      'pod owned by a stale uid collected',
      async () => (await pods.tryGet('stale', 'default')) === undefined,
    );
    assert.ok(await pods.tryGet('shared', 'default'));
  } finally {
    await Promise.all([rsCtl.close(), gc.close()]);
    s.close();
  }
});
