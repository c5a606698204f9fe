// The Deployment controller with the whole controller set (manager, scheduler, node IPAM,
// ReplicaSet controller, simulated kubelet) on the real in-process apiserver: a rolling update
// with maxSurge 1 / maxUnavailable 0 never drops under the desired ready Pods, revisions and
// names are upstream's, the scale subresource scales, and Recreate replaces everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, Pod, ReplicaSet } from '../../../dataplane/api/types.ts';
import { createInformer } from '../../../dataplane/client/informer.ts';
import type { ApiClient } from '../../../dataplane/client/interface.ts';
import { startControllers } from '../../../dataplane/controllers/manager.ts';
import { fastRetry, makeNode, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

const DEPLOY = 'apps/deployments';

function deployment(
  name: string,
  replicas: number,
  version: string,
  strategy: Deployment['spec']['strategy'],
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy,
      revisionHistoryLimit: 0,
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: `nginx:${version}` }] },
      },
    },
  };
}

async function rolledOut(client: ApiClient, name: string, replicas: number): Promise<Deployment> {
  return until(
    `deployment ${name} rolled out to ${replicas}`,
    async () => {
      const d = await client.resource<Deployment>(DEPLOY).get(name, 'default');
      const st = d.status;
      const done =
        st &&
        (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
        st.updatedReplicas === replicas &&
        st.replicas === replicas &&
        st.availableReplicas === replicas &&
        st.readyReplicas === replicas;
      return done ? d : undefined;
    },
    20_000,
  );
}

async function simulatedCluster() {
  const s = await stack();
  for (const n of ['n1', 'n2', 'n3'])
    await makeNode(s.client, n, { ip: `198.18.0.${n.slice(1)}`, labels: { 'kdp.dev/simulated': 'true' } });
  // Pods take a while to start, as real ones do: a controller that scaled old Pods down before
  // new ones were ready would show it.
  const ctl = await startControllers(s.client, {
    simulatedKubelet: { startupDelayMs: 50 },
    retry: fastRetry,
    disable: ['endpoints'],
  });
  return { s, ctl };
}

test('a rolling update with maxSurge 1 and maxUnavailable 0 never has fewer ready pods than replicas', async () => {
  const { s, ctl } = await simulatedCluster();
  const deploys = s.client.resource<Deployment>(DEPLOY);
  const watcher = createInformer<Pod>(s.client, 'pods');
  try {
    await deploys.create(
      deployment('web', 3, 'a', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }),
    );
    await rolledOut(s.client, 'web', 3);

    // Every pod event, in order: count the pods an endpoint would call ready.
    const seen = new Map<string, Pod>();
    let minReady = Infinity;
    let events = 0;
    let armed = false;
    const count = () => {
      if (!armed) return; // the initial list arrives one pod at a time
      events++;
      let n = 0;
      for (const p of seen.values()) {
        const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (ready && !p.metadata.deletionTimestamp) n++;
      }
      minReady = Math.min(minReady, n);
    };
    watcher.addHandlers({
      onAdd: (p) => (seen.set(p.metadata.name!, p), count()),
      onUpdate: (_o, p) => (seen.set(p.metadata.name!, p), count()),
      onDelete: (p) => (seen.delete(p.metadata.name!), count()),
    });
    watcher.start();
    await watcher.waitForSync();
    armed = true;
    count();
    assert.equal(minReady, 3);

    const d = await deploys.get('web', 'default');
    const template = structuredClone(d.spec.template);
    template.spec.containers[0].image = 'nginx:b';
    await deploys.update({ ...d, spec: { ...d.spec, template } });
    const after = await rolledOut(s.client, 'web', 3);
    await until(
      'only new pods left',
      () => [...seen.values()].every((p) => p.spec.containers[0].image === 'nginx:b') && seen.size === 3,
    );

    assert.ok(events > 10, `the watcher saw the rollout (${events} events)`);
    assert.equal(minReady, 3, 'ready pods never dropped below replicas');
    assert.equal(after.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const conds = Object.fromEntries((after.status?.conditions ?? []).map((c) => [c.type, c.reason]));
    assert.deepEqual(conds, { Available: 'MinimumReplicasAvailable', Progressing: 'NewReplicaSetAvailable' });

    // revisionHistoryLimit 0: the old ReplicaSet goes once it is empty.
    const sets = await until('one replicaset left', async () => {
      const got = (await s.client.resource<ReplicaSet>('apps/replicasets').list({ namespace: 'default' }))
        .items;
      return got.length === 1 && got;
    });
    const rs = sets[0];
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.ok(hash);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.spec.selector.matchLabels?.['pod-template-hash'], hash);
    assert.equal(rs.spec.template.metadata?.labels?.['pod-template-hash'], hash);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    for (const p of seen.values()) assert.equal(p.metadata.labels?.['pod-template-hash'], hash);
    const ips = [...seen.values()].map((p) => p.status?.podIP);
    assert.equal(new Set(ips).size, 3, `distinct pod IPs: ${ips}`);
    for (const p of seen.values()) {
      assert.match(p.status!.podIP!, /^10\.244\.\d+\.\d+$/);
      assert.equal(p.status?.hostIP, `198.18.0.${p.spec.nodeName!.slice(1)}`);
    }

    // Scale through the scale subresource, as `kubectl scale` does.
    await deploys.patch(
      'web',
      { spec: { replicas: 5 } },
      { namespace: 'default', type: 'merge', subresource: 'scale' },
    );
    await rolledOut(s.client, 'web', 5);
    await deploys.patch(
      'web',
      { spec: { replicas: 2 } },
      { namespace: 'default', type: 'merge', subresource: 'scale' },
    );
    await rolledOut(s.client, 'web', 2);
    await until('2 pods left', () => seen.size === 2);
  } finally {
    watcher.stop();
    await ctl.close();
    s.close();
  }
});

test('Recreate scales the old pods away before new ones start', async () => {
  const { s, ctl } = await simulatedCluster();
  const deploys = s.client.resource<Deployment>(DEPLOY);
  const watcher = createInformer<Pod>(s.client, 'pods');
  try {
    await deploys.create(deployment('batch', 2, 'a', { type: 'Recreate' }));
    await rolledOut(s.client, 'batch', 2);
    const images = new Map<string, string>();
    let mixed = false;
    const track = (p: Pod, gone = false) => {
      if (gone) images.delete(p.metadata.name!);
      else images.set(p.metadata.name!, p.spec.containers[0].image!);
      if (new Set(images.values()).size > 1) mixed = true;
    };
    watcher.addHandlers({
      onAdd: (p) => track(p),
      onUpdate: (_o, p) => track(p),
      onDelete: (p) => track(p, true),
    });
    watcher.start();
    await watcher.waitForSync();
    const d = await deploys.get('batch', 'default');
    const template = structuredClone(d.spec.template);
    template.spec.containers[0].image = 'nginx:b';
    await deploys.update({ ...d, spec: { ...d.spec, template } });
    await rolledOut(s.client, 'batch', 2);
    await until(
      'new pods only',
      () => images.size === 2 && [...images.values()].every((i) => i === 'nginx:b'),
    );
    assert.equal(mixed, false, 'old and new pods never coexisted');
  } finally {
    watcher.stop();
    await ctl.close();
    s.close();
  }
});
