import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedFrequencyRunner } from '../../../dataplane/proxy/sync-runner.ts';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { isKdpError } from '../../../dataplane/errors.ts';

/** A runner over a fake clock that logs the (relative) time of every run. */
function setup(
  opts: { min: number; max: number; retry?: number },
  body?: (n: number) => Promise<void> | void,
) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner(
    async () => {
      runs.push(clock.now() - t0);
      await body?.(runs.length);
    },
    { minIntervalMs: opts.min, maxIntervalMs: opts.max, retryIntervalMs: opts.retry ?? opts.max, clock },
  );
  return { clock, runs, runner };
}

test('a request runs at once when the last run is long enough ago', async () => {
  const { clock, runs, runner } = setup({ min: 1000, max: 30_000 });
  runner.start();
  runner.run();
  await clock.advance(0);
  assert.deepEqual(runs, [0]);
  await clock.advance(5000);
  runner.run();
  await clock.advance(0);
  assert.deepEqual(runs, [0, 5000]);
  await runner.stop();
});

test('requests within minInterval wait for it and fold into one run', async () => {
  const { clock, runs, runner } = setup({ min: 1000, max: 30_000 });
  runner.start();
  runner.run();
  await clock.advance(0);
  await clock.advance(100);
  runner.run();
  await clock.advance(200);
  runner.run();
  runner.run();
  await clock.advance(600);
  assert.deepEqual(runs, [0], 'nothing before minInterval has passed');
  await clock.advance(100);
  assert.deepEqual(runs, [0, 1000]);
  await clock.advance(5000);
  assert.deepEqual(runs, [0, 1000], 'the folded requests ran once');
  await runner.stop();
});

test('with no requests it runs every maxInterval, counted from the last run', async () => {
  const { clock, runs, runner } = setup({ min: 1000, max: 10_000 });
  runner.start();
  await clock.advance(25_000);
  assert.deepEqual(runs, [10_000, 20_000]);
  runner.run();
  await clock.advance(0);
  await clock.advance(12_000);
  assert.deepEqual(runs, [10_000, 20_000, 25_000, 35_000]);
  await runner.stop();
});

test('requests during a run fold into one run after it, minInterval after its end', async () => {
  let finish: (() => void) | undefined;
  const { clock, runs, runner } = setup({ min: 1000, max: 60_000 }, (n) =>
    n === 1 ? new Promise<void>((r) => (finish = r)) : undefined,
  );
  runner.start();
  runner.run();
  await clock.advance(0);
  assert.equal(runs.length, 1);
  runner.run();
  runner.run();
  await clock.advance(3000);
  assert.equal(runs.length, 1, 'runs never overlap');
  finish!();
  await clock.advance(999);
  assert.equal(runs.length, 1, 'minInterval counts from the end of the run');
  await clock.advance(1);
  assert.deepEqual(runs, [0, 4000]);
  await clock.advance(10_000);
  assert.equal(runs.length, 2);
  await runner.stop();
});

test('a failed run is retried after the retry interval, no sooner than minInterval', async () => {
  const { clock, runs, runner } = setup({ min: 1000, max: 60_000, retry: 5000 }, (n) => {
    if (n <= 2) throw new Error(`failure ${n}`);
  });
  runner.start();
  runner.run();
  await clock.advance(0);
  await clock.advance(4999);
  assert.deepEqual(runs, [0]);
  await clock.advance(1);
  assert.deepEqual(runs, [0, 5000]);
  await clock.advance(5000);
  assert.deepEqual(runs, [0, 5000, 10_000]);
  await clock.advance(30_000);
  assert.deepEqual(runs, [0, 5000, 10_000], 'success ends the retries');

  const short = setup({ min: 2000, max: 60_000, retry: 10 }, (n) => {
    if (n === 1) throw new Error('once');
  });
  short.runner.start();
  short.runner.run();
  await short.clock.advance(0);
  await short.clock.advance(3000);
  assert.deepEqual(short.runs, [0, 2000]);
  await Promise.all([runner.stop(), short.runner.stop()]);
});

test('a request made before start runs at start; nothing runs after stop and no timer is left', async () => {
  const { clock, runs, runner } = setup({ min: 0, max: 10_000 });
  runner.run();
  await clock.advance(5000);
  assert.deepEqual(runs, [], 'not started yet');
  runner.start();
  await clock.advance(0);
  assert.deepEqual(runs, [5000]);
  assert.equal(clock.pendingTimers(), 1, 'the periodic timer');
  await runner.stop();
  assert.equal(clock.pendingTimers(), 0);
  runner.run();
  await clock.advance(60_000);
  assert.deepEqual(runs, [5000]);
});

test('stop waits for a run in progress', async () => {
  let finish: (() => void) | undefined;
  let done = false;
  const { clock, runner } = setup({ min: 0, max: 10_000 }, () =>
    new Promise<void>((r) => (finish = r)).then(() => {
      done = true;
    }),
  );
  runner.start();
  runner.run();
  await clock.advance(0);
  const stopped = runner.stop();
  finish!();
  await stopped;
  assert.equal(done, true);
  assert.equal(clock.pendingTimers(), 0);
});

test('intervals are validated', () => {
  const fn = () => {};
  for (const bad of [
    { minIntervalMs: 10, maxIntervalMs: 5, retryIntervalMs: 1 },
    { minIntervalMs: -1, maxIntervalMs: 5, retryIntervalMs: 1 },
    { minIntervalMs: 0, maxIntervalMs: 5, retryIntervalMs: 0 },
  ]) {
    assert.throws(
      () => new BoundedFrequencyRunner(fn, bad),
      (err) => isKdpError(err, 'KDP_ERR_PROXY_CONFIG'),
    );
  }
});

test('maxInterval Infinity: no periodic runs, and no timer while idle', async () => {
  const { clock, runs, runner } = setup({ min: 0, max: Infinity, retry: 100 });
  runner.start();
  assert.equal(clock.pendingTimers(), 0);
  runner.run();
  await clock.advance(0);
  await clock.advance(1_000_000);
  assert.deepEqual(runs, [0]);
  assert.equal(clock.pendingTimers(), 0);
  await runner.stop();
});

test('the function is told whether a run is merely periodic', async () => {
  const clock = new FakeClock();
  const seen: boolean[] = [];
  let fail = false;
  const runner = new BoundedFrequencyRunner(
    ({ periodic }) => {
      seen.push(periodic);
      if (fail) {
        fail = false;
        throw new Error('once');
      }
    },
    { minIntervalMs: 0, maxIntervalMs: 10_000, retryIntervalMs: 100, clock },
  );
  runner.start();
  await clock.advance(10_000);
  runner.run();
  await clock.advance(0);
  fail = true;
  await clock.advance(10_000);
  await clock.advance(100);
  assert.deepEqual(seen, [true, false, true, false], 'periodic, requested, periodic (fails), retry');
  await runner.stop();
});
