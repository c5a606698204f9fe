// The in-process transport against a scripted dispatcher: the ApiRequest it builds, cloning both
// ways, errors, and watches delivered asynchronously and in order, with timeout, abort and bookmarks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, notFound } from '../../../dataplane/api/errors.ts';
import type { ApiRequest, ApiResult, WatchResult } from '../../../dataplane/api/http/dispatch-types.ts';
import type { KubeObject, WatchEvent } from '../../../dataplane/api/types.ts';
import { createInProcessTransport } from '../../../dataplane/client/inprocess-transport.ts';
import { until } from '../../helpers/until.ts';

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Thing',
  metadata: { name, resourceVersion: rv },
});

test('requests: ApiRequest shape, bodies and results cloned both ways', async () => {
  const stored = cm('a', '1');
  let seen: ApiRequest | undefined;
  const t = createInProcessTransport((req) => {
    seen = req;
    return { kind: 'object', status: 200, body: stored };
  });
  const body = cm('a', '');
  const got = (await t.request({
    method: 'PATCH',
    path: '/api/v1/things/a',
    query: { dryRun: 'All', limit: 3, watch: false, continue: undefined },
    body,
  })) as KubeObject;
  assert.ok(seen);
  assert.equal(seen.method, 'PATCH');
  assert.equal(seen.path, '/api/v1/things/a');
  assert.equal(seen.query.toString(), 'dryRun=All&limit=3&watch=false');
  assert.equal(seen.contentType, 'application/merge-patch+json');
  assert.deepEqual(seen.body, body);
  assert.notEqual(seen.body, body, 'the dispatcher gets its own copy');
  assert.deepEqual(got, stored);
  got.metadata.name = 'changed';
  assert.equal(stored.metadata.name, 'a', 'the caller cannot change the store');
  await t.request({ method: 'POST', path: '/x', body: {} });
  assert.equal(seen.contentType, 'application/json');
  await t.request({ method: 'GET', path: '/x' });
  assert.equal(seen.contentType, undefined);
  assert.equal(seen.body, undefined);
});

test('errors: thrown ApiError, Status results, text results and unexpected throws', async () => {
  let next: () => ApiResult;
  const t = createInProcessTransport(() => next());
  const req = { method: 'GET', path: '/api/v1/things/a' } as const;

  const thrown = new ApiError('Conflict', 'nope');
  next = () => {
    throw thrown;
  };
  await assert.rejects(t.request(req), (e) => e === thrown);

  next = () => ({ kind: 'object', status: 404, body: notFound('things', 'a').status });
  await assert.rejects(t.request(req), { reason: 'NotFound', message: 'things "a" not found' });

  next = () => ({ kind: 'text', status: 503, body: 'not ready', contentType: 'text/plain' });
  await assert.rejects(t.request(req), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.httpCode, 503);
    assert.match(e.message, /HTTP 503: not ready/);
    return true;
  });

  next = () => ({ kind: 'text', status: 200, body: 'ok', contentType: 'text/plain' });
  assert.equal(await t.request(req), 'ok');

  next = () => {
    throw new TypeError('bug');
  };
  await assert.rejects(t.request(req), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.httpCode, 500);
    assert.match(e.message, /internal error: bug/);
    return true;
  });
});

/** A dispatcher whose watch the test drives through `emit`, as the store's write path would. */
function watchable(over: Partial<WatchResult> = {}) {
  const state = { emit: (_ev: WatchEvent) => {}, stops: 0, rv: '7' };
  const result: WatchResult = {
    kind: 'watch',
    timeoutSeconds: 60,
    allowBookmarks: false,
    start(emit) {
      state.emit = emit;
      emit({ type: 'ADDED', object: cm('initial', '1') });
      return () => state.stops++;
    },
    currentResourceVersion: () => state.rv,
    objectKind: { kind: 'Thing', apiVersion: 'v1' },
    ...over,
  };
  return { state, transport: createInProcessTransport(() => result, { bookmarkIntervalMs: 2 }) };
}

test('watch: events arrive in order, never inside emit, as copies; abort ends it and stops the watch', async () => {
  const { state, transport } = watchable();
  const got: string[] = [];
  const objects: KubeObject[] = [];
  const ac = new AbortController();
  const done = transport.watch({ method: 'GET', path: '/api/v1/things', signal: ac.signal }, (ev) => {
    got.push(`${ev.type} ${ev.object.metadata.name}`);
    objects.push(ev.object);
  });
  assert.deepEqual(got, [], 'the initial events are not delivered synchronously either');
  const shared = cm('b', '2');
  state.emit({ type: 'ADDED', object: shared });
  state.emit({ type: 'MODIFIED', object: cm('b', '3') });
  assert.deepEqual(got, [], 'nothing is delivered from inside emit');
  await until('three events', () => got.length === 3);
  state.emit({ type: 'DELETED', object: cm('b', '4') });
  await until('the delete', () => got.length === 4);
  assert.deepEqual(got, ['ADDED initial', 'ADDED b', 'MODIFIED b', 'DELETED b']);
  assert.notEqual(objects[1], shared);
  ac.abort();
  await done;
  assert.equal(state.stops, 1);
  state.emit({ type: 'ADDED', object: cm('late', '5') });
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 4);
});

test('watch: the timeout delivers what is queued, then ends; stop runs once', async () => {
  const { state, transport } = watchable({ timeoutSeconds: 0.005 });
  const got: string[] = [];
  await transport.watch({ method: 'GET', path: '/api/v1/things' }, (ev) =>
    got.push(ev.object.metadata.name ?? ''),
  );
  assert.deepEqual(got, ['initial']);
  assert.equal(state.stops, 1);
});

test('watch: bookmarks carry the kind and the current resourceVersion when allowed; transform applies', async () => {
  const { state, transport } = watchable({
    allowBookmarks: true,
    transform: (ev) => ({ ...ev, object: { ...ev.object, transformed: true } }),
  });
  const got: WatchEvent[] = [];
  const ac = new AbortController();
  const done = transport.watch({ method: 'GET', path: '/api/v1/things', signal: ac.signal }, (ev) =>
    got.push(ev),
  );
  state.rv = '42';
  await until('a bookmark', () => got.some((e) => e.type === 'BOOKMARK'));
  ac.abort();
  await done;
  const bm = got.find((e) => e.type === 'BOOKMARK')!;
  assert.deepEqual(bm.object, {
    kind: 'Thing',
    apiVersion: 'v1',
    metadata: { resourceVersion: '42' },
    transformed: true,
  });
  assert.equal(got[0].object.transformed, true);
});

test('watch: a start that throws 410 rejects with it, as do a non-watch answer and an ERROR event', async () => {
  const { transport } = watchable({
    start: () => {
      throw new ApiError('Expired', 'too old resource version: 1 (9)');
    },
  });
  await assert.rejects(
    transport.watch({ method: 'GET', path: '/w' }, () => {}),
    { reason: 'Expired' },
  );
  const plain = createInProcessTransport(() => ({
    kind: 'object',
    status: 400,
    body: new ApiError('BadRequest', 'x').status,
  }));
  await assert.rejects(
    plain.watch({ method: 'GET', path: '/w' }, () => {}),
    { reason: 'BadRequest' },
  );
  const { state, transport: t2 } = watchable();
  const failed = t2.watch({ method: 'GET', path: '/w' }, () => {});
  state.emit({ type: 'ERROR', object: new ApiError('Gone', 'gone').status as unknown as KubeObject });
  await assert.rejects(failed, { reason: 'Gone', httpCode: 410 });
  assert.equal(state.stops, 1);
  const aborted = AbortSignal.abort();
  await plain.watch({ method: 'GET', path: '/w', signal: aborted }, () => assert.fail('no events'));
});
