// The framework's half of self-healing, with a mode that only reports "damaged" when told: the
// periodic check turns damage into a full sync within one period, a sync in flight or a full sync
// already due suppresses it, a mode without a check gets no timer, and a slow check stretches the
// period to 10x its duration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import {
  RecordingProxier,
  type RecordingProxierOptions,
} from '../../../dataplane/proxy/testing/recording-proxier.ts';
import type { Clock } from '../../../dataplane/proxy/sync-runner.ts';

class CheckedProxier extends RecordingProxier {
  damage: string | undefined;
  checks = 0;
  checkCostMs = 0;
  constructor(
    opts: RecordingProxierOptions,
    private readonly spend: (ms: number) => void = () => {},
  ) {
    super(opts);
  }
  protected override async checkKernelState(): Promise<string | undefined> {
    this.checks++;
    this.spend(this.checkCostMs);
    return this.damage;
  }
}

async function started(p: RecordingProxier, advance: (ms: number) => Promise<void>) {
  p.start();
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  await advance(0);
  assert.equal(p.syncs.length, 1);
}

test('damage found by the periodic check forces a full sync within one period', async () => {
  const clock = new FakeClock();
  const p = new CheckedProxier({ nodeName: 'n', clock, minSyncPeriodMs: 0, syncPeriodMs: 30_000 });
  await started(p, (ms) => clock.advance(ms));
  await clock.advance(3000);
  assert.equal(p.checks, 3);
  assert.equal(p.syncs.length, 1, 'intact: no sync');
  p.damage = 'nat: a jump is gone';
  await clock.advance(1000);
  assert.equal(p.syncs.length, 2);
  assert.equal(p.last!.full, true);
  const repairs = (await p.metrics.kernelStateRepairs.get()).values;
  assert.deepEqual(
    repairs.map((v) => v.value),
    [1],
  );
  await p.stop();
});

test('a partial sync does not check: it costs what it did, the timer finds the damage', async () => {
  const clock = new FakeClock();
  const p = new CheckedProxier({ nodeName: 'n', clock, minSyncPeriodMs: 0, kernelCheckPeriodMs: Infinity });
  await started(p, (ms) => clock.advance(ms));
  p.damage = 'gone';
  p.sync();
  await clock.advance(0);
  assert.equal(p.last!.full, false, 'still partial');
  assert.equal(p.checks, 0, 'no check outside the timer');
  await p.stop();
});

test('a mode without a check gets no timer', async () => {
  const clock = new FakeClock();
  const p = new RecordingProxier({ nodeName: 'n', clock, minSyncPeriodMs: 0, syncPeriodMs: Infinity });
  await started(p, (ms) => clock.advance(ms));
  assert.equal(clock.pendingTimers(), 0);
  await p.stop();
});

test('a slow check stretches the period to 10x its duration', async () => {
  // A clock whose time the check itself moves, and whose timers the test fires by hand.
  let now = 0;
  const timers: { fn: () => void; ms: number }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimer: (fn, ms) => (timers.push({ fn, ms }), timers.length),
    clearTimer: () => {},
  };
  const p = new CheckedProxier(
    { nodeName: 'n', clock, minSyncPeriodMs: 0, syncPeriodMs: Infinity },
    (ms) => (now += ms),
  );
  p.start();
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  const fire = async (ms: number) => {
    const i = timers.findIndex((t) => t.ms === ms);
    assert.ok(i >= 0, `a timer of ${ms} ms among ${timers.map((t) => t.ms)}`);
    timers.splice(i, 1)[0].fn();
    await new Promise((r) => setImmediate(r));
  };
  await fire(0); // the first sync
  p.checkCostMs = 300;
  await fire(1000); // a check that took 300 ms
  assert.equal(p.checks, 1);
  await fire(3000);
  assert.equal(p.checks, 2);
  p.checkCostMs = 20;
  await fire(3000);
  await fire(1000);
  assert.equal(p.checks, 4);
  await p.stop();
});

test('kernelCheckPeriodMs must be positive', () => {
  assert.throws(() => new CheckedProxier({ nodeName: 'n', kernelCheckPeriodMs: 0 }), /kernelCheckPeriodMs/);
});
