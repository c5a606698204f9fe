/**
 * The gate's self-test at a small size (root): the report has its figures and per-pair records,
 * the injected runs ran with a tbf qdisc on the sending node's uplink (as `tc qdisc show` printed
 * it while they ran) at 90% of the baseline's payload rate, and nothing is left behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSelftest } from '../../../bench/selftest/selftest.ts';
import { FRAME_PER_PAYLOAD } from '../../../bench/selftest/tbf.ts';
import { uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';

test('the self-test injects tbf and reports detection and A/A rates', { timeout: 300_000 }, async (t) => {
  const prefix = uniqueCluster();
  await withRootUnchanged(t, `${prefix}1`, async () => {
    const reps = 2;
    const r = await runSelftest({ reps, trials: 4, warmup: 0, seconds: 1, clusterPrefix: prefix });
    assert.equal(r.cell, 'iptables/host-gw/pod-pod-cross-node/tcp-stream-1');
    assert.equal(r.injected.length, reps);
    assert.equal(r.aaPairs.length, reps);
    for (const p of r.injected) {
      assert.match(p.qdisc, /qdisc tbf \S+ root .*rate \d+/);
      const expected = p.baselineMedianGbps * 1e9 * 0.9 * FRAME_PER_PAYLOAD;
      assert.ok(Math.abs(p.tbfRateBits - expected) <= 1, `${p.tbfRateBits} vs ${expected}`);
      assert.ok(['regressed', 'inconclusive', 'unchanged', 'improved'].includes(p.verdict), p.verdict);
      assert.ok(p.gateSeconds > 0);
    }
    assert.equal(r.detection.reps, reps);
    assert.equal(r.detection.detected, r.injected.filter((p) => p.verdict === 'regressed').length);
    assert.equal(r.aa.passed, r.aaPairs.filter((p) => p.verdict !== 'regressed').length);
    assert.equal(r.detection.required, 2);
    assert.ok(r.detection.rate >= 0 && r.detection.rate <= 1);
    assert.ok(r.gateSeconds.median > 0 && r.totalSeconds >= r.gateSeconds.max);
    // The injected runs were slower than their baselines: the tbf took effect.
    assert.ok(r.measuredRatio.injected < 1, `injected ratio ${r.measuredRatio.injected}`);
  });
});
