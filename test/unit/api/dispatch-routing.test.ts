// Routing and discovery through the dispatcher alone: the documents kubectl maps kinds with, the
// version and health endpoints, OpenAPI, and the 404/405/406/415 answers for what is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, expectObject, expectStatus, newFixture, SVC_PATH } from './dispatch-fixture.ts';

const f = newFixture({ serverAddress: '127.0.0.1:6443' });

test('/api lists v1 and the address clients reach the server at', () => {
  const v = expectObject(call(f, 'GET', '/api'));
  assert.equal(v.kind, 'APIVersions');
  assert.deepEqual(v.versions, ['v1']);
  assert.deepEqual(v.serverAddressByClientCIDRs, [
    { clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' },
  ]);
});

test('/apis lists the groups with their preferred version; /apis/apps is one APIGroup', () => {
  const list = expectObject(call(f, 'GET', '/apis'));
  assert.equal(list.kind, 'APIGroupList');
  const names = list.groups.map((g: any) => g.name).sort();
  assert.deepEqual(names, ['apps', 'discovery.k8s.io']);
  const apps = list.groups.find((g: any) => g.name === 'apps');
  assert.deepEqual(apps.preferredVersion, { groupVersion: 'apps/v1', version: 'v1' });
  const g = expectObject(call(f, 'GET', '/apis/apps'));
  assert.equal(g.kind, 'APIGroup');
  assert.equal(g.name, 'apps');
  assert.deepEqual(g.versions, [{ groupVersion: 'apps/v1', version: 'v1' }]);
});

test('/api/v1 describes each resource and its subresources as upstream does', () => {
  const list = expectObject(call(f, 'GET', '/api/v1'));
  assert.equal(list.kind, 'APIResourceList');
  assert.equal(list.groupVersion, 'v1');
  const byName = new Map(list.resources.map((r: any) => [r.name, r]));
  const pods: any = byName.get('pods');
  assert.equal(pods.kind, 'Pod');
  assert.equal(pods.singularName, 'pod');
  assert.equal(pods.namespaced, true);
  assert.deepEqual(pods.shortNames, ['po']);
  assert.deepEqual(pods.categories, ['all']);
  assert.deepEqual([...pods.verbs].sort(), [
    'create',
    'delete',
    'deletecollection',
    'get',
    'list',
    'patch',
    'update',
    'watch',
  ]);
  assert.deepEqual((byName.get('pods/status') as any).verbs, ['get', 'patch', 'update']);
  const ns: any = byName.get('namespaces');
  assert.equal(ns.namespaced, false);
  assert.ok(!ns.verbs.includes('deletecollection'), 'namespaces have no deletecollection, as upstream');
  assert.deepEqual((byName.get('namespaces/finalize') as any).verbs, ['update']);
  assert.equal((byName.get('nodes') as any).namespaced, false);
});

test('apps/v1 has the scale subresources as autoscaling/v1 Scale, which kubectl scale looks up', () => {
  const list = expectObject(call(f, 'GET', '/apis/apps/v1'));
  assert.equal(list.groupVersion, 'apps/v1');
  const scale = list.resources.find((r: any) => r.name === 'deployments/scale');
  assert.deepEqual(
    { group: scale.group, version: scale.version, kind: scale.kind, namespaced: scale.namespaced },
    { group: 'autoscaling', version: 'v1', kind: 'Scale', namespaced: true },
  );
  const slices = expectObject(call(f, 'GET', '/apis/discovery.k8s.io/v1'));
  assert.ok(slices.resources.some((r: any) => r.name === 'endpointslices' && r.kind === 'EndpointSlice'));
});

test('/version says v1.32 with kdp in gitVersion and its own version in a field', () => {
  const v = expectObject(call(f, 'GET', '/version'));
  assert.equal(v.major, '1');
  assert.equal(v.minor, '32');
  assert.match(v.gitVersion, /^v1\.32\.\d+-kdp$/);
  assert.match(v.kdpVersion, /^\d+\.\d+\.\d+/);
});

test('health endpoints answer "ok" as text, named checks too; unknown checks are 404', () => {
  for (const p of ['/healthz', '/readyz', '/livez', '/healthz/ping', '/readyz/ping']) {
    const r = call(f, 'GET', p);
    assert.equal(r.kind, 'text', p);
    assert.equal((r as any).status, 200);
    assert.equal((r as any).body, 'ok');
  }
  const verbose = call(f, 'GET', '/readyz', { query: { verbose: '' } }) as any;
  assert.match(verbose.body, /readyz check passed/);
  expectStatus(call(f, 'GET', '/healthz/nonsense'), 404, 'NotFound');
});

test('OpenAPI v2 is a valid document without schemas (JSON or protobuf); v3 is 404', () => {
  const json = expectObject(call(f, 'GET', '/openapi/v2', { accept: 'application/json' }));
  assert.equal(json.swagger, '2.0');
  assert.deepEqual(json.paths, {});
  const pb = call(f, 'GET', '/openapi/v2', {
    accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
  }) as any;
  assert.equal(pb.kind, 'text');
  assert.match(pb.contentType, /protobuf/);
  assert.ok(Buffer.isBuffer(pb.body));
  // Field 1 (swagger) is the string "2.0".
  assert.deepEqual([...pb.body.subarray(0, 5)], [0x0a, 3, ...Buffer.from('2.0')]);
  expectStatus(call(f, 'GET', '/openapi/v3'), 404, 'NotFound');
  expectStatus(call(f, 'GET', '/openapi/v3/api/v1'), 404, 'NotFound');
});

test('unknown paths are a 404 Status', () => {
  for (const p of [
    '/nothing',
    '/api/v2',
    '/apis/example.com',
    '/apis/apps/v2',
    '/api/v1/foos',
    '/api/v1/pods/web', // a namespaced resource by name needs its namespace
    '/api/v1/namespaces/default/services/web/nonsense',
    '/api/v1/namespaces/default/services/web/scale', // services have no scale
    '/api/v1/namespaces/default/services/web/status/more',
    '/apis/apps/v1/namespaces',
  ]) {
    const s = expectStatus(call(f, 'GET', p), 404, 'NotFound');
    assert.equal(s.message, 'the server could not find the requested resource', p);
  }
});

test('a method the path does not take is a 405 Status', () => {
  const cases: [string, string][] = [
    ['POST', '/api'],
    ['DELETE', '/apis'],
    ['PUT', SVC_PATH],
    ['PATCH', SVC_PATH],
    ['POST', `${SVC_PATH}/web`],
    ['POST', '/api/v1/pods'], // create needs a namespace
    ['DELETE', '/api/v1/pods'], // deletecollection too
    ['DELETE', '/api/v1/namespaces'], // namespaces have no deletecollection
    ['GET', '/api/v1/namespaces/default/finalize'],
    ['OPTIONS', SVC_PATH],
  ];
  for (const [method, path] of cases) {
    expectStatus(call(f, method as any, path), 405, 'MethodNotAllowed');
  }
});

test('content negotiation: protobuf alone is 406; protobuf then JSON is JSON; odd bodies are 415', () => {
  expectStatus(
    call(f, 'GET', SVC_PATH, { accept: 'application/vnd.kubernetes.protobuf' }),
    406,
    'NotAcceptable',
  );
  const list = expectObject(
    call(f, 'GET', SVC_PATH, { accept: 'application/vnd.kubernetes.protobuf,application/json' }),
  );
  assert.equal(list.kind, 'ServiceList');
  expectStatus(
    call(f, 'POST', SVC_PATH, { raw: 'x', contentType: 'application/vnd.kubernetes.protobuf' }),
    415,
    'UnsupportedMediaType',
  );
  expectStatus(
    call(f, 'PATCH', `${SVC_PATH}/kubernetes`, { raw: '{}', contentType: 'application/json' }),
    415,
    'UnsupportedMediaType',
  );
});
