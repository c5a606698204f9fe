// Metadata of every kind is typed and validated as upstream's ObjectMeta validation does: names per
// kind, generateName, finalizers, ownerReferences, labels, annotations and server-set fields. Each
// refused object leaves nothing in the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../dataplane/api/types.ts';
import { causeFor, invalidCauses, NAMESPACES, newRegistry, PODS, SERVICES } from './strategy-fixture.ts';

function svc(metadata: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: { ports: [{ port: 80 }] },
  } as KubeObject;
}

function pod(metadata: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  } as KubeObject;
}

test('finding 5: metadata.name as a number, array or boolean is refused and not stored', () => {
  const { registry, store } = newRegistry();
  for (const name of [123, ['a'], true]) {
    const causes = invalidCauses(() => registry.create(PODS, 'default', pod({ name })));
    assert.equal(causeFor(causes, 'metadata.name').reason, 'FieldValueInvalid');
    assert.match(causeFor(causes, 'metadata.name').message!, /must be a string/);
  }
  assert.equal(store.list('pods').items.length, 0);
});

test('finding 5: a Service named 1abc is refused as a DNS-1035 label; a Pod may be named 1abc', () => {
  const { registry } = newRegistry();
  const causes = invalidCauses(() => registry.create(SERVICES, 'default', svc({ name: '1abc' })));
  assert.match(causeFor(causes, 'metadata.name').message!, /^Invalid value: "1abc": a DNS-1035 label/);
  registry.create(PODS, 'default', pod({ name: '1abc' }));
  const nsCauses = invalidCauses(() => registry.create(NAMESPACES, '', { metadata: { name: 'a.b' } }));
  assert.match(causeFor(nsCauses, 'metadata.name').message!, /RFC 1123 label/);
});

test('generateName is validated as a prefix: a trailing dash is fine, a bad prefix is not', () => {
  const { registry } = newRegistry();
  const made = registry.create(SERVICES, 'default', svc({ generateName: 'web-' }));
  assert.match(made.metadata.name!, /^web-[a-z0-9]+$/);
  const causes = invalidCauses(() => registry.create(SERVICES, 'default', svc({ generateName: '9web-' })));
  assert.equal(causeFor(causes, 'metadata.generateName').reason, 'FieldValueInvalid');
});

test('finding 5: finalizers as a string, non-qualified or conflicting finalizers are refused', () => {
  const { registry, store } = newRegistry();
  let causes = invalidCauses(() => registry.create(PODS, 'default', pod({ name: 'p', finalizers: 'x/y' })));
  assert.equal(causeFor(causes, 'metadata.finalizers').message, 'Invalid value: "x/y": must be a list');
  causes = invalidCauses(() =>
    registry.create(PODS, 'default', pod({ name: 'p', finalizers: ['plain', 'a/b c', 7] })),
  );
  assert.match(causeFor(causes, 'metadata.finalizers[0]').message!, /neither a standard finalizer name/);
  assert.equal(causeFor(causes, 'metadata.finalizers[1]').reason, 'FieldValueInvalid');
  assert.match(causeFor(causes, 'metadata.finalizers[2]').message!, /must be a string/);
  causes = invalidCauses(() =>
    registry.create(PODS, 'default', pod({ name: 'p', finalizers: ['orphan', 'foregroundDeletion'] })),
  );
  assert.match(causeFor(causes, 'metadata.finalizers').message!, /cannot be both set/);
  assert.equal(store.list('pods').items.length, 0);
  registry.create(PODS, 'default', pod({ name: 'ok', finalizers: ['example.com/keep', 'orphan'] }));
});

test('finding 5: ownerReferences need apiVersion, kind, name and uid; one controller at most', () => {
  const { registry, store } = newRegistry();
  let causes = invalidCauses(() =>
    registry.create(PODS, 'default', pod({ name: 'p', ownerReferences: [{ kind: 'ReplicaSet' }] })),
  );
  const base = 'metadata.ownerReferences[0]';
  assert.equal(
    causeFor(causes, `${base}.apiVersion`).message,
    'Invalid value: "": version must not be empty',
  );
  assert.equal(causeFor(causes, `${base}.name`).message, 'Invalid value: "": name must not be empty');
  assert.equal(causeFor(causes, `${base}.uid`).message, 'Invalid value: "": uid must not be empty');
  assert.ok(!causes.some((c) => c.field === `${base}.kind`));
  const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: `u-${name}` });
  causes = invalidCauses(() =>
    registry.create(
      PODS,
      'default',
      pod({ name: 'p', ownerReferences: [{ ...ref('a'), controller: 'yes' }] }),
    ),
  );
  assert.match(causeFor(causes, `${base}.controller`).message!, /must be a boolean/);
  causes = invalidCauses(() =>
    registry.create(
      PODS,
      'default',
      pod({
        name: 'p',
        ownerReferences: [
          { ...ref('a'), controller: true },
          { ...ref('b'), controller: true },
        ],
      }),
    ),
  );
  assert.match(
    causeFor(causes, 'metadata.ownerReferences').message!,
    /Only one reference can have Controller/,
  );
  assert.equal(store.list('pods').items.length, 0);
  registry.create(PODS, 'default', pod({ name: 'ok', ownerReferences: [{ ...ref('a'), controller: true }] }));
});

test('labels, annotations and managedFields are typed; annotations are size-capped', () => {
  const { registry } = newRegistry();
  const causes = invalidCauses(() =>
    registry.create(
      PODS,
      'default',
      pod({
        name: 'p',
        labels: { app: 5 },
        annotations: ['x'],
        managedFields: {},
      }),
    ),
  );
  assert.match(causeFor(causes, 'metadata.labels.app').message!, /must be a string/);
  assert.match(causeFor(causes, 'metadata.annotations').message!, /must be a map/);
  assert.match(causeFor(causes, 'metadata.managedFields').message!, /must be a list/);
  const big = { a: 'x'.repeat(300 * 1024) };
  const tooLong = invalidCauses(() => registry.create(PODS, 'default', pod({ name: 'q', annotations: big })));
  assert.equal(causeFor(tooLong, 'metadata.annotations').reason, 'FieldValueTooLong');
});

test('an update is held to the same metadata rules', () => {
  const { registry } = newRegistry();
  const made = registry.create(PODS, 'default', pod({ name: 'p' }));
  const causes = invalidCauses(() =>
    registry.update(PODS, 'default', 'p', {
      ...made,
      metadata: { ...made.metadata, labels: { 'bad key!': 'v' } },
    }),
  );
  assert.equal(causeFor(causes, 'metadata.labels').reason, 'FieldValueInvalid');
});
