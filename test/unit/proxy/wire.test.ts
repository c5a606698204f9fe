// wire.ts against the real in-process apiserver and EndpointSlice controller, with the recording
// mode: Pods become EndpointSlices become the proxier's state, only the proxier's own Services and
// slices are watched, and the first sync already holds the initial lists and this Node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSlice, Node, Pod } from '../../../dataplane/api/types.ts';
import { InformerFactory } from '../../../dataplane/client/informer-factory.ts';
import { EndpointSliceController } from '../../../dataplane/controllers/endpointslice.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { RecordingProxier } from '../../../dataplane/proxy/testing/recording-proxier.ts';
import { LABEL_SERVICE_PROXY_NAME, PROXY_LABEL_SELECTOR, runProxier } from '../../../dataplane/proxy/wire.ts';
import { fastRetry, makeNode, makePod, makeService, stack } from '../controllers/harness.ts';
import { keysOf, sample } from './fixtures.ts';
import { until } from '../../helpers/until.ts';

const WEB = 'default/web:http/TCP';
const tuning = { backoffInitialMs: 5, backoffMaxMs: 50, log: () => {} };

async function cluster() {
  const s = await stack();
  await makeNode(s.client, 'node-a', { ready: true, ip: '198.18.0.2' });
  await makeNode(s.client, 'node-b', { ready: true, ip: '198.18.0.3' });
  await makeService(s.client, 'web', { selector: { app: 'web' } });
  await makeService(s.client, 'headless', { selector: { app: 'web' }, clusterIP: 'None' });
  const other = await makeService(s.client, 'elsewhere', { selector: { app: 'web' } });
  await s.client
    .resource('services')
    .patch(
      'elsewhere',
      { metadata: { labels: { [LABEL_SERVICE_PROXY_NAME]: 'someone-else' } } },
      { namespace: other.metadata.namespace, type: 'merge' },
    );
  const ports = [{ name: 'http', containerPort: 8080 }];
  await makePod(s.client, 'web-1', { labels: { app: 'web' }, node: 'node-a', ip: '10.244.0.2', ports });
  await makePod(s.client, 'web-2', { labels: { app: 'web' }, node: 'node-b', ip: '10.244.1.2', ports });
  const ctl = new EndpointSliceController(s.client, { retry: fastRetry });
  await ctl.start();
  await until('slices of web with 2 endpoints', async () => {
    const list = await s.client
      .resource<EndpointSlice>('discovery.k8s.io/endpointslices')
      .list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' });
    return list.items.flatMap((x) => x.endpoints ?? []).length === 2;
  });
  return {
    ...s,
    async close() {
      await ctl.close();
      s.close();
    },
  };
}

test('runProxier feeds a proxier from the apiserver, end to end', async () => {
  const s = await cluster();
  const p = new RecordingProxier({ nodeName: 'node-a', minSyncPeriodMs: 0, syncPeriodMs: 60_000 });
  const running = await runProxier(p, { client: s.client, tuning });
  try {
    await until('the first sync', () => p.syncs.length >= 1);
    const first = p.syncs[0];
    assert.equal(first.full, true);
    assert.deepEqual([...first.services.keys()], [WEB], 'headless and foreign services are not proxied');
    assert.equal(first.services.get(WEB)!.clusterIP.startsWith('10.96.'), true);
    assert.deepEqual(keysOf(first.endpoints, WEB), ['10.244.0.2:8080', '10.244.1.2:8080']);
    assert.deepEqual(
      first.endpoints.get(WEB)!.map((e) => e.isLocal),
      [true, false],
    );
    assert.deepEqual([...first.endpoints.keys()], [WEB], "the headless service's slices are not watched");
    assert.deepEqual(first.node.addresses, ['198.18.0.2'], 'the first sync already knows this node');

    // A Pod goes away: its endpoint leaves in a partial sync, with a trigger time measured.
    await s.client.resource<Pod>('pods').delete('web-2', { namespace: 'default', gracePeriodSeconds: 0 });
    const removed = await until('web-2 gone from the endpoints', () =>
      p.syncs.find((x) => keysOf(x.endpoints, WEB).join() === '10.244.0.2:8080'),
    );
    assert.equal(removed.full, false);
    assert.ok(removed.updatedServices.has('default/web'));
    assert.deepEqual(
      removed.deletedEndpoints.map((d) => d.endpoint.key),
      ['10.244.1.2:8080'],
    );
    assert.equal(removed.triggerTimes.get('default/web')?.length, 1);
    const h = 'kubeproxy_network_programming_duration_seconds';
    assert.equal(await sample(p.metrics, h, `${h}_count`), 1);

    // This Node's address changes: a full sync with the new address.
    const nodes = s.client.resource<Node>('nodes');
    const me = await nodes.get('node-a');
    await nodes.updateStatus({
      ...me,
      status: { ...me.status, addresses: [{ type: 'InternalIP', address: '198.18.0.20' }] },
    });
    const moved = await until('the new node address', () =>
      p.syncs.find((x) => x.node.addresses[0] === '198.18.0.20'),
    );
    assert.equal(moved.full, true);

    await running.stop();
    await running.stop();
  } finally {
    await running.stop();
    await s.close();
  }
});

test('runProxier with shared informers leaves them to their owner', async () => {
  const s = await cluster();
  const informers = new InformerFactory(s.client, tuning);
  const p = new RecordingProxier({ nodeName: 'node-b', minSyncPeriodMs: 0, syncPeriodMs: 60_000 });
  const running = await runProxier(p, { informers });
  try {
    await until('the first sync', () => p.syncs.length >= 1);
    assert.deepEqual(
      p.syncs[0].endpoints.get(WEB)!.map((e) => [e.key, e.isLocal]),
      [
        ['10.244.0.2:8080', false],
        ['10.244.1.2:8080', true],
      ],
    );
    await running.stop();
    // The factory still runs: another consumer can still use it.
    const svc = informers.informer('services', { labelSelector: PROXY_LABEL_SELECTOR });
    assert.equal(svc.hasSynced(), true);
  } finally {
    await running.stop();
    informers.stop();
    await s.close();
  }
});

test('runProxier needs a client or informers, and gives up when aborted', async () => {
  const p = new RecordingProxier({ nodeName: 'n' });
  await assert.rejects(runProxier(p, {}), (err) => isKdpError(err, 'KDP_ERR_PROXY_CONFIG'));
  const s = await stack();
  try {
    const abort = new AbortController();
    abort.abort(new Error('agent shutting down'));
    await assert.rejects(
      runProxier(p, { client: s.client, tuning, signal: abort.signal }),
      /agent shutting down/,
    );
    assert.equal(p.syncs.length, 0);
  } finally {
    s.close();
  }
});
