// fieldValidation as upstream: wrong JSON types are 400 whatever the mode; unknown fields are 400
// under Strict (what kubectl sends), a Warning under Warn (the default) and silent under Ignore,
// and dropped unless refused (finding 5: Strict was ignored and unknown fields were stored). A
// realistic manifest of every served kind with many optional fields passes under Strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findResourceByKind } from '../../../dataplane/api/resources.ts';
import {
  call,
  expectObject,
  expectStatus,
  newFixture,
  pod,
  POD_PATH,
  SVC_PATH,
  service,
} from './dispatch-fixture.ts';

const strict = { fieldValidation: 'Strict' };

function collectionPath(apiVersion: string, kind: string, namespace: string | undefined): string {
  const info = findResourceByKind(apiVersion, kind);
  assert.ok(info, `${apiVersion} ${kind} is not served`);
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  return info.namespaced
    ? `${base}/namespaces/${namespace ?? 'default'}/${info.resource}`
    : `${base}/${info.resource}`;
}

test('a realistic multi-kind manifest with many optional fields is accepted under Strict, fields kept', () => {
  const f = newFixture();
  const text = readFileSync(join(import.meta.dirname, 'fixtures', 'realistic-manifest.yaml'), 'utf8');
  const docs = parseAllDocuments(text).map((d) => d.toJSON() as Record<string, any>);
  assert.equal(new Set(docs.map((d) => d.kind)).size, 9);
  for (const doc of docs) {
    const path = collectionPath(doc.apiVersion, doc.kind, doc.metadata.namespace);
    const r = call(f, 'POST', path, { body: doc, query: strict });
    const made = expectObject(r, 201);
    assert.equal((r as { warnings?: string[] }).warnings, undefined, `${doc.kind}: no warnings`);
    assert.equal(made.metadata.name, doc.metadata.name);
  }
  const dep = expectObject(call(f, 'GET', '/apis/apps/v1/namespaces/shop/deployments/frontend'));
  const c = dep.spec.template.spec.containers[0];
  assert.equal(c.readinessProbe.httpGet.port, 'http');
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(
    dep.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight,
    100,
  );
});

test("finding 5: fieldValidation=Strict refuses unknown fields with upstream's message, nothing stored", () => {
  const f = newFixture();
  const body = service('web');
  (body.spec as Record<string, unknown>).foo = 1;
  (body.metadata as Record<string, unknown>).colour = 'red';
  const s = expectStatus(call(f, 'POST', SVC_PATH, { body, query: strict }), 400, 'BadRequest');
  assert.equal(
    s.message,
    'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "metadata.colour", unknown field "spec.foo"',
  );
  expectStatus(call(f, 'GET', `${SVC_PATH}/web`), 404, 'NotFound');
  const p = pod('p');
  (p.spec as { containers: Record<string, unknown>[] }).containers[0].comand = ['sh'];
  const ps = expectStatus(call(f, 'POST', POD_PATH, { body: p, query: strict }), 400, 'BadRequest');
  assert.match(ps.message, /unknown field "spec\.containers\[0\]\.comand"/);
});

test('Warn (and no fieldValidation) answers with warnings and drops the field; Ignore drops it silently', () => {
  const f = newFixture();
  for (const [name, query] of [
    ['a', { fieldValidation: 'Warn' }],
    ['b', {}],
  ] as const) {
    const body = service(name);
    (body.spec as Record<string, unknown>).foo = 1;
    const r = call(f, 'POST', SVC_PATH, { body, query });
    const made = expectObject(r, 201);
    assert.deepEqual((r as { warnings?: string[] }).warnings, ['unknown field "spec.foo"']);
    assert.equal(made.spec.foo, undefined);
  }
  const body = service('c');
  (body.spec as Record<string, unknown>).foo = 1;
  const r = call(f, 'POST', SVC_PATH, { body, query: { fieldValidation: 'Ignore' } });
  assert.equal(expectObject(r, 201).spec.foo, undefined);
  assert.equal((r as { warnings?: string[] }).warnings, undefined);
  expectStatus(call(f, 'POST', SVC_PATH, { body, query: { fieldValidation: 'strict' } }), 400, 'BadRequest');
});

test('Strict applies to PUT and to every patch type (checked on the patched object)', () => {
  const f = newFixture();
  const made = expectObject(call(f, 'POST', SVC_PATH, { body: service('web') }), 201);
  expectStatus(
    call(f, 'PUT', `${SVC_PATH}/web`, { body: { ...made, bogus: true }, query: strict }),
    400,
    'BadRequest',
  );
  const patches: [string, unknown][] = [
    ['application/merge-patch+json', { spec: { bogus: 1 } }],
    ['application/strategic-merge-patch+json', { spec: { bogus: 1 } }],
    ['application/json-patch+json', [{ op: 'add', path: '/spec/bogus', value: 1 }]],
  ];
  for (const [contentType, body] of patches) {
    const s = expectStatus(
      call(f, 'PATCH', `${SVC_PATH}/web`, { body, contentType, query: strict }),
      400,
      'BadRequest',
    );
    assert.match(s.message, /unknown field "spec\.bogus"/, contentType);
  }
  assert.equal(expectObject(call(f, 'GET', `${SVC_PATH}/web`)).spec.bogus, undefined);
});

test('finding 5: wrong JSON types are 400 whatever fieldValidation says', () => {
  const f = newFixture();
  const cases: [string, Record<string, unknown>][] = [
    ['metadata.name', { metadata: { name: 5 } }],
    [
      'spec.containers[0].command',
      { spec: { containers: [{ name: 'c', image: 'i', command: 'sh -c id' }] } },
    ],
    ['spec.hostNetwork', { spec: { hostNetwork: 'yes', containers: [{ name: 'c', image: 'i' }] } }],
    ['metadata.finalizers', { metadata: { name: 'x', finalizers: 'a/b' } }],
  ];
  for (const [field, over] of cases) {
    for (const fieldValidation of ['Ignore', 'Warn', 'Strict']) {
      const body = { ...pod('x'), ...over, metadata: { name: 'x', ...(over.metadata as object) } };
      const s = expectStatus(
        call(f, 'POST', POD_PATH, { body, query: { fieldValidation } }),
        400,
        'BadRequest',
      );
      assert.match(
        s.message,
        new RegExp(`cannot unmarshal \\w+ into Go struct field ${field.replace(/[.[\]]/g, '\\$&')} of type`),
      );
    }
  }
  expectStatus(call(f, 'GET', `${POD_PATH}/x`), 404, 'NotFound');
});

test('duplicate JSON fields: 400 under Strict, a warning under Warn (last value kept), silent under Ignore', () => {
  const f = newFixture();
  const raw = (name: string) =>
    `{"apiVersion":"v1","kind":"Service","metadata":{"name":"${name}","name":"${name}"},"spec":{"ports":[{"port":80,"port":81}]}}`;
  const s = expectStatus(call(f, 'POST', SVC_PATH, { raw: raw('dup-a'), query: strict }), 400, 'BadRequest');
  assert.match(
    s.message,
    /strict decoding error: duplicate field "metadata\.name", duplicate field "spec\.ports\[0\]\.port"/,
  );
  expectStatus(call(f, 'GET', `${SVC_PATH}/dup-a`), 404, 'NotFound');
  const r = call(f, 'POST', SVC_PATH, { raw: raw('dup-b'), query: { fieldValidation: 'Warn' } });
  assert.equal(expectObject(r, 201).spec.ports[0].port, 81);
  assert.deepEqual((r as { warnings?: string[] }).warnings, [
    'duplicate field "metadata.name"',
    'duplicate field "spec.ports[0].port"',
  ]);
  const q = call(f, 'POST', SVC_PATH, { raw: raw('dup-c'), query: { fieldValidation: 'Ignore' } });
  expectObject(q, 201);
  assert.equal((q as { warnings?: string[] }).warnings, undefined);
});
