// The controllers' work queue: coalescing, one handler per key at a time, backoff on failure reset
// by success, permanent failures dropped, and a shutdown that leaves no timers and no running handler behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../dataplane/api/errors.ts';
import { isRefusedAsInvalid } from '../../../dataplane/controllers/controller.ts';
import { WorkQueue } from '../../../dataplane/controllers/workqueue.ts';
import { until } from '../../helpers/until.ts';

test('keys added while waiting coalesce; a key added while handled runs again after', async () => {
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new WorkQueue(async (key) => {
    seen.push(key);
    if (key === 'a' && seen.length === 1) await gate;
  });
  q.add('a');
  q.add('b');
  q.add('b');
  q.start();
  await until('a is being handled', () => seen.length === 1);
  q.add('a'); // while a is in the handler: must run again, after
  q.add('a');
  assert.equal(seen.filter((k) => k === 'a').length, 1, 'never two handlers for one key at once');
  release();
  await until('queue drained', () => q.idle && seen.length === 3);
  assert.deepEqual(seen, ['a', 'b', 'a']);
  await q.shutDown();
});

test('failures retry with growing delays and success resets them', async () => {
  const attempts: number[] = [];
  const errors: number[] = [];
  let fail = 3;
  const q = new WorkQueue(
    async () => {
      attempts.push(Date.now());
      if (fail-- > 0) throw new Error('boom');
    },
    { baseDelayMs: 20, maxDelayMs: 1000, onError: (_k, _e, attempt) => errors.push(attempt) },
  );
  q.start();
  q.add('k');
  await until('success after three failures', () => attempts.length === 4 && q.idle);
  assert.deepEqual(errors, [1, 2, 3]);
  // Delays 20, 40, 80 ms: each gap at least its backoff (a lower bound, never a duration assertion).
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
  assert.ok(gaps[0] >= 15 && gaps[1] >= 35 && gaps[2] >= 75, `gaps ${gaps}`);
  fail = 1;
  q.add('k');
  await until('retried once more', () => errors.length === 4 && q.idle);
  assert.equal(errors[3], 1, 'the success reset the backoff');
  await q.shutDown();
});

test('shutdown waits for the running handler, cancels retries and takes nothing further', async () => {
  let running = 0;
  let finished = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new WorkQueue(
    async (key, signal) => {
      running++;
      if (key === 'slow') await gate;
      assert.equal(signal.aborted, key === 'slow');
      finished++;
      if (key === 'bad') throw new Error('retry me later');
    },
    { baseDelayMs: 60_000, workers: 2 },
  );
  q.start();
  q.add('bad');
  q.add('slow');
  await until('both handled or handling', () => running === 2 && finished === 1);
  q.addAfter('later', 60_000);
  const closed = q.shutDown();
  q.add('after-close');
  release();
  await closed;
  assert.equal(finished, 2);
  assert.equal(running, 2, 'nothing ran after shutdown');
  assert.ok(q.idle, 'no timers left (the 60 s retry and the delayed add are gone)');
});

test('finding 5: a permanent failure (a poisoned object) is dropped once, not retried in a loop', async () => {
  const calls: string[] = [];
  const drops: string[] = [];
  const retried: string[] = [];
  const q = new WorkQueue(
    async (key) => {
      calls.push(key);
      if (key === 'poisoned') throw new ApiError('Invalid', 'refused');
      if (key === 'flaky' && calls.filter((k) => k === 'flaky').length === 1) throw new Error('transient');
    },
    {
      baseDelayMs: 1,
      isPermanent: isRefusedAsInvalid,
      onDrop: (key) => drops.push(key),
      onError: (key) => retried.push(key),
    },
  );
  q.start();
  q.add('poisoned');
  q.add('flaky');
  await until(
    'queue idle after the flaky retry',
    () => q.idle && calls.filter((k) => k === 'flaky').length === 2,
  );
  assert.deepEqual(drops, ['poisoned']);
  assert.deepEqual(retried, ['flaky']);
  assert.equal(calls.filter((k) => k === 'poisoned').length, 1);
  // A later change to the object queues it again, once.
  q.add('poisoned');
  await until('second drop', () => drops.length === 2 && q.idle);
  assert.equal(calls.filter((k) => k === 'poisoned').length, 2);
  await q.shutDown();
});
