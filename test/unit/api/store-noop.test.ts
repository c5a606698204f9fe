import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Store } from '../../../dataplane/api/store/store.ts';

test('an update that only reorders keys writes nothing and keeps the resourceVersion', () => {
  const store = new Store();
  const created = store.create('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', labels: { a: '1', b: '2' } },
    spec: { ports: [{ port: 80, protocol: 'TCP' }] },
  });
  const reordered = {
    spec: { ports: [{ protocol: 'TCP', port: 80 }] },
    metadata: { labels: { b: '2', a: '1' }, namespace: 'default', name: 'web' },
    kind: 'Service',
    apiVersion: 'v1',
  };
  const after = store.update('services', reordered);
  assert.equal(after.metadata.resourceVersion, created.metadata.resourceVersion);
  assert.equal(store.resourceVersion, Number(created.metadata.resourceVersion));
  const changed = store.update('services', {
    ...reordered,
    spec: { ports: [{ protocol: 'TCP', port: 81 }] },
  });
  assert.notEqual(changed.metadata.resourceVersion, created.metadata.resourceVersion);
});
