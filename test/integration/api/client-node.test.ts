// @kubernetes/client-node 1.4, the official JavaScript client, against kdp's apiserver with nothing
// but the kubeconfig it writes: typed list/create/replace/delete, the error it raises for a 404,
// and its informer (list + watch) seeing add, update and delete.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ApiServer } from '../../../dataplane/api/apiserver.ts';
import { until } from '../../helpers/until.ts';

let server: ApiServer;
let dir: string;
let kc: k8s.KubeConfig;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdp-client-node-'));
  // Over TLS with the admin's client certificate, both from the kubeconfig.
  server = await ApiServer.start({ stateDir: dir, port: 0 });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const service = (name: string, labels: Record<string, string> = {}): k8s.V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, labels },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});

test('CoreV1Api lists, creates, replaces and deletes; a 404 is an ApiException', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespaces = await core.listNamespace();
  assert.deepEqual(namespaces.items.map((n) => n.metadata?.name).sort(), [
    'default',
    'kube-node-lease',
    'kube-public',
    'kube-system',
  ]);
  const created = await core.createNamespacedService({ namespace: 'default', body: service('api') });
  assert.match(created.spec?.clusterIP ?? '', /^10\.96\./);
  const list = await core.listNamespacedService({ namespace: 'default', labelSelector: 'tier!=none' });
  assert.deepEqual(list.items.map((s) => s.metadata?.name).sort(), ['api', 'kubernetes']);
  created.metadata!.labels = { tier: 'backend' };
  const replaced = await core.replaceNamespacedService({ name: 'api', namespace: 'default', body: created });
  assert.equal(replaced.metadata?.labels?.tier, 'backend');
  await core.deleteNamespacedService({ name: 'api', namespace: 'default' });
  await assert.rejects(core.readNamespacedService({ name: 'api', namespace: 'default' }), (e: any) => {
    assert.equal(e.code, 404);
    return true;
  });
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  assert.deepEqual((await apps.listDeploymentForAllNamespaces()).items, []);
});

test('makeInformer sees add, update and delete', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const seen: string[] = [];
  const informer = k8s.makeInformer(
    kc,
    '/api/v1/namespaces/default/services',
    () => core.listNamespacedService({ namespace: 'default', labelSelector: 'app=watched' }),
    'app=watched',
  );
  const errors: unknown[] = [];
  informer.on('add', (s) => seen.push(`add ${s.metadata?.name}`));
  informer.on('update', (s) => seen.push(`update ${s.metadata?.name} ${s.metadata?.labels?.step ?? ''}`));
  informer.on('delete', (s) => seen.push(`delete ${s.metadata?.name}`));
  informer.on('error', (e) => errors.push(e));
  await informer.start();
  try {
    await core.createNamespacedService({ namespace: 'default', body: service('w', { app: 'watched' }) });
    await until('the add', () => seen.includes('add w'));
    const cur = await core.readNamespacedService({ name: 'w', namespace: 'default' });
    cur.metadata!.labels = { ...cur.metadata!.labels, step: 'two' };
    await core.replaceNamespacedService({ name: 'w', namespace: 'default', body: cur });
    await until('the update', () => seen.includes('update w two'));
    await core.deleteNamespacedService({ name: 'w', namespace: 'default' });
    await until('the delete', () => seen.includes('delete w'));
    assert.deepEqual(seen, ['add w', 'update w two', 'delete w']);
    assert.equal(informer.list('default').length, 0);
    assert.deepEqual(errors, []);
  } finally {
    await informer.stop();
  }
});
