import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cell } from '../../../bench/lib/results.ts';
import { metric } from '../../../bench/lib/summary.ts';
import { validateResults } from '../../../bench/lib/validate.ts';
import { answerMarkdown, answerRows } from '../../../bench/report/answer.ts';
import { buildCharts } from '../../../bench/report/charts.ts';
import { renderMarkdown } from '../../../bench/report/markdown.ts';
import { around, results } from './results-fixture.ts';

function cell(
  mode: string,
  path: string,
  workload: string,
  services: number | undefined,
  metrics: Cell['metrics'],
): Cell {
  const params = services === undefined ? undefined : { services };
  const axes = {
    mode,
    backend: 'host-gw',
    path,
    workload,
    ...(params ? { params } : {}),
  };
  return { id: `${mode}/host-gw/${path}/${workload}${params ? `/services=${services}` : ''}`, axes, metrics };
}

const crr = (mode: string, path: string, n: number, rate: number, p99: number) =>
  cell(mode, path, 'tcp-crr', n, [
    metric('connections_per_s', 'connections/s', 'higher', around(rate, 5)),
    metric('connect_p99_us', 'us', 'lower', around(p99, 5)),
  ]);
const stream = (mode: string, path: string, gbps: number) =>
  cell(mode, path, 'tcp-stream-1', 0, [metric('throughput_gbps', 'Gbit/s', 'higher', around(gbps, 5))]);
const background = (mode: string, n: number, changes: number[]) =>
  cell(mode, '-', 'background-services', n, [metric('endpoint_change_ms', 'ms', 'lower', changes)]);

// A run shaped like the issue's table: iptables slows down with 10k Services, a verdict map does not.
const FIXTURE = results([
  stream('iptables', 'pod-pod-cross-node', 14),
  stream('iptables', 'pod-clusterip', 13.3),
  crr('iptables', 'pod-pod-cross-node', 0, 16_000, 56),
  crr('iptables', 'pod-clusterip', 0, 15_700, 60),
  crr('iptables', 'pod-pod-cross-node', 10_000, 16_100, 55),
  crr('iptables', 'pod-clusterip', 10_000, 6_100, 177),
  background('iptables', 10_000, [160, 170, 180, 190, 400]),
  stream('nftables', 'pod-pod-cross-node', 14),
  stream('nftables', 'pod-clusterip', 14),
  crr('nftables', 'pod-pod-cross-node', 10_000, 16_000, 55),
  crr('nftables', 'pod-clusterip', 10_000, 14_300, 67),
  { ...crr('ipvs', 'pod-clusterip', 10_000, 1, 1), metrics: [], skipped: 'no IP_VS in this kernel' },
]);

test('the answer: per mode, conn/s at the largest N over direct, connect p99, one change to kernel, throughput over direct', () => {
  validateResults(FIXTURE);
  const rows = answerRows(FIXTURE);
  assert.deepEqual(
    rows.map((r) => r.label),
    ['iptables', 'nftables'],
  );
  const [ipt, nft] = rows;
  assert.equal(ipt.services, 10_000);
  assert.ok(Math.abs(ipt.connRatio!.estimate - 6_100 / 16_100) < 0.01, String(ipt.connRatio!.estimate));
  assert.ok(ipt.connRatio!.low <= ipt.connRatio!.estimate && ipt.connRatio!.estimate <= ipt.connRatio!.high);
  assert.ok(Math.abs(nft.connRatio!.estimate - 14_300 / 16_000) < 0.01);
  assert.ok(Math.abs(ipt.connectP99Us! - 177) < 177 * 0.03);
  assert.deepEqual(ipt.endpointChangeMs, { median: 180, max: 400 });
  assert.equal(nft.endpointChangeMs, undefined);
  assert.ok(Math.abs(ipt.throughputRatio!.estimate - 0.95) < 0.02);
  assert.ok(Math.abs(nft.throughputRatio!.estimate - 1) < 0.02);
});

test('the Markdown summary leads with the answer table; missing figures are dashes, not guesses', () => {
  const md = renderMarkdown(FIXTURE);
  const answer = md.indexOf('### The answer');
  assert.ok(
    answer > 0 && answer < md.indexOf('### tcp-crr'),
    'the answer comes before the per-workload tables',
  );
  const lines = answerMarkdown(FIXTURE);
  assert.match(
    lines.find((l) => l.startsWith('| mode'))!,
    /N = 10,000 Services/,
  );
  const ipt = lines.find((l) => l.startsWith('| iptables'))!;
  assert.match(ipt, /^\| iptables \| 0\.38x \(0\.3\d-0\.3\d\) \| 17\d /);
  assert.match(ipt, /\| 180 \/ 400 \|/);
  assert.match(
    lines.find((l) => l.startsWith('| nftables'))!,
    /\| — \| 1\.00x/,
  );
  assert.ok(!lines.some((l) => l.startsWith('| ipvs')), 'a skipped mode has no row');
  assert.deepEqual(answerMarkdown(results([])), []);
});

test('HTML: connections/s and connect p99 against N per mode, with the direct path as the dashed reference line', () => {
  const charts = buildCharts(FIXTURE);
  for (const name of ['connections_per_s (connections/s)', 'connect_p99_us (us)']) {
    const chart = charts.find((c) => c.title === `tcp-crr: ${name} against the number of services`);
    assert.ok(chart, `${name}: ${charts.map((c) => c.title).join('; ')}`);
    const datasets = (chart.config as { data: { datasets: Array<Record<string, unknown>> } }).data.datasets;
    const direct = datasets.find((d) => d.label === 'iptables / host-gw direct pod-pod-cross-node')!;
    const service = datasets.find((d) => d.label === 'iptables / host-gw pod-clusterip')!;
    assert.deepEqual(direct.borderDash, [2, 3]);
    assert.equal(service.borderDash, undefined);
    assert.deepEqual(
      (service.data as Array<{ x: number }>).map((p) => p.x),
      [0, 10_000],
    );
  }
  // Measured at one size only: stays a bar chart by path and mode.
  assert.ok(charts.some((c) => c.title === 'tcp-stream-1: throughput_gbps (Gbit/s) by path and mode'));
});
