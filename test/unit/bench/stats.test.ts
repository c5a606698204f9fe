// The shared benchmark statistics: nearest-rank percentiles, medians, summaries, and bootstrap
// intervals that contain their estimate, narrow with more samples, are reproducible by seed, and
// put a ratio of two equal distributions around 1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bootstrap,
  bootstrapRatio,
  median,
  percentile,
  seededRandom,
  summarize,
} from '../../../bench/lib/stats.ts';

test('percentiles are nearest-rank samples; medians average the middle pair', () => {
  const xs = [5, 1, 4, 2, 3];
  assert.equal(percentile(xs, 50), 3);
  assert.equal(percentile(xs, 99), 5);
  assert.equal(percentile(xs, 1), 1);
  assert.equal(
    percentile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      99,
    ),
    99,
  );
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.deepEqual(summarize([3, 1, 2]), { n: 3, min: 1, p50: 2, p90: 3, p99: 3, max: 3, mean: 2 });
});

test('bootstrap intervals hold the estimate, shrink with samples and repeat by seed', () => {
  const rand = seededRandom(7);
  const draw = (n: number) => Array.from({ length: n }, () => 100 + rand() * 20);
  const few = bootstrap(draw(10));
  const many = bootstrap(draw(1000));
  for (const i of [few, many]) assert.ok(i.low <= i.estimate && i.estimate <= i.high, JSON.stringify(i));
  assert.ok(many.high - many.low < few.high - few.low, 'more samples, narrower interval');
  const xs = draw(50);
  assert.deepEqual(bootstrap(xs, median, { seed: 3 }), bootstrap(xs, median, { seed: 3 }));
  const p99 = bootstrap(xs, (s) => percentile(s, 99));
  assert.equal(p99.estimate, percentile(xs, 99));
});

test('the ratio of two samples of one distribution is about 1; of a doubled one about 2', () => {
  const rand = seededRandom(11);
  const a = Array.from({ length: 200 }, () => 10 + rand());
  const b = Array.from({ length: 200 }, () => 10 + rand());
  const same = bootstrapRatio(a, b);
  assert.ok(same.low < 1 && same.high > 1, JSON.stringify(same));
  const double = bootstrapRatio(
    a.map((x) => 2 * x),
    b,
  );
  assert.ok(double.low > 1.9 && double.high < 2.1, JSON.stringify(double));
  assert.ok(Number.isNaN(bootstrapRatio([], b).estimate));
});
