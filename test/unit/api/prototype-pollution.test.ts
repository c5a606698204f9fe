// Prototype pollution through every place a request's JSON is parsed or merged: the body decoder
// (JSON and YAML), merge patch, strategic merge patch and JSON patch, at the top level, in spec
// and in metadata.labels, over several kinds. Each request gets a 400, nothing changes in the
// store, and Object.prototype stays clean; a key that only looks like a prototype member
// (`constructor`) is data like any other.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { ApiError } from '../../../dataplane/api/errors.ts';
import { checkJsonValue, parseJsonSafely } from '../../../dataplane/api/json-safe.ts';
import { applyPatch, type PatchType } from '../../../dataplane/api/registry/patch.ts';
import { fieldValue } from '../../../dataplane/api/selectors.ts';
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

const PROTO_KEYS = () => Object.getOwnPropertyNames(Object.prototype).sort();
const CLEAN_KEYS = PROTO_KEYS();

function assertPrototypeClean(): void {
  assert.deepEqual(PROTO_KEYS(), CLEAN_KEYS, 'Object.prototype gained properties');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype.polluted is set');
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
}

afterEach(() => {
  // A failed case must not leak pollution into the next one.
  delete (Object.prototype as Record<string, unknown>).polluted;
  assertPrototypeClean();
});

/** `{"__proto__": {"polluted": "yes"}}` as JSON text: a JS literal would set the prototype instead. */
const PROTO = '{"__proto__":{"polluted":"yes"}}';
const SPOTS: Record<string, string> = {
  'top level': PROTO,
  spec: `{"spec":${PROTO}}`,
  'metadata.labels': `{"metadata":{"labels":${PROTO}}}`,
};
const KINDS = [
  { kind: 'Service', path: SVC_PATH, make: () => service('victim') },
  { kind: 'Deployment', path: DEPLOY_PATH, make: () => deployment('victim') },
  { kind: 'Pod', path: POD_PATH, make: () => pod('victim') },
];
const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

for (const k of KINDS) {
  for (const [type, contentType] of Object.entries(PATCH_TYPES)) {
    for (const [spot, raw] of Object.entries(SPOTS)) {
      test(`crash: ${type} patch __proto__ at ${spot} of a ${k.kind} is 400, stores nothing, pollutes nothing`, () => {
        const f = newFixture();
        const created = expectObject(call(f, 'POST', k.path, { body: k.make() }), 201);
        const s = expectStatus(call(f, 'PATCH', `${k.path}/victim`, { raw, contentType }), 400, 'BadRequest');
        assert.match(s.message, /__proto__/);
        assertPrototypeClean();
        const after = expectObject(call(f, 'GET', `${k.path}/victim`));
        assert.equal(after.metadata.resourceVersion, created.metadata.resourceVersion);
      });
    }
  }
}

test('JSON patch through /__proto__ or /constructor/prototype is 400 and pollutes nothing', () => {
  const f = newFixture();
  expectObject(call(f, 'POST', SVC_PATH, { body: service('victim') }), 201);
  const contentType = 'application/json-patch+json';
  for (const path of ['/__proto__/polluted', '/metadata/__proto__', '/metadata/labels/__proto__']) {
    const raw = JSON.stringify([{ op: 'add', path, value: { polluted: 'yes' } }]);
    expectStatus(call(f, 'PATCH', `${SVC_PATH}/victim`, { raw, contentType }), 400, 'BadRequest');
    assertPrototypeClean();
  }
  // constructor.prototype is not an own path of the object: 400 path does not exist, not a write.
  const raw = JSON.stringify([{ op: 'add', path: '/constructor/prototype/polluted', value: 'yes' }]);
  expectStatus(call(f, 'PATCH', `${SVC_PATH}/victim`, { raw, contentType }), 400, 'BadRequest');
  assertPrototypeClean();
});

test('create and update bodies with __proto__ (JSON and YAML) are 400 before any handler runs', () => {
  const f = newFixture();
  const body = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"p","labels":${PROTO}},"spec":{"ports":[{"port":80}]}}`;
  expectStatus(call(f, 'POST', SVC_PATH, { raw: body }), 400, 'BadRequest');
  const yaml = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: p\n  __proto__:\n    polluted: yes\n';
  expectStatus(call(f, 'POST', SVC_PATH, { raw: yaml, contentType: 'application/yaml' }), 400, 'BadRequest');
  expectStatus(call(f, 'GET', `${SVC_PATH}/p`), 404, 'NotFound');
  expectObject(call(f, 'POST', SVC_PATH, { body: service('q') }), 201);
  expectStatus(call(f, 'PUT', `${SVC_PATH}/q`, { raw: body.replace('"p"', '"q"') }), 400, 'BadRequest');
  assertPrototypeClean();
});

test('an escaped __proto__ key (\\u005f) is caught after decoding, not by its spelling', () => {
  const text = '{"metadata":{"labels":{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"}}}}';
  assert.throws(() => parseJsonSafely(text), /"__proto__" is not allowed \(at metadata\.labels\.__proto__\)/);
  assertPrototypeClean();
});

test('the merge functions refuse __proto__ from in-process callers too (defence in depth)', () => {
  const cur = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: {} };
  const patches: [PatchType, unknown][] = [
    ['merge', JSON.parse(`{"spec":${PROTO}}`)],
    ['strategic', JSON.parse(`{"metadata":{"labels":${PROTO}}}`)],
    ['strategic', { spec: { '$setElementOrder/__proto__': [] } }],
    ['strategic', { spec: { '$deleteFromPrimitiveList/__proto__': [] } }],
    ['strategic', { spec: { $retainKeys: ['__proto__'] } }],
    ['json', [{ op: 'add', path: '/spec/__proto__', value: { polluted: 'yes' } }]],
  ];
  for (const [type, body] of patches) {
    assert.throws(
      () => applyPatch(type, cur, body, 'Service'),
      (e) => e instanceof ApiError && e.reason === 'BadRequest' && /__proto__/.test(e.message),
    );
    assertPrototypeClean();
  }
});

test('keys named like prototype members are plain data in every patch type', () => {
  const cur = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: {} };
  const merged = applyPatch(
    'merge',
    cur,
    { metadata: { labels: { constructor: 'a', toString: 'b' } } },
    'Service',
  );
  assert.deepEqual((merged as any).metadata.labels, { constructor: 'a', toString: 'b' });
  const strategic = applyPatch(
    'strategic',
    cur,
    { spec: { constructor: { x: 1 }, $retainKeys: ['toString', 'constructor'] } },
    'Service',
  ) as any;
  // $retainKeys keeps only own keys: an inherited toString is not copied in as a function.
  assert.deepEqual(strategic.spec, { constructor: { x: 1 } });
  const jp = applyPatch('json', cur, [{ op: 'add', path: '/metadata/constructor', value: 'c' }], 'Service');
  assert.equal(Object.hasOwn((jp as any).metadata, 'constructor'), true);
  assertPrototypeClean();
});

test('bodies nested past the depth limit are 400 before parsing; YAML too', () => {
  const f = newFixture();
  const deep = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"d","annotations":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}}`;
  const s = expectStatus(call(f, 'POST', SVC_PATH, { raw: deep }), 400, 'BadRequest');
  assert.match(s.message, /exceeded max depth of 1000/);
  const yamlDeep = `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  expectStatus(
    call(f, 'POST', SVC_PATH, { raw: yamlDeep, contentType: 'application/yaml' }),
    400,
    'BadRequest',
  );
  // Brackets inside strings are not nesting.
  assert.doesNotThrow(() => parseJsonSafely(JSON.stringify({ s: '['.repeat(5000) })));
  assert.doesNotThrow(() => parseJsonSafely(JSON.stringify({ s: `"\\"${'['.repeat(5000)}` })));
  // A string ending in a backslash ends there: the brackets after it count.
  const afterBackslash = `{"a":"x\\\\","b":${'['.repeat(1001)}${']'.repeat(1001)}}`;
  assert.equal((JSON.parse(afterBackslash.replace(/\[+\]+/, '0')) as { a: string }).a, 'x\\');
  assert.throws(() => parseJsonSafely(afterBackslash), /exceeded max depth/);
  // Exactly at the limit is fine, one deeper is not.
  const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.doesNotThrow(() => parseJsonSafely(nest(1000)));
  assert.throws(() => parseJsonSafely(nest(1001)), /exceeded max depth/);
  assert.throws(() => checkJsonValue(JSON.parse(nest(1001))), /exceeded max depth/);
});

test('Accept parameters and field selectors named like prototype members are plain data', () => {
  const f = newFixture();
  expectObject(call(f, 'POST', SVC_PATH, { body: service('accept') }), 201);
  const r = call(f, 'GET', `${SVC_PATH}/accept`, { accept: 'application/json;__proto__=x;constructor=y' });
  assert.equal(expectObject(r).metadata.name, 'accept');
  assertPrototypeClean();
  assert.equal(fieldValue(service('x'), 'metadata.constructor'), '');
  assert.equal(fieldValue(service('x'), 'metadata.name'), 'x');
});
