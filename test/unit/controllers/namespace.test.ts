// The namespace controller on the real in-process apiserver: deleting a Namespace deletes every
// object in it (a running Pod through its graceful deletion, finished by the simulated kubelet),
// then the Namespace itself; other namespaces are untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace, Pod } from '../../../dataplane/api/types.ts';
import { startControllers } from '../../../dataplane/controllers/manager.ts';
import { fastRetry, makeNode, makePod, makeService, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

test('deleting a namespace removes its contents, then the namespace', async () => {
  const s = await stack(['default', 'team']);
  await makeNode(s.client, 'sim', { labels: { 'kdp.dev/simulated': 'true' }, ip: '198.18.0.9' });
  const ctl = await startControllers(s.client, {
    simulatedKubelet: true,
    retry: fastRetry,
    disable: ['endpoints', 'endpointslice', 'garbage-collector'],
  });
  const namespaces = s.client.resource<Namespace>('namespaces');
  const pods = s.client.resource<Pod>('pods');
  try {
    await makeService(s.client, 'api', { selector: { app: 'api' } }, 'team');
    await makePod(s.client, 'unbound', { namespace: 'team', labels: { app: 'api' } });
    await makePod(s.client, 'running', { namespace: 'team', labels: { app: 'api' }, node: 'sim' });
    await makePod(s.client, 'bystander', { namespace: 'default' });
    await until(
      'running pod is running',
      async () => (await pods.get('running', 'team')).status?.phase === 'Running',
    );

    const terminating = await namespaces.delete('team');
    assert.ok(terminating?.metadata.deletionTimestamp, 'the namespace waits for its finalizer');
    await until('namespace gone', async () => (await namespaces.tryGet('team')) === undefined);
    for (const r of [
      'pods',
      'services',
      'endpoints',
      'discovery.k8s.io/endpointslices',
      'apps/deployments',
    ]) {
      assert.deepEqual(
        (await s.client.resource(r).list({ namespace: 'team' })).items,
        [],
        `${r} left in team`,
      );
    }
    assert.ok(await pods.tryGet('bystander', 'default'));
  } finally {
    await ctl.close();
    s.close();
  }
});
