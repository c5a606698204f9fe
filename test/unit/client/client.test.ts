// The typed client's REST mapping: paths per group and scope, namespaces from options or the
// object, verbs, query parameters, patch content types and how answers are interpreted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, notFound } from '../../../dataplane/api/errors.ts';
import { findResource } from '../../../dataplane/api/resources.ts';
import type { KubeObject, WatchEvent } from '../../../dataplane/api/types.ts';
import { createClient, resourcePath } from '../../../dataplane/client/client.ts';
import type { Transport, TransportRequest } from '../../../dataplane/client/interface.ts';

/** Records requests; answers with `answer(req)` (or echoes the body). */
function recording(answer: (req: TransportRequest) => unknown = (req) => req.body ?? {}) {
  const reqs: TransportRequest[] = [];
  const transport: Transport = {
    async request(req) {
      reqs.push(req);
      const a = answer(req);
      if (a instanceof Error) throw a;
      return a;
    },
    async watch(req, onEvent) {
      reqs.push(req);
      onEvent({ type: 'ADDED', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } } });
    },
    close() {},
  };
  return { reqs, client: createClient(transport) };
}

const obj = (kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});

test('paths: core and group, namespaced and cluster-scoped, names and subresources', () => {
  const info = (g: string, r: string) => findResource(g, r)!;
  assert.equal(
    resourcePath(info('', 'services'), 'default', 'web'),
    '/api/v1/namespaces/default/services/web',
  );
  assert.equal(resourcePath(info('', 'services')), '/api/v1/services');
  assert.equal(resourcePath(info('', 'nodes'), 'ignored', 'n1', 'status'), '/api/v1/nodes/n1/status');
  assert.equal(
    resourcePath(info('', 'namespaces'), undefined, 'kube-system'),
    '/api/v1/namespaces/kube-system',
  );
  assert.equal(
    resourcePath(info('apps', 'deployments'), 'prod', 'api', 'scale'),
    '/apis/apps/v1/namespaces/prod/deployments/api/scale',
  );
  assert.equal(
    resourcePath(info('discovery.k8s.io', 'endpointslices'), 'default'),
    '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
  );
});

test('resources by plural, short name, kind, group/resource and resource.group', () => {
  const { client } = recording();
  assert.equal(client.resource('svc').info.resource, 'services');
  assert.equal(client.resource('Service').info.resource, 'services');
  assert.equal(client.resource('apps/deployments').info.kind, 'Deployment');
  assert.equal(client.resource('endpointslices.discovery.k8s.io').info.kind, 'EndpointSlice');
  assert.equal(client.resource('pods'), client.resource('po'));
  assert.throws(() => client.resource('widgets'), { code: 'KDP_ERR_API_UNKNOWN_RESOURCE' });
});

test('verbs, namespaces and query parameters', async () => {
  const { reqs, client } = recording();
  const svc = client.resource('services');
  await svc.list({ labelSelector: 'app=web', limit: 10 });
  await svc.list({ namespace: 'prod', fieldSelector: 'spec.type=NodePort', continue: 'tok' });
  await svc.get('web');
  await svc.get('web', 'prod');
  await svc.create(obj('Service', 'a', 'team'));
  await svc.create(obj('Service', 'b'));
  await svc.create(obj('Service', 'c', 'team'), { namespace: 'override', dryRun: true });
  await svc.update(obj('Service', 'a', 'team'));
  await svc.updateStatus(obj('Service', 'a', 'team'));
  await client.resource('nodes').create(obj('Node', 'n1', 'stray'));
  const seen = reqs.map((r) => [r.method, r.path, r.query]);
  assert.deepEqual(seen, [
    [
      'GET',
      '/api/v1/services',
      { labelSelector: 'app=web', fieldSelector: undefined, limit: 10, continue: undefined },
    ],
    [
      'GET',
      '/api/v1/namespaces/prod/services',
      { labelSelector: undefined, fieldSelector: 'spec.type=NodePort', limit: undefined, continue: 'tok' },
    ],
    ['GET', '/api/v1/namespaces/default/services/web', undefined],
    ['GET', '/api/v1/namespaces/prod/services/web', undefined],
    ['POST', '/api/v1/namespaces/team/services', { dryRun: undefined }],
    ['POST', '/api/v1/namespaces/default/services', { dryRun: undefined }],
    ['POST', '/api/v1/namespaces/override/services', { dryRun: 'All' }],
    ['PUT', '/api/v1/namespaces/team/services/a', undefined],
    ['PUT', '/api/v1/namespaces/team/services/a/status', undefined],
    ['POST', '/api/v1/nodes', { dryRun: undefined }],
  ]);
  await assert.rejects(svc.update(obj('Service', '')), { code: 'KDP_ERR_INVALID_ARGUMENT' });
});

test('patch sends the content type of its kind, to the subresource if asked', async () => {
  const { reqs, client } = recording();
  const deploy = client.resource('deploy');
  await deploy.patch('api', { spec: { replicas: 3 } });
  await deploy.patch(
    'api',
    { spec: { replicas: 3 } },
    { type: 'strategic', subresource: 'scale', namespace: 'p' },
  );
  await deploy.patch('api', [{ op: 'remove', path: '/metadata/labels/x' }], { type: 'json' });
  assert.deepEqual(
    reqs.map((r) => [r.method, r.path, r.contentType]),
    [
      ['PATCH', '/apis/apps/v1/namespaces/default/deployments/api', 'application/merge-patch+json'],
      ['PATCH', '/apis/apps/v1/namespaces/p/deployments/api/scale', 'application/strategic-merge-patch+json'],
      ['PATCH', '/apis/apps/v1/namespaces/default/deployments/api', 'application/json-patch+json'],
    ],
  );
  assert.deepEqual(reqs[2].body, [{ op: 'remove', path: '/metadata/labels/x' }]);
});

test('delete sends DeleteOptions only when given, returns the object or undefined for a Status', async () => {
  let answer: unknown = obj('Pod', 'p', 'default');
  const { reqs, client } = recording(() => answer);
  const pods = client.resource('pods');
  assert.deepEqual(await pods.delete('p'), obj('Pod', 'p', 'default'));
  assert.equal(reqs[0].body, undefined);
  answer = { apiVersion: 'v1', kind: 'Status', status: 'Success', metadata: {}, code: 200 };
  assert.equal(
    await pods.delete('p', { namespace: 'x', gracePeriodSeconds: 0, propagationPolicy: 'Orphan' }),
    undefined,
  );
  assert.equal(reqs[1].path, '/api/v1/namespaces/x/pods/p');
  assert.deepEqual(reqs[1].body, {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    gracePeriodSeconds: 0,
    propagationPolicy: 'Orphan',
  });
});

test('tryGet maps 404 to undefined and passes other errors through', async () => {
  let err: ApiError = notFound('pods', 'p');
  const { client } = recording(() => err);
  assert.equal(await client.resource('pods').tryGet('p'), undefined);
  err = new ApiError('Forbidden', 'no');
  await assert.rejects(client.resource('pods').tryGet('p'), { reason: 'Forbidden' });
});

test('listAll follows continue and keeps the first page resourceVersion', async () => {
  const pages: Record<string, unknown> = {
    '': {
      apiVersion: 'v1',
      kind: 'PodList',
      metadata: { resourceVersion: '7', continue: 'c1', remainingItemCount: 3 },
      items: [obj('Pod', 'a')],
    },
    c1: {
      apiVersion: 'v1',
      kind: 'PodList',
      metadata: { resourceVersion: '9', continue: 'c2' },
      items: [obj('Pod', 'b'), obj('Pod', 'c')],
    },
    c2: { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '9' }, items: [obj('Pod', 'd')] },
  };
  const { reqs, client } = recording((req) => pages[String(req.query?.continue ?? '')]);
  const all = await client.resource('pods').listAll({ limit: 1, labelSelector: 'x' });
  assert.deepEqual(
    all.items.map((p) => p.metadata.name),
    ['a', 'b', 'c', 'd'],
  );
  assert.deepEqual(all.metadata, { resourceVersion: '7' });
  assert.equal(all.kind, 'PodList');
  assert.deepEqual(
    reqs.map((r) => [r.query?.continue, r.query?.limit, r.query?.labelSelector]),
    [
      [undefined, 1, 'x'],
      ['c1', 1, 'x'],
      ['c2', 1, 'x'],
    ],
  );
});

test('watch asks for a watch on the list path with its parameters', async () => {
  const { reqs, client } = recording();
  const got: WatchEvent[] = [];
  const ac = new AbortController();
  await client.resource('pods').watch(
    {
      namespace: 'kube-system',
      resourceVersion: '42',
      allowWatchBookmarks: true,
      timeoutSeconds: 30,
      signal: ac.signal,
    },
    (ev) => got.push(ev),
  );
  assert.equal(got.length, 1);
  assert.equal(reqs[0].path, '/api/v1/namespaces/kube-system/pods');
  assert.equal(reqs[0].signal, ac.signal);
  assert.deepEqual(reqs[0].query, {
    watch: 'true',
    resourceVersion: '42',
    allowWatchBookmarks: true,
    timeoutSeconds: 30,
    labelSelector: undefined,
    fieldSelector: undefined,
  });
});

test('a default namespace (a kubeconfig context has one) replaces "default" when none is named', async () => {
  const reqs: TransportRequest[] = [];
  const client = createClient(
    { request: async (r) => (reqs.push(r), {}), watch: async () => {}, close() {} },
    { defaultNamespace: 'team' },
  );
  await client.resource('svc').get('web');
  await client.resource('svc').create(obj('Service', 'a'));
  await client.resource('svc').create(obj('Service', 'b', 'mine'));
  await client.resource('svc').list();
  assert.deepEqual(
    reqs.map((r) => r.path),
    [
      '/api/v1/namespaces/team/services/web',
      '/api/v1/namespaces/team/services',
      '/api/v1/namespaces/mine/services',
      '/api/v1/services',
    ],
  );
});
