// Finding 5: an invalid object that got into the store before validation existed (an older
// state.db) made the EndpointSlice controller retry forever. Now the refused write is logged once
// and the key is skipped, while the controller keeps serving other Services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice } from '../../../dataplane/api/types.ts';
import { EndpointSliceController } from '../../../dataplane/controllers/endpointslice.ts';
import { captureLog, fastRetry, makeNode, makePod, makeService, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

test('finding 5: a poisoned Service is logged once and skipped, not retried in a loop', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true });
  // Written past the registry, as an older apiserver without port validation would have stored it.
  s.store.create('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'poisoned',
      namespace: 'default',
      uid: 'uid-poisoned',
      creationTimestamp: '2024-01-01T00:00:00Z',
    },
    spec: {
      selector: { app: 'web' },
      clusterIP: '10.96.0.50',
      ports: [{ name: 'http', port: 80, targetPort: 70000, protocol: 'TCP' }],
    },
  });
  await makePod(s.client, 'web-1', { labels: { app: 'web' }, node: 'n1', ip: '10.244.0.2' });
  const log = captureLog();
  const ctl = new EndpointSliceController(s.client, { retry: fastRetry, log });
  await ctl.start();
  try {
    const refusals = () =>
      log.lines.filter((l) => l.message.includes('default/poisoned was refused by the apiserver'));
    await until('the refusal is logged', () => refusals().length === 1);
    const attempts = s.writes('endpointslices');
    // The controller still works for other Services; by the time it has, a retry loop on the
    // poisoned key (5 ms backoff) would have made many more attempts.
    await makeService(s.client, 'ok', {
      selector: { app: 'web' },
      ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
    });
    await until('slices of the good Service', async () => {
      const list = await s.client
        .resource<EndpointSlice>('discovery.k8s.io/endpointslices')
        .list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=ok' });
      return list.items.length === 1;
    });
    assert.equal(
      s.writes('endpointslices'),
      attempts + 1,
      'one write for the good Service, none for the poisoned one',
    );
    assert.equal(refusals().length, 1);
    assert.ok(
      !log.lines.some((l) => l.message.includes('default/poisoned failed')),
      'no retry of the poisoned key',
    );
  } finally {
    await ctl.close();
    s.close();
  }
});
