// The regression gate's decision on known inputs: a clear 10% regression over 10 trials is caught,
// identical distributions pass, 3 trials are inconclusive with the reason, an improvement is one,
// a change straddling the threshold is inconclusive with an estimate of the trials it needs, cells
// only in one run are missing or new; and the thresholds file is read, matched and checked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareResults } from '../../../bench/compare/compare.ts';
import {
  globMatch,
  loadThresholds,
  parseThresholds,
  thresholdFor,
  type Thresholds,
} from '../../../bench/compare/thresholds.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { around, fixture, results, streamCell } from './results-fixture.ts';

const T: Thresholds = { alpha: 0.05, defaults: { higher: 0.05, lower: 0.1 }, metrics: [], cells: [] };

function verdictOf(base: number[], cur: number[], better: 'higher' | 'lower' = 'higher', t = T) {
  const c = compareResults(
    results([streamCell('p', base, better)]),
    results([streamCell('p', cur, better)]),
    t,
  );
  assert.equal(c.metrics.length, 1);
  return c.metrics[0];
}

test('a clear 10% throughput regression over 10 trials is caught', () => {
  const m = verdictOf(around(10), around(9));
  assert.equal(m.verdict, 'regressed');
  assert.ok(m.pValue! < 0.001);
  assert.ok(
    m.ratio!.estimate > 0.88 && m.ratio!.estimate < 0.92 && m.ratio!.high < 0.95,
    JSON.stringify(m.ratio),
  );
  assert.equal(m.threshold, 0.05);
});

test('for latency a rise is the regression and a fall the improvement', () => {
  assert.equal(verdictOf(around(100), around(125), 'lower').verdict, 'regressed');
  assert.equal(verdictOf(around(100), around(75), 'lower').verdict, 'improved');
  assert.equal(verdictOf(around(10), around(12)).verdict, 'improved');
});

test('identical distributions are unchanged', () => {
  const m = verdictOf(around(10), [...around(10)].reverse());
  assert.equal(m.verdict, 'unchanged');
  assert.ok(m.pValue! > 0.5);
  assert.ok(m.ratio!.low >= 0.95 && m.ratio!.high <= 1.05);
});

test('3 trials a side are inconclusive, however large the change, and say how many are needed', () => {
  const m = verdictOf(around(10, 3), around(5, 3));
  assert.equal(m.verdict, 'inconclusive');
  assert.equal(m.trialsNeeded, 4);
  assert.match(m.reason, /too few trials \(3 baseline, 3 current\).*fewer than 4 a side/);
});

test('a change whose interval straddles the threshold is inconclusive, with a trial estimate', () => {
  // A 5% drop with +-5% noise: the test sees it, but the interval reaches both sides of 0.95.
  const m = verdictOf(around(10, 10, 0.05), around(9.5, 10, 0.05));
  assert.equal(m.verdict, 'inconclusive');
  assert.ok(m.ratio!.low < 0.95 && m.ratio!.high > 0.95);
  assert.match(m.reason, /threshold/);
  // A 2.5% drop in +-6% noise cannot be told from nothing: inconclusive; more trials would narrow it.
  const noisy = verdictOf(around(10, 10, 0.06), around(9.75, 10, 0.06));
  assert.equal(noisy.verdict, 'inconclusive');
  assert.ok(noisy.trialsNeeded! > 10, JSON.stringify(noisy));
});

test('cells only in the baseline are missing, only in the current run new; skips say why', () => {
  const base = results([
    streamCell('a', around(10)),
    streamCell('b', around(10)),
    { ...streamCell('c', around(10)), metrics: [], skipped: 'no ipvs' },
  ]);
  const cur = results([
    streamCell('a', around(10)),
    streamCell('c', around(10)),
    { ...streamCell('b', around(10)), metrics: [], skipped: 'node gone' },
  ]);
  const c = compareResults(base, cur, T);
  const by = new Map(c.metrics.map((m) => [m.cellId, m]));
  assert.equal(by.get('iptables/host-gw/a/tcp-stream-1')!.verdict, 'unchanged');
  assert.equal(by.get('iptables/host-gw/b/tcp-stream-1')!.verdict, 'missing');
  assert.match(by.get('iptables/host-gw/b/tcp-stream-1')!.reason, /skipped in the current run: node gone/);
  assert.equal(by.get('iptables/host-gw/c/tcp-stream-1')!.verdict, 'new');
  assert.match(by.get('iptables/host-gw/c/tcp-stream-1')!.reason, /skipped in the baseline: no ipvs/);
  assert.deepEqual(c.counts, {
    regressed: 0,
    improved: 0,
    inconclusive: 0,
    unchanged: 1,
    missing: 1,
    new: 1,
  });
});

test('the fixtures: one regression, one improvement, one inconclusive, missing and new cells', () => {
  const c = compareResults(fixture('baseline.json'), fixture('current.json'), loadThresholds());
  const pick = (v: string) => c.metrics.filter((m) => m.verdict === v).map((m) => `${m.cellId} ${m.metric}`);
  assert.deepEqual(pick('regressed'), ['iptables/host-gw/pod-pod-cross-node/tcp-stream-1 throughput_gbps']);
  assert.deepEqual(pick('improved'), ['userspace/host-gw/pod-clusterip/tcp-stream-1 throughput_gbps']);
  assert.deepEqual(pick('inconclusive'), ['-/-/-/bringup/nodes=2 bringup_s']);
  assert.deepEqual(pick('new'), ['iptables/vxlan/pod-pod-cross-node/tcp-stream-1 throughput_gbps']);
  assert.equal(pick('missing').length, 4);
  assert.equal(c.baseline.gitCommit, 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
});

test('thresholds: cell rules win over metric rules, which win over the direction default', () => {
  const t = loadThresholds();
  assert.equal(t.alpha, 0.05);
  assert.equal(thresholdFor(t, 'iptables/host-gw/p/tcp-stream-1', 'throughput_gbps', 'higher'), 0.05);
  assert.equal(thresholdFor(t, 'userspace/host-gw/p/tcp-stream-1', 'throughput_gbps', 'higher'), 0.1);
  assert.equal(thresholdFor(t, 'iptables/host-gw/p/tcp-rr', 'latency_p50_us', 'lower'), 0.1);
  assert.equal(thresholdFor(t, 'iptables/host-gw/p/tcp-rr', 'latency_p99_us', 'lower'), 0.15);
  assert.equal(thresholdFor(t, 'iptables/host-gw/p/tcp-rr', 'latency_p999_us', 'lower'), 0.25);
  assert.ok(globMatch('*/udp/*', 'iptables/udp/pod-clusterip/tcp-stream-1'));
  assert.ok(!globMatch('latency_p99', 'latency_p99_us'));
  assert.ok(globMatch('a.b?', 'a.bc') && !globMatch('a.b?', 'axbc'));
});

test('bad thresholds files fail with the key at fault', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-thresholds-'));
  const load = (text: string) => {
    const p = join(dir, 't.yaml');
    writeFileSync(p, text);
    return () => loadThresholds(p);
  };
  const fails = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e) => isKdpError(e, 'KDP_ERR_BENCH_THRESHOLDS') && re.test((e as Error).message));
  try {
    fails(() => loadThresholds(join(dir, 'absent.yaml')), /absent\.yaml: no such file/);
    fails(load('alpha: [0.05\ndefaults: {'), /is not valid YAML at line \d/);
    fails(load('alpha: 0.05\n'), /defaults must be a mapping/);
    fails(load('defaults: { higher: 5%, lower: 0.1 }'), /defaults\.higher must be a number/);
    fails(
      load('defaults: { higher: 0.05, lower: 0.1 }\nalpha: 0.9'),
      /alpha must be a number between 0 and 0\.5/,
    );
    fails(load('defaults: { higher: 0.05, lower: 0.1 }\ntreshold: 1'), /unknown key\(s\) treshold/);
    fails(
      load('defaults: { higher: 0.05, lower: 0.1 }\nmetrics: [{ threshold: 0.2 }]'),
      /metrics\[0\] needs "metric"/,
    );
    fails(
      load('defaults: { higher: 0.05, lower: 0.1 }\ncells: [{ cell: "a/*", threshold: -1 }]'),
      /cells\[0\]\.threshold/,
    );
    assert.deepEqual(parseThresholds({ defaults: { higher: 0.1, lower: 0.2 } }), {
      alpha: 0.05,
      defaults: { higher: 0.1, lower: 0.2 },
      metrics: [],
      cells: [],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
