// Watches through the dispatcher: the initial ADDED events, replay from a resourceVersion, 410 for
// one the window no longer holds, selector-aware events, timeouts and bookmarks as the WatchResult
// states them, and one object watched by its URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../dataplane/api/errors.ts';
import {
  call,
  collect,
  expectObject,
  expectStatus,
  expectWatch,
  newFixture,
  service,
  SVC_PATH,
} from './dispatch-fixture.ts';

const summary = (evs: { type: string; object: any }[]) =>
  evs.map((e) => `${e.type} ${e.object.metadata.name}`);

test('a watch without resourceVersion starts with the current objects, then follows changes', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('a') });
  const w = expectWatch(call(f, 'GET', SVC_PATH, { query: { watch: 'true' } }));
  const { events, stop } = collect(w);
  assert.deepEqual(summary(events), ['ADDED a']);
  call(f, 'POST', SVC_PATH, { body: service('b') });
  call(f, 'PATCH', `${SVC_PATH}/a`, {
    body: { metadata: { labels: { x: '1' } } },
    contentType: 'application/merge-patch+json',
  });
  call(f, 'DELETE', `${SVC_PATH}/b`);
  stop();
  call(f, 'POST', SVC_PATH, { body: service('after-stop') });
  assert.deepEqual(summary(events), ['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED b']);
});

test('watch=1 from a list resourceVersion replays only what came after it', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('before') });
  const list = expectObject(call(f, 'GET', SVC_PATH));
  call(f, 'POST', SVC_PATH, { body: service('after') });
  const w = expectWatch(
    call(f, 'GET', SVC_PATH, { query: { watch: '1', resourceVersion: list.metadata.resourceVersion } }),
  );
  const { events, stop } = collect(w);
  stop();
  assert.deepEqual(summary(events), ['ADDED after']);
});

test('a resourceVersion older than the window is 410 Expired when the watch starts', () => {
  const f = newFixture({ windowSize: 3 });
  const first = expectObject(call(f, 'POST', SVC_PATH, { body: service('s0') }), 201);
  for (let i = 1; i < 6; i++) call(f, 'POST', SVC_PATH, { body: service(`s${i}`) });
  const w = expectWatch(
    call(f, 'GET', SVC_PATH, { query: { watch: 'true', resourceVersion: first.metadata.resourceVersion } }),
  );
  assert.throws(
    () => w.start(() => {}),
    (e: unknown) => e instanceof ApiError && e.httpCode === 410 && e.reason === 'Expired',
  );
  expectStatus(call(f, 'GET', SVC_PATH, { query: { watch: 'true', resourceVersion: 'abc' } }), 400);
});

test('a selector watch turns changes that leave or enter the selector into DELETED and ADDED', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('a', { team: 'x' }) });
  const w = expectWatch(call(f, 'GET', SVC_PATH, { query: { watch: 'true', labelSelector: 'team=x' } }));
  const { events, stop } = collect(w);
  const relabel = (team: string) =>
    call(f, 'PATCH', `${SVC_PATH}/a`, {
      body: { metadata: { labels: { team } } },
      contentType: 'application/merge-patch+json',
    });
  relabel('y');
  relabel('x');
  stop();
  assert.deepEqual(summary(events), ['ADDED a', 'DELETED a', 'ADDED a']);
  expectStatus(
    call(f, 'GET', SVC_PATH, { query: { watch: 'true', labelSelector: '!!' } }),
    400,
    'BadRequest',
  );
});

test('watching one object by its URL sees only that object', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('a') });
  call(f, 'POST', SVC_PATH, { body: service('b') });
  const w = expectWatch(call(f, 'GET', `${SVC_PATH}/a`, { query: { watch: 'true' } }));
  const { events, stop } = collect(w);
  call(f, 'DELETE', `${SVC_PATH}/b`);
  call(f, 'DELETE', `${SVC_PATH}/a`);
  stop();
  assert.deepEqual(summary(events), ['ADDED a', 'DELETED a']);
});

test('timeoutSeconds, bookmarks and the kind of bookmark objects are stated on the WatchResult', () => {
  const f = newFixture({ watchTimeoutSeconds: 100 });
  const asked = expectWatch(
    call(f, 'GET', SVC_PATH, { query: { watch: 'true', timeoutSeconds: '7', allowWatchBookmarks: 'true' } }),
  );
  assert.equal(asked.timeoutSeconds, 7);
  assert.equal(asked.allowBookmarks, true);
  assert.deepEqual(asked.objectKind, { kind: 'Service', apiVersion: 'v1' });
  assert.equal(asked.currentResourceVersion(), String(f.store.resourceVersion));
  for (let i = 0; i < 20; i++) {
    const dflt = expectWatch(call(f, 'GET', SVC_PATH, { query: { watch: 'true' } }));
    assert.equal(dflt.allowBookmarks, false);
    assert.ok(
      dflt.timeoutSeconds >= 100 && dflt.timeoutSeconds < 200,
      `jittered default: ${dflt.timeoutSeconds}`,
    );
  }
  expectStatus(call(f, 'GET', SVC_PATH, { query: { watch: 'true', timeoutSeconds: 'soon' } }), 400);
  const deploys = expectWatch(call(f, 'GET', '/apis/apps/v1/deployments', { query: { watch: 'true' } }));
  assert.deepEqual(deploys.objectKind, { kind: 'Deployment', apiVersion: 'apps/v1' });
});
