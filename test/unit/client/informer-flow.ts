// Shared by the end-to-end client tests (in-process and over HTTP): a create/update/patch/delete
// flow through the typed client that an informer must see, in order, with the server's objects.
import assert from 'node:assert/strict';
import type { Service } from '../../../dataplane/api/types.ts';
import { createInformer } from '../../../dataplane/client/informer.ts';
import type { ApiClient } from '../../../dataplane/client/interface.ts';
import { until } from '../../helpers/until.ts';

export function service(name: string, labels: Record<string, string> = { app: 'flow' }): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name } },
  };
}

/** Handlers that record events as `type name@rv` and keep the objects. */
export function recorder() {
  const seen: string[] = [];
  const objects: Service[] = [];
  const at = (s: Service) => `${s.metadata.name}@${s.metadata.resourceVersion}`;
  return {
    seen,
    objects,
    handlers: {
      onAdd: (s: Service) => (seen.push(`add ${at(s)}`), objects.push(s)),
      onUpdate: (o: Service, n: Service) => (seen.push(`update ${at(o)}->${at(n)}`), objects.push(n)),
      onDelete: (s: Service) => (seen.push(`delete ${at(s)}`), objects.push(s)),
    },
  };
}

/**
 * Creates, updates, patches, updates the status of and deletes a Service; an informer (selecting
 * app=flow in default, so bootstrap objects stay out) must see each step in order.
 */
export async function crudSeenByInformer(client: ApiClient): Promise<void> {
  const svcs = client.resource<Service>('services');
  const informer = createInformer<Service>(client, 'services', {
    namespace: 'default',
    labelSelector: 'app=flow',
  });
  const r = recorder();
  informer.addHandlers(r.handlers);
  informer.start();
  try {
    await informer.waitForSync();
    assert.deepEqual(r.seen, []);

    const created = await svcs.create(service('web'));
    assert.equal(created.metadata.namespace, 'default');
    assert.match(created.spec.clusterIP ?? '', /^10\.96\./);
    const updated = await svcs.update({
      ...created,
      metadata: { ...created.metadata, labels: { app: 'flow', tier: 'fe' } },
    });
    const patched = await svcs.patch('web', { metadata: { annotations: { note: 'hi' } } });
    const statusUpdated = await svcs.updateStatus({
      ...patched,
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    });
    await svcs.create(service('other', { app: 'elsewhere' })); // outside the selector: never seen
    const deleted = await svcs.delete('web');
    assert.equal(deleted?.metadata.name, 'web');
    assert.equal(await svcs.tryGet('web'), undefined);

    const rv = (s: Service) => s.metadata.resourceVersion;
    await until(
      () => `five events, got ${r.seen.join(', ')}`,
      () => r.seen.length === 5,
    );
    assert.deepEqual(r.seen, [
      `add web@${rv(created)}`,
      `update web@${rv(created)}->web@${rv(updated)}`,
      `update web@${rv(updated)}->web@${rv(patched)}`,
      `update web@${rv(patched)}->web@${rv(statusUpdated)}`,
      `delete web@${deleted?.metadata.resourceVersion ?? '?'}`,
    ]);
    assert.equal(r.objects[0].spec.clusterIP, created.spec.clusterIP);
    assert.equal(r.objects[2].metadata.annotations?.note, 'hi');
    assert.equal(r.objects[3].status?.loadBalancer?.ingress?.[0].ip, '192.0.2.1');
    assert.deepEqual(informer.list(), []);

    // Paged listing through the same client.
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await svcs.create(service(n, { app: 'paged' }));
    const page = await svcs.list({ labelSelector: 'app=paged', limit: 2 });
    assert.equal(page.items.length, 2);
    assert.ok(page.metadata.continue);
    const all = await svcs.listAll({ labelSelector: 'app=paged', limit: 2 });
    assert.deepEqual(
      all.items.map((s) => s.metadata.name),
      ['p1', 'p2', 'p3', 'p4', 'p5'],
    );
  } finally {
    informer.stop();
  }
}
