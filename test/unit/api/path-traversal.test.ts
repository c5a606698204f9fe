// Path traversal over real HTTP, with paths sent byte for byte (fetch would normalise them):
// `%2e%2e`, `..`, `.`, an encoded `/` or `%` as a name or namespace is 400 BadRequest before any
// lookup, in upstream's words; in a resource or subresource position it addresses nothing (404).
// GET and DELETE on .../services/%2e%2e never reach the Namespace, and /namespaces/%2e%2e/services
// never lists every namespace's Services.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { ApiHttpServer } from '../../../dataplane/api/http/http-server.ts';
import { parsePath, pathSegmentProblems } from '../../../dataplane/api/http/rest-paths.ts';
import { call, expectObject, newFixture, service } from './dispatch-fixture.ts';

const fixture = newFixture();
let server: ApiHttpServer;

before(async () => {
  server = await ApiHttpServer.listen({ dispatcher: fixture.dispatch, tcp: { host: '127.0.0.1', port: 0 } });
  expectObject(call(fixture, 'POST', '/api/v1/namespaces', { body: { metadata: { name: 'victim' } } }), 201);
  expectObject(call(fixture, 'POST', '/api/v1/namespaces/victim/services', { body: service('web') }), 201);
});

after(() => server.close());

function send(method: string, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const NAMES: [string, RegExp][] = [
  ['%2e%2e', /may not be '\.\.'/],
  ['%2E%2E', /may not be '\.\.'/],
  ['..', /may not be '\.\.'/],
  ['%2e', /may not be '\.'/],
  ['.', /may not be '\.'/],
  ['a%2fb', /may not contain '\/'/],
  ['%2F', /may not contain '\/'/],
  ['a%25b', /may not contain '%'/],
];

for (const method of ['GET', 'DELETE', 'PUT', 'PATCH']) {
  for (const [name, why] of NAMES) {
    test(`traversal: ${method} .../services/${name} is 400 and touches nothing`, async () => {
      const r = await send(method, `/api/v1/namespaces/victim/services/${name}`);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.kind, 'Status');
      assert.equal(r.body.reason, 'BadRequest');
      assert.match(r.body.message, /^Name parameter invalid: /);
      assert.match(r.body.message, why);
      const ns = expectObject(call(fixture, 'GET', '/api/v1/namespaces/victim'));
      assert.equal(ns.status?.phase ?? 'Active', 'Active', 'the Namespace was not touched');
      assert.equal(ns.metadata.deletionTimestamp, undefined);
    });
  }
}

for (const [ns, why] of NAMES) {
  test(`traversal: list /namespaces/${ns}/services is 400, not every namespace's list`, async () => {
    const r = await send('GET', `/api/v1/namespaces/${ns}/services`);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.reason, 'BadRequest');
    assert.match(r.body.message, /^Namespace parameter invalid: /);
    assert.match(r.body.message, why);
  });
}

test('traversal: the Namespace object itself by a dot-dot name, and its subresources', async () => {
  for (const path of [
    '/api/v1/namespaces/%2e%2e',
    '/api/v1/namespaces/%2e%2e/status',
    '/api/v1/namespaces/%2e%2e/finalize',
  ]) {
    const r = await send('GET', path);
    assert.ok(r.status === 400 || r.status === 405, `${path}: ${JSON.stringify(r.body)}`);
  }
  const del = await send('DELETE', '/api/v1/namespaces/%2e%2e');
  assert.equal(del.status, 400);
});

test('traversal: resource, group, version and subresource positions address nothing (404)', async () => {
  for (const path of [
    '/api/v1/namespaces/victim/%2e%2e',
    '/api/v1/namespaces/victim/%2e%2e/web',
    '/api/%2e%2e/namespaces',
    '/apis/%2e%2e/v1/deployments',
    '/apis/apps/%2e%2e/deployments',
    '/api/v1/namespaces/victim/services/web/%2e%2e',
    '/api/v1/namespaces/victim/services/web/status%2f..',
  ]) {
    const r = await send('GET', path);
    assert.equal(r.status, 404, `${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.reason, 'NotFound');
  }
});

test('a malformed escape is 400, and ordinary names still work', async () => {
  const bad = await send('GET', '/api/v1/namespaces/victim/services/%zz');
  assert.equal(bad.status, 400);
  const good = await send('GET', '/api/v1/namespaces/victim/services/web');
  assert.equal(good.status, 200);
  assert.equal(good.body.metadata.name, 'web');
});

test('pathSegmentProblems and parsePath agree with upstream on the edge cases', () => {
  assert.deepEqual(pathSegmentProblems('a.b'), []);
  assert.deepEqual(pathSegmentProblems('...'), []);
  assert.deepEqual(pathSegmentProblems('a/%'), ["may not contain '/'", "may not contain '%'"]);
  assert.equal(parsePath('/api/v1/namespaces/victim/services/web').kind, 'resource');
  assert.equal(parsePath('/api/v1/namespaces/victim/services/%2e%2e').kind, 'badSegment');
});
