// The verbs through the dispatcher: create, get, list with selectors and pages, update with
// optimistic concurrency, the patch types, dry runs, deletes with options and preconditions,
// collections, the status and scale subresources, namespace finalize, and malformed bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  call,
  DEPLOY_PATH,
  deployment,
  expectObject,
  expectStatus,
  newFixture,
  pod,
  POD_PATH,
  service,
  SVC_PATH,
} from './dispatch-fixture.ts';

test('create answers 201 with server-filled metadata; get returns the same object', () => {
  const f = newFixture();
  const created = expectObject(call(f, 'POST', SVC_PATH, { body: service('web') }), 201);
  assert.equal(created.metadata.namespace, 'default');
  assert.ok(created.metadata.uid);
  assert.ok(created.metadata.resourceVersion);
  assert.match(created.spec.clusterIP, /^10\.96\./);
  const got = expectObject(call(f, 'GET', `${SVC_PATH}/web`));
  assert.deepEqual(got, created);
  expectStatus(call(f, 'POST', SVC_PATH, { body: service('web') }), 409, 'AlreadyExists');
  expectStatus(call(f, 'GET', `${SVC_PATH}/nope`), 404, 'NotFound');
  expectStatus(
    call(f, 'POST', '/api/v1/namespaces/elsewhere/services', { body: service('x') }),
    404,
    'NotFound',
  );
});

test('YAML bodies are accepted when the Content-Type says so', () => {
  const f = newFixture();
  const yaml =
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: y\nspec:\n  ports:\n  - port: 53\n    protocol: UDP\n';
  const created = expectObject(
    call(f, 'POST', SVC_PATH, { raw: yaml, contentType: 'application/yaml' }),
    201,
  );
  assert.equal(created.spec.ports[0].protocol, 'UDP');
});

test('list: label and field selectors, all namespaces, and bad selectors are 400', () => {
  const f = newFixture();
  call(f, 'POST', '/api/v1/namespaces', { body: { metadata: { name: 'other' } } });
  call(f, 'POST', SVC_PATH, { body: service('a', { tier: 'front' }) });
  call(f, 'POST', SVC_PATH, { body: service('b', { tier: 'back' }) });
  call(f, 'POST', '/api/v1/namespaces/other/services', { body: service('c', { tier: 'front' }) });
  const names = (r: any) => r.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
  const front = expectObject(call(f, 'GET', SVC_PATH, { query: { labelSelector: 'tier=front' } }));
  assert.equal(front.kind, 'ServiceList');
  assert.deepEqual(names(front), ['default/a']);
  const everywhere = expectObject(
    call(f, 'GET', '/api/v1/services', { query: { labelSelector: 'tier in (front,back)' } }),
  );
  assert.deepEqual(names(everywhere), ['default/a', 'default/b', 'other/c']);
  const byName = expectObject(
    call(f, 'GET', '/api/v1/services', { query: { fieldSelector: 'metadata.name=c' } }),
  );
  assert.deepEqual(names(byName), ['other/c']);
  assert.match(everywhere.metadata.resourceVersion, /^\d+$/);
  expectStatus(call(f, 'GET', SVC_PATH, { query: { labelSelector: 'a b c' } }), 400, 'BadRequest');
  expectStatus(call(f, 'GET', SVC_PATH, { query: { fieldSelector: 'spec.nope=1' } }), 400, 'BadRequest');
  expectStatus(call(f, 'GET', SVC_PATH, { query: { limit: 'many' } }), 400, 'BadRequest');
});

test('list pages: limit and continue walk every object once', () => {
  const f = newFixture();
  for (let i = 0; i < 5; i++) call(f, 'POST', SVC_PATH, { body: service(`s${i}`, { page: 'yes' }) });
  const seen: string[] = [];
  let cont: string | undefined;
  let pages = 0;
  do {
    const query: Record<string, string> = { limit: '2', labelSelector: 'page=yes' };
    if (cont) query.continue = cont;
    const page = expectObject(call(f, 'GET', SVC_PATH, { query }));
    seen.push(...page.items.map((o: any) => o.metadata.name));
    cont = page.metadata.continue;
    if (cont) assert.equal(page.metadata.remainingItemCount, 5 - seen.length);
    pages++;
  } while (cont);
  assert.deepEqual(seen, ['s0', 's1', 's2', 's3', 's4']);
  assert.equal(pages, 3);
  expectStatus(call(f, 'GET', SVC_PATH, { query: { continue: 'garbage' } }), 400, 'BadRequest');
});

test('update: a stale resourceVersion is 409 Conflict; the name must match the URL', () => {
  const f = newFixture();
  const v1 = expectObject(call(f, 'POST', SVC_PATH, { body: service('web') }), 201);
  const v2 = expectObject(
    call(f, 'PUT', `${SVC_PATH}/web`, { body: { ...v1, metadata: { ...v1.metadata, labels: { x: '1' } } } }),
  );
  assert.equal(v2.metadata.labels.x, '1');
  assert.notEqual(v2.metadata.resourceVersion, v1.metadata.resourceVersion);
  const stale = expectStatus(
    call(f, 'PUT', `${SVC_PATH}/web`, { body: { ...v1, metadata: { ...v1.metadata, labels: { x: '2' } } } }),
    409,
    'Conflict',
  );
  assert.match(stale.message, /the object has been modified/);
  expectStatus(call(f, 'PUT', `${SVC_PATH}/other`, { body: v2 }), 400, 'BadRequest');
  expectStatus(call(f, 'PUT', `${SVC_PATH}/web`, { body: { ...v2, kind: 'Pod' } }), 400, 'BadRequest');
});

test('patch: merge, strategic and JSON patch by Content-Type', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('web') });
  const path = `${SVC_PATH}/web`;
  const merged = expectObject(
    call(f, 'PATCH', path, {
      body: { metadata: { labels: { a: '1' } } },
      contentType: 'application/merge-patch+json',
    }),
  );
  assert.equal(merged.metadata.labels.a, '1');
  const strategic = expectObject(
    call(f, 'PATCH', path, {
      body: { spec: { ports: [{ port: 443, targetPort: 8443, name: 'https' }] } },
      contentType: 'application/strategic-merge-patch+json',
    }),
  );
  // Strategic merge keys ports by port number: the new one joins the old one.
  assert.deepEqual(strategic.spec.ports.map((p: any) => p.port).sort(), [443, 80]);
  const json = expectObject(
    call(f, 'PATCH', path, {
      body: [{ op: 'replace', path: '/metadata/labels/a', value: '2' }],
      contentType: 'application/json-patch+json',
    }),
  );
  assert.equal(json.metadata.labels.a, '2');
  expectStatus(
    call(f, 'PATCH', path, { raw: '{nope', contentType: 'application/merge-patch+json' }),
    400,
    'BadRequest',
  );
  expectStatus(
    call(f, 'PATCH', `${SVC_PATH}/gone`, { body: {}, contentType: 'application/merge-patch+json' }),
    404,
    'NotFound',
  );
});

test('dryRun=All validates and answers without storing; other dryRun values are 400', () => {
  const f = newFixture();
  const before = f.store.resourceVersion;
  const dry = expectObject(
    call(f, 'POST', SVC_PATH, { body: service('dry'), query: { dryRun: 'All' } }),
    201,
  );
  assert.equal(dry.metadata.name, 'dry');
  assert.equal(f.store.resourceVersion, before);
  expectStatus(call(f, 'GET', `${SVC_PATH}/dry`), 404);
  expectStatus(
    call(f, 'POST', SVC_PATH, { body: service('dry'), query: { dryRun: 'Some' } }),
    400,
    'BadRequest',
  );
});

test('delete: DeleteOptions preconditions in the body, bad options are 422, the object comes back', () => {
  const f = newFixture();
  const svc = expectObject(call(f, 'POST', SVC_PATH, { body: service('web') }), 201);
  const path = `${SVC_PATH}/web`;
  const body = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-the-uid' } };
  expectStatus(call(f, 'DELETE', path, { body }), 409, 'Conflict');
  expectStatus(call(f, 'DELETE', path, { body: { propagationPolicy: 'Sideways' } }), 422, 'Invalid');
  expectStatus(call(f, 'DELETE', path, { query: { gracePeriodSeconds: '-3' } }), 422, 'Invalid');
  const gone = expectObject(
    call(f, 'DELETE', path, {
      body: {
        kind: 'DeleteOptions',
        preconditions: { uid: svc.metadata.uid },
        propagationPolicy: 'Background',
      },
    }),
  );
  assert.equal(gone.metadata.name, 'web');
  expectStatus(call(f, 'GET', path), 404, 'NotFound');
});

test('DELETE on a collection deletes what the selector matches', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('a', { drop: 'yes' }) });
  call(f, 'POST', SVC_PATH, { body: service('b', { drop: 'yes' }) });
  call(f, 'POST', SVC_PATH, { body: service('keep') });
  const deleted = expectObject(call(f, 'DELETE', SVC_PATH, { query: { labelSelector: 'drop=yes' } }));
  assert.deepEqual(deleted.items.map((o: any) => o.metadata.name).sort(), ['a', 'b']);
  const left = expectObject(call(f, 'GET', SVC_PATH));
  assert.deepEqual(left.items.map((o: any) => o.metadata.name).sort(), ['keep']);
});

test('pod deletion with a grace period marks the pod; gracePeriodSeconds=0 removes it', () => {
  const f = newFixture();
  call(f, 'POST', POD_PATH, { body: pod('p', { nodeName: 'n1' }) });
  const marked = expectObject(call(f, 'DELETE', `${POD_PATH}/p`));
  assert.ok(marked.metadata.deletionTimestamp);
  expectObject(call(f, 'GET', `${POD_PATH}/p`));
  expectObject(call(f, 'DELETE', `${POD_PATH}/p`, { query: { gracePeriodSeconds: '0' } }));
  expectStatus(call(f, 'GET', `${POD_PATH}/p`), 404);
});

test('status subresource: PUT status changes the status only; a main update keeps the status', () => {
  const f = newFixture();
  const p = expectObject(call(f, 'POST', POD_PATH, { body: pod('p') }), 201);
  const withStatus = {
    ...p,
    metadata: { ...p.metadata, labels: { sneaky: 'yes' } },
    status: { phase: 'Running', podIP: '10.244.1.5' },
  };
  const afterStatus = expectObject(call(f, 'PUT', `${POD_PATH}/p/status`, { body: withStatus }));
  assert.equal(afterStatus.status.phase, 'Running');
  assert.equal(
    afterStatus.metadata.labels?.sneaky,
    undefined,
    'a status update changes nothing but the status',
  );
  const viaGet = expectObject(call(f, 'GET', `${POD_PATH}/p/status`));
  assert.equal(viaGet.status.podIP, '10.244.1.5');
  const main = {
    ...afterStatus,
    metadata: { ...afterStatus.metadata, labels: { l: '1' } },
    status: { phase: 'Failed' },
  };
  const afterMain = expectObject(call(f, 'PUT', `${POD_PATH}/p`, { body: main }));
  assert.equal(afterMain.metadata.labels.l, '1');
  assert.equal(afterMain.status.phase, 'Running', 'the main resource ignores status changes');
  const patched = expectObject(
    call(f, 'PATCH', `${POD_PATH}/p/status`, {
      body: { status: { phase: 'Succeeded' } },
      contentType: 'application/merge-patch+json',
    }),
  );
  assert.equal(patched.status.phase, 'Succeeded');
});

test('scale subresource: GET is an autoscaling/v1 Scale; PUT and PATCH change spec.replicas', () => {
  const f = newFixture();
  call(f, 'POST', DEPLOY_PATH, { body: deployment('web', 2) });
  const scale = expectObject(call(f, 'GET', `${DEPLOY_PATH}/web/scale`));
  assert.equal(scale.kind, 'Scale');
  assert.equal(scale.apiVersion, 'autoscaling/v1');
  assert.equal(scale.spec.replicas, 2);
  assert.equal(scale.status.selector, 'app=web');
  const put = expectObject(
    call(f, 'PUT', `${DEPLOY_PATH}/web/scale`, { body: { ...scale, spec: { replicas: 4 } } }),
  );
  assert.equal(put.spec.replicas, 4);
  const patched = expectObject(
    call(f, 'PATCH', `${DEPLOY_PATH}/web/scale`, {
      body: { spec: { replicas: 7 } },
      contentType: 'application/merge-patch+json',
    }),
  );
  assert.equal(patched.spec.replicas, 7);
  assert.equal(expectObject(call(f, 'GET', `${DEPLOY_PATH}/web`)).spec.replicas, 7);
  expectStatus(
    call(f, 'PUT', `${DEPLOY_PATH}/web/scale`, { body: { spec: { replicas: -1 } } }),
    422,
    'Invalid',
  );
});

test('namespace finalize: emptying spec.finalizers of a terminating namespace removes it', () => {
  const f = newFixture();
  const ns = expectObject(
    call(f, 'POST', '/api/v1/namespaces', { body: { metadata: { name: 'doomed' } } }),
    201,
  );
  assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
  const terminating = expectObject(call(f, 'DELETE', '/api/v1/namespaces/doomed'));
  assert.equal(terminating.status.phase, 'Terminating');
  expectStatus(
    call(f, 'POST', '/api/v1/namespaces/doomed/services', { body: service('late') }),
    403,
    'Forbidden',
  );
  expectObject(
    call(f, 'PUT', '/api/v1/namespaces/doomed/finalize', {
      body: { ...terminating, spec: { finalizers: [] } },
    }),
  );
  expectStatus(call(f, 'GET', '/api/v1/namespaces/doomed'), 404, 'NotFound');
});

test('malformed and oversized bodies: 400 for bad JSON, 413 past the limit, 400 without a body', () => {
  const f = newFixture({ maxBodyBytes: 1024 });
  const bad = expectStatus(call(f, 'POST', SVC_PATH, { raw: '{"metadata": ' }), 400, 'BadRequest');
  assert.match(bad.message, /json parse error/);
  expectStatus(call(f, 'POST', SVC_PATH, { raw: '[1,2]' }), 400, 'BadRequest');
  expectStatus(call(f, 'POST', SVC_PATH, { raw: 'x'.repeat(2048) }), 413, 'RequestEntityTooLarge');
  expectStatus(call(f, 'POST', SVC_PATH, {}), 400, 'BadRequest');
  expectStatus(call(f, 'POST', SVC_PATH, { body: { ...service('x'), apiVersion: 'v2' } }), 400, 'BadRequest');
});
