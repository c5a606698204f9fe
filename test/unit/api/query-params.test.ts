// Query parameters of reads are validated as upstream: booleans, resource versions,
// resourceVersionMatch, limits and selectors. Finding 5 named `watch=maybe`, `resourceVersion=abc`,
// `a in ()` and `a,,b`, which used to be accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  call,
  service,
  expectObject,
  expectStatus,
  expectWatch,
  newFixture,
  SVC_PATH,
} from './dispatch-fixture.ts';

test('finding 5: watch=maybe and allowWatchBookmarks=perhaps are 400, Go booleans pass', () => {
  const f = newFixture();
  expectStatus(call(f, 'GET', SVC_PATH, { query: { watch: 'maybe' } }), 400, 'BadRequest');
  expectStatus(
    call(f, 'GET', SVC_PATH, { query: { watch: 'true', allowWatchBookmarks: 'perhaps' } }),
    400,
    'BadRequest',
  );
  expectWatch(call(f, 'GET', SVC_PATH, { query: { watch: 'True' } }));
  assert.equal(
    expectWatch(call(f, 'GET', SVC_PATH, { query: { watch: '1', allowWatchBookmarks: 't' } })).allowBookmarks,
    true,
  );
  expectObject(call(f, 'GET', SVC_PATH, { query: { watch: 'false' } }));
});

test('finding 5: resourceVersion=abc is 400 on list, get and watch', () => {
  const f = newFixture();
  const body = expectStatus(
    call(f, 'GET', SVC_PATH, { query: { resourceVersion: 'abc' } }),
    400,
    'BadRequest',
  );
  assert.match(body.message, /invalid resource version "abc"/);
  expectStatus(
    call(f, 'GET', `${SVC_PATH}/kubernetes`, { query: { resourceVersion: '-1' } }),
    400,
    'BadRequest',
  );
  expectStatus(
    call(f, 'GET', SVC_PATH, { query: { watch: '1', resourceVersion: '1e3' } }),
    400,
    'BadRequest',
  );
  expectObject(call(f, 'GET', SVC_PATH, { query: { resourceVersion: '0' } }));
});

test('resourceVersionMatch: unknown values, on watch, or without a resourceVersion are 422', () => {
  const f = newFixture();
  const cases: Record<string, string>[] = [
    { resourceVersionMatch: 'Sometimes', resourceVersion: '1' },
    { resourceVersionMatch: 'NotOlderThan' },
    { resourceVersionMatch: 'Exact', resourceVersion: '0' },
    { resourceVersionMatch: 'NotOlderThan', resourceVersion: '1', watch: 'true' },
  ];
  for (const query of cases) {
    const body = expectStatus(call(f, 'GET', SVC_PATH, { query }), 422, 'Invalid');
    assert.equal(body.details.causes[0].field, 'resourceVersionMatch');
  }
  expectObject(
    call(f, 'GET', SVC_PATH, { query: { resourceVersionMatch: 'NotOlderThan', resourceVersion: '1' } }),
  );
});

test('limit and timeoutSeconds must be non-negative integers', () => {
  const f = newFixture();
  const bad: Record<string, string>[] = [
    { limit: 'ten' },
    { limit: '-1' },
    { timeoutSeconds: '1.5' },
    { timeoutSeconds: 'x', watch: '1' },
  ];
  for (const query of bad) {
    expectStatus(call(f, 'GET', SVC_PATH, { query }), 400, 'BadRequest');
  }
});

test('finding 5: label selectors `a in ()`, `a,,b` and a trailing comma are 400; fine ones select', () => {
  const f = newFixture();
  for (const labelSelector of ['a in ()', 'a,,b', 'a,', ',a', 'a notin ( )', 'a=b=c', 'bad key!']) {
    const body = expectStatus(call(f, 'GET', SVC_PATH, { query: { labelSelector } }), 400, 'BadRequest');
    assert.match(body.message, /unable to parse requirement/);
    expectStatus(call(f, 'GET', SVC_PATH, { query: { labelSelector, watch: '1' } }), 400, 'BadRequest');
  }
  expectObject(call(f, 'POST', SVC_PATH, { body: service('web', { tier: 'front', app: 'web' }) }), 201);
  const list = expectObject(call(f, 'GET', SVC_PATH, { query: { labelSelector: 'tier in (front),app' } }));
  assert.equal(list.items.length, 1);
  expectStatus(call(f, 'GET', SVC_PATH, { query: { fieldSelector: 'spec.nope=1' } }), 400, 'BadRequest');
});
