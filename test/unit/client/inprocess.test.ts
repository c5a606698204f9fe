// The client and informer against kdp's real apiserver core in-process (dispatcher, registry,
// strategies, allocators, store): the CRUD flow an informer sees, and a real 410 from the store's
// watch window turned into a relist whose difference reaches the handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAllocators } from '../../../dataplane/api/allocators/index.ts';
import { createDispatcher } from '../../../dataplane/api/http/dispatch.ts';
import { Registry } from '../../../dataplane/api/registry/generic-registry.ts';
import { createStrategies } from '../../../dataplane/api/registry/strategies/index.ts';
import { Store } from '../../../dataplane/api/store/store.ts';
import type { Service } from '../../../dataplane/api/types.ts';
import { createClient } from '../../../dataplane/client/client.ts';
import { connect } from '../../../dataplane/client/index.ts';
import { createInformer } from '../../../dataplane/client/informer.ts';
import { createInProcessTransport } from '../../../dataplane/client/inprocess-transport.ts';
import type { ApiClient, Transport } from '../../../dataplane/client/interface.ts';
import { crudSeenByInformer, recorder, service } from './informer-flow.ts';
import { until } from '../../helpers/until.ts';

function apiserver(store = new Store()) {
  const registry = new Registry(
    store,
    createStrategies(),
    createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 30000, last: 32767 } }),
  );
  return createDispatcher(registry);
}

async function createDefaultNamespace(client: ApiClient) {
  await client
    .resource('namespaces')
    .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
}

test('in-process: create, update, patch, status and delete are seen by an informer in order', async () => {
  const client = connect({ dispatcher: apiserver() });
  await createDefaultNamespace(client);
  await crudSeenByInformer(client);
  client.close();
});

test('in-process: errors are the server ApiErrors', async () => {
  const client = connect({ dispatcher: apiserver() });
  await createDefaultNamespace(client);
  const svcs = client.resource<Service>('services');
  await assert.rejects(svcs.get('nope'), { reason: 'NotFound', httpCode: 404 });
  await svcs.create(service('dup'));
  await assert.rejects(svcs.create(service('dup')), { reason: 'AlreadyExists' });
  const bad = service('bad');
  bad.spec.ports = [{ port: 0 }];
  await assert.rejects(svcs.create(bad), { reason: 'Invalid' });
  await assert.rejects(svcs.list({ labelSelector: '!!' }), { reason: 'BadRequest' });
});

/**
 * Wraps a transport so the test can cut the current watch and hold the informer's next one until
 * it has changed the world behind its back.
 */
function gated(inner: Transport) {
  let cut = new AbortController();
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  const state = {
    watches: 0,
    cutAndHold() {
      gate = new Promise((resolve) => (open = resolve));
      cut.abort();
    },
    release: () => open(),
  };
  const transport: Transport = {
    request: (req) => inner.request(req),
    async watch(req, onEvent) {
      await gate;
      state.watches++;
      cut = new AbortController();
      const signal = req.signal ? AbortSignal.any([req.signal, cut.signal]) : cut.signal;
      return inner.watch({ ...req, signal }, onEvent);
    },
    close: () => inner.close(),
  };
  return { state, transport };
}

test('in-process: a resourceVersion that fell out of the watch window relists and delivers the difference', async () => {
  const { state, transport } = gated(createInProcessTransport(apiserver(new Store({ windowSize: 4 }))));
  const client = createClient(transport);
  await createDefaultNamespace(client);
  const svcs = client.resource<Service>('services');
  const a = await svcs.create(service('a'));
  const b = await svcs.create(service('b'));
  const informer = createInformer<Service>(client, 'services', { namespace: 'default', log: () => {} });
  const r = recorder();
  informer.addHandlers(r.handlers);
  informer.start();
  try {
    await informer.waitForSync();
    await until('the first watch', () => state.watches === 1);
    const rvBefore = informer.lastResourceVersion();

    state.cutAndHold();
    const a2 = await svcs.update({ ...a, metadata: { ...a.metadata, labels: { app: 'flow', v: '2' } } });
    await svcs.delete('b');
    const c = await svcs.create(service('c'));
    // Enough other writes that the informer's resourceVersion is no longer in the window.
    for (let i = 0; i < 6; i++) {
      await client.resource('nodes').create({ apiVersion: 'v1', kind: 'Node', metadata: { name: `n${i}` } });
    }
    state.release();

    await until(
      () => `the relist diff, got ${r.seen.join(', ')}`,
      () => r.seen.length === 5,
    );
    assert.deepEqual(r.seen, [
      `add a@${a.metadata.resourceVersion}`,
      `add b@${b.metadata.resourceVersion}`,
      `update a@${a.metadata.resourceVersion}->a@${a2.metadata.resourceVersion}`,
      `add c@${c.metadata.resourceVersion}`,
      `delete b@${b.metadata.resourceVersion}`,
    ]);
    assert.ok(Number(informer.lastResourceVersion()) > Number(rvBefore));
    // And it is watching again from the relist: a new change arrives as a plain event.
    await until('the watch after the relist', () => state.watches >= 3);
    const c2 = await svcs.patch('c', { metadata: { labels: { app: 'flow', v: '3' } } });
    await until('the patch', () => r.seen.length === 6);
    assert.equal(r.seen[5], `update c@${c.metadata.resourceVersion}->c@${c2.metadata.resourceVersion}`);
  } finally {
    informer.stop();
  }
});
