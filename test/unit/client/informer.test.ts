// The informer against a scripted fake transport: list then watch, resume after a watch ends,
// relist and diff after 410, backoff on connection errors, resync, indexes, handler isolation,
// shared informers, and stop() leaving nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../dataplane/api/errors.ts';
import type { KubeList, Pod, WatchEvent } from '../../../dataplane/api/types.ts';
import { KdpError } from '../../../dataplane/errors.ts';
import { createClient } from '../../../dataplane/client/client.ts';
import { createInformer, type InformerConfig } from '../../../dataplane/client/informer.ts';
import { InformerFactory } from '../../../dataplane/client/informer-factory.ts';
import type { Informer, Transport, TransportRequest } from '../../../dataplane/client/interface.ts';
import { until } from '../../helpers/until.ts';

interface WatchSession {
  req: TransportRequest;
  emit(ev: WatchEvent): void;
  end(): void;
  fail(err: unknown): void;
  aborted: boolean;
}

/** A transport whose lists and watches the test scripts. */
class FakeApi implements Transport {
  lists: TransportRequest[] = [];
  watches: WatchSession[] = [];
  answer: (req: TransportRequest) => KubeList | Error = () => podList('1', []);

  async request(req: TransportRequest): Promise<unknown> {
    this.lists.push(req);
    const a = this.answer(req);
    if (a instanceof Error) throw a;
    return structuredClone(a);
  }

  watch(req: TransportRequest, onEvent: (ev: WatchEvent) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const s: WatchSession = { req, emit: onEvent, end: resolve, fail: reject, aborted: false };
      req.signal?.addEventListener('abort', () => {
        s.aborted = true;
        resolve();
      });
      this.watches.push(s);
    });
  }

  close() {}

  /** The watch in progress, once the informer has opened watch number `n` (1-based). */
  async watchNo(n: number): Promise<WatchSession> {
    await until(`watch #${n}`, () => this.watches.length >= n);
    return this.watches[n - 1];
  }
}

function pod(name: string, rv: string, extra: { ns?: string; node?: string } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: extra.ns ?? 'default', resourceVersion: rv },
    spec: { containers: [], nodeName: extra.node },
  };
}

function podList(rv: string, items: Pod[], cont?: string): KubeList<Pod> {
  return { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: rv, continue: cont }, items };
}

const ev = (type: WatchEvent['type'], object: Pod): WatchEvent => ({ type, object });

const tag = (p: Pod) => `${p.metadata.name}@${p.metadata.resourceVersion}`;

/** Handlers that record what they see as short strings. */
function recorder() {
  const seen: string[] = [];
  return {
    seen,
    handlers: {
      onAdd: (p: Pod) => seen.push(`add ${tag(p)}`),
      onUpdate: (o: Pod, n: Pod) => seen.push(`update ${tag(o)}->${tag(n)}`),
      onDelete: (p: Pod) => seen.push(`delete ${tag(p)}`),
    },
  };
}

function setup(opts: InformerConfig = {}) {
  const api = new FakeApi();
  const logs: string[] = [];
  const informer = createInformer<Pod>(createClient(api), 'pods', {
    backoffInitialMs: 2,
    backoffMaxMs: 16,
    watchTimeoutSeconds: 60,
    log: (_level, m) => logs.push(m),
    ...opts,
  });
  return { api, informer, logs };
}

async function withInformer(
  opts: InformerConfig,
  body: (ctx: ReturnType<typeof setup>) => Promise<void>,
): Promise<void> {
  const ctx = setup(opts);
  try {
    await body(ctx);
  } finally {
    ctx.informer.stop();
  }
}

test('lists (paged), syncs, then watches from the list resourceVersion; events reach handlers in order', () =>
  withInformer({}, async ({ api, informer }) => {
    api.answer = (req) =>
      req.query?.continue === 'next'
        ? podList('10', [pod('b', '9')])
        : podList('10', [pod('a', '5')], 'next');
    const r = recorder();
    informer.addHandlers(r.handlers);
    informer.start();
    await informer.waitForSync();
    assert.ok(informer.hasSynced());
    assert.deepEqual(r.seen, ['add a@5', 'add b@9']);
    assert.deepEqual(
      api.lists.map((l) => [l.path, l.query?.limit, l.query?.continue]),
      [
        ['/api/v1/pods', 500, undefined],
        ['/api/v1/pods', 500, 'next'],
      ],
    );
    const w = await api.watchNo(1);
    assert.equal(w.req.query?.resourceVersion, '10');
    assert.equal(w.req.query?.allowWatchBookmarks, true);
    assert.equal(w.req.query?.watch, 'true');

    w.emit(ev('MODIFIED', pod('a', '11')));
    w.emit(ev('ADDED', pod('c', '12')));
    w.emit(ev('DELETED', pod('b', '13')));
    // Delivered later, never from inside the transport's callback.
    assert.equal(r.seen.length, 2);
    await until('three more events', () => r.seen.length === 5);
    assert.deepEqual(r.seen.slice(2), ['update a@5->a@11', 'add c@12', 'delete b@13']);
    assert.deepEqual(informer.list().map(tag).sort(), ['a@11', 'c@12']);
    assert.equal(informer.get('a')?.metadata.resourceVersion, '11');
    assert.equal(informer.get('b'), undefined);
    assert.equal(informer.lastResourceVersion(), '13');
  }));

test('a watch that ends is resumed from the last resourceVersion seen, bookmarks included, without a relist', () =>
  withInformer({}, async ({ api, informer }) => {
    api.answer = () => podList('3', [pod('a', '3')]);
    informer.start();
    const w1 = await api.watchNo(1);
    w1.emit(ev('MODIFIED', pod('a', '4')));
    w1.emit({
      type: 'BOOKMARK',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { resourceVersion: '20' } } as Pod,
    });
    w1.end();
    const w2 = await api.watchNo(2);
    assert.equal(w2.req.query?.resourceVersion, '20');
    w2.end(); // the first watch delivered events, so this one is retried after a short backoff
    const w3 = await api.watchNo(3);
    assert.equal(w3.req.query?.resourceVersion, '20');
    assert.equal(api.lists.length, 1);
    assert.equal(informer.get('a')?.metadata.resourceVersion, '4');
  }));

test('410 Expired relists and delivers the difference as add, update and delete', () =>
  withInformer({}, async ({ api, informer }) => {
    api.answer = () => podList('3', [pod('a', '1'), pod('b', '2'), pod('c', '3')]);
    const r = recorder();
    informer.addHandlers(r.handlers);
    informer.start();
    await informer.waitForSync();
    const w1 = await api.watchNo(1);
    // While we were away: b changed, c went, d arrived; a is unchanged.
    api.answer = () => podList('9', [pod('a', '1'), pod('b', '5'), pod('d', '6')]);
    w1.fail(new ApiError('Expired', 'too old resource version: 3 (7)'));
    const w2 = await api.watchNo(2);
    assert.equal(w2.req.query?.resourceVersion, '9');
    assert.equal(api.lists.length, 2);
    await until('the relist diff', () => r.seen.length === 6);
    assert.deepEqual(r.seen.slice(3), ['update b@2->b@5', 'add d@6', 'delete c@3']);
    assert.deepEqual(informer.list().map(tag).sort(), ['a@1', 'b@5', 'd@6']);
  }));

test('connection errors back off exponentially with jitter, and the backoff resets after success', () =>
  withInformer({}, async ({ api, informer, logs }) => {
    let failures = 3;
    api.answer = () =>
      failures-- > 0
        ? new KdpError('KDP_ERR_API_UNREACHABLE', 'cannot reach the apiserver')
        : podList('1', []);
    informer.start();
    await informer.waitForSync();
    const delays = logs.map((m) => Number(/retrying in (\d+) ms/.exec(m)?.[1]));
    assert.equal(delays.length, 3);
    assert.ok(
      logs.every((m) => m.includes('informer for pods: list failed')),
      logs.join('\n'),
    );
    // 2 ms doubling: [1,2], [2,4], [4,8].
    assert.ok(delays[0] >= 1 && delays[0] <= 2, String(delays));
    assert.ok(delays[1] >= 2 && delays[1] <= 4, String(delays));
    assert.ok(delays[2] >= 4 && delays[2] <= 8, String(delays));
    // The list succeeded but a watch has not yet proved healthy: the next failure keeps growing.
    const w1 = await api.watchNo(1);
    w1.fail(new KdpError('KDP_ERR_API_UNREACHABLE', 'connection reset'));
    const w2 = await api.watchNo(2);
    assert.match(logs[3], /watch failed, retrying in ([89]|1[0-6]) ms/);
    assert.equal(w2.req.query?.resourceVersion, '1');
    // A watch that delivers events is healthy: the backoff starts over.
    w2.emit(ev('ADDED', pod('a', '2')));
    w2.fail(new KdpError('KDP_ERR_API_UNREACHABLE', 'connection reset'));
    await api.watchNo(3);
    assert.match(logs[4], /watch failed, retrying in [12] ms/);
    assert.equal(api.watches[2].req.query?.resourceVersion, '2');
    assert.equal(api.lists.length, 4);
  }));

test('resync re-delivers every cached object as onUpdate(obj, obj)', () =>
  withInformer({ resyncSeconds: 0.005 }, async ({ api, informer }) => {
    api.answer = () => podList('2', [pod('a', '1'), pod('b', '2')]);
    const updates: [Pod, Pod][] = [];
    informer.addHandlers({ onUpdate: (o, n) => updates.push([o, n]) });
    informer.start();
    await until('two resyncs', () => updates.length >= 4);
    assert.ok(updates.every(([o, n]) => o === n));
    assert.deepEqual([...new Set(updates.map(([, n]) => tag(n)))].sort(), ['a@1', 'b@2']);
  }));

test('indexes: the built-in namespace index and custom ones follow updates and deletes', () =>
  withInformer({}, async ({ api, informer }) => {
    api.answer = () =>
      podList('3', [
        pod('a', '1', { node: 'n1' }),
        pod('b', '2', { node: 'n1', ns: 'kube-system' }),
        pod('c', '3'),
      ]);
    informer.addIndexer('node', (p) => (p.spec.nodeName ? [p.spec.nodeName] : []));
    informer.start();
    await informer.waitForSync();
    const names = (ps: Pod[]) => ps.map((p) => p.metadata.name).sort();
    assert.deepEqual(names(informer.byIndex('node', 'n1')), ['a', 'b']);
    assert.deepEqual(names(informer.list('default')), ['a', 'c']);
    assert.deepEqual(names(informer.list('kube-system')), ['b']);
    assert.deepEqual(names(informer.byIndex('namespace', 'kube-system')), ['b']);
    assert.deepEqual(informer.list('nowhere'), []);
    assert.equal(informer.get('b', 'kube-system')?.metadata.name, 'b');
    // An indexer added after sync indexes what is cached.
    informer.addIndexer('rv', (p) => [p.metadata.resourceVersion ?? '']);
    assert.deepEqual(names(informer.byIndex('rv', '3')), ['c']);

    const w = await api.watchNo(1);
    w.emit(ev('MODIFIED', pod('a', '4', { node: 'n2' })));
    w.emit(ev('DELETED', pod('b', '5', { node: 'n1', ns: 'kube-system' })));
    await until('the events', () => informer.lastResourceVersion() === '5');
    assert.deepEqual(informer.byIndex('node', 'n1'), []);
    assert.deepEqual(names(informer.byIndex('node', 'n2')), ['a']);
    assert.deepEqual(informer.list('kube-system'), []);
    assert.deepEqual(informer.byIndex('rv', '1'), []);
    assert.throws(() => informer.byIndex('nope', 'x'), { code: 'KDP_ERR_INVALID_ARGUMENT' });
    assert.throws(() => informer.addIndexer('node', () => []), { code: 'KDP_ERR_INVALID_ARGUMENT' });
  }));

test('a throwing handler is logged and neither other handlers nor later events are lost', () =>
  withInformer({}, async ({ api, informer, logs }) => {
    api.answer = () => podList('1', [pod('a', '1')]);
    const r = recorder();
    informer.addHandlers({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    informer.addHandlers(r.handlers);
    informer.start();
    await informer.waitForSync();
    (await api.watchNo(1)).emit(ev('ADDED', pod('b', '2')));
    await until('both adds', () => r.seen.length === 2);
    assert.deepEqual(r.seen, ['add a@1', 'add b@2']);
    assert.equal(
      logs.filter((m) => /onAdd handler threw for default\/[ab]/.test(m)).length,
      2,
      logs.join('\n'),
    );
  }));

test('handlers added later get the cache as adds first, asynchronously, then only newer events', () =>
  withInformer({}, async ({ api, informer }) => {
    api.answer = () => podList('2', [pod('a', '1'), pod('b', '2')]);
    informer.start();
    await informer.waitForSync();
    const r = recorder();
    informer.addHandlers(r.handlers);
    assert.deepEqual(r.seen, []);
    (await api.watchNo(1)).emit(ev('MODIFIED', pod('a', '3')));
    await until('adds and the update', () => r.seen.length === 3);
    assert.deepEqual(r.seen, ['add a@1', 'add b@2', 'update a@1->a@3']);
  }));

test('replayed states older than the cache are skipped (pages newer than the watch start)', () =>
  withInformer({}, async ({ api, informer }) => {
    // The first page was at RV 3, but a later page already showed a@5.
    api.answer = () => podList('3', [pod('a', '5')]);
    const r = recorder();
    informer.addHandlers(r.handlers);
    informer.start();
    const w = await api.watchNo(1);
    w.emit(ev('MODIFIED', pod('a', '4')));
    w.emit(ev('MODIFIED', pod('a', '5')));
    w.emit(ev('MODIFIED', pod('a', '6')));
    await until('the newer update', () => r.seen.length === 2);
    assert.deepEqual(r.seen, ['add a@5', 'update a@5->a@6']);
  }));

test('stop ends the watch, timers and waiters, and leaves no handles behind', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
  const before = timers();
  const { api, informer } = setup({ resyncSeconds: 60 });
  api.answer = () => podList('1', [pod('a', '1')]);
  const r = recorder();
  informer.addHandlers(r.handlers);
  informer.start();
  const w = await api.watchNo(1);
  w.emit(ev('ADDED', pod('b', '2')));
  informer.stop();
  assert.ok(w.req.signal?.aborted);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(timers(), before);
  assert.ok(!r.seen.includes('add b@2'), 'no handler runs after stop');
  informer.stop(); // idempotent
  assert.throws(() => informer.start(), { code: 'KDP_ERR_INFORMER_STOPPED' });

  // Stopped while backing off after errors, and before it ever synced.
  const failing = setup({ backoffInitialMs: 60_000, backoffMaxMs: 60_000 });
  failing.api.answer = () => new KdpError('KDP_ERR_API_UNREACHABLE', 'down');
  failing.informer.start();
  const sync = failing.informer.waitForSync();
  await until('the first failure', () => failing.logs.length === 1);
  failing.informer.stop();
  await assert.rejects(sync, { code: 'KDP_ERR_INFORMER_STOPPED' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(timers(), before);
  assert.equal(failing.api.lists.length, 1);
});

test('waitForSync honours its signal', () =>
  withInformer({}, async ({ api, informer }) => {
    api.answer = () => new KdpError('KDP_ERR_API_UNREACHABLE', 'down');
    informer.start();
    const ac = new AbortController();
    const p = informer.waitForSync(ac.signal);
    ac.abort(new Error('gave up'));
    await assert.rejects(p, { message: 'gave up' });
  }));

test('the factory shares one informer (one list, one watch) per resource and options', async () => {
  const api = new FakeApi();
  api.answer = () => podList('1', [pod('a', '1')]);
  const factory = new InformerFactory(createClient(api), { log: () => {}, watchTimeoutSeconds: 60 });
  try {
    const a: Informer<Pod> = factory.informer<Pod>('pods');
    assert.equal(factory.informer('po'), a);
    const filtered = factory.informer('pods', { labelSelector: 'app=x' });
    assert.notEqual(filtered, a);
    factory.start();
    const late = factory.informer('services');
    await factory.waitForSync();
    assert.ok(late.hasSynced());
    assert.equal(a.get('a')?.metadata.name, 'a');
    await until('three watches', () => api.watches.length === 3);
    assert.equal(api.lists.length, 3);
    assert.equal(api.lists.filter((l) => l.query?.labelSelector === 'app=x').length, 1);
  } finally {
    factory.stop();
  }
  assert.ok(api.watches.every((w) => w.aborted));
  assert.throws(() => factory.informer('pods'), { code: 'KDP_ERR_INFORMER_STOPPED' });
});
