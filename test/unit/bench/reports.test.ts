// The reports from fixture results: the Markdown summary (environment, tables per workload with
// paths as rows and modes as columns, verdicts with arrows, skipped cells, escaping), the JUnit
// XML (a testcase per metric, failures for regressions, skips for inconclusive and missing) and
// the HTML page (self-contained, charts for every kind of metric, nothing unescaped).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareResults } from '../../../bench/compare/compare.ts';
import { loadThresholds } from '../../../bench/compare/thresholds.ts';
import { buildCharts } from '../../../bench/report/charts.ts';
import { renderHtml } from '../../../bench/report/html.ts';
import { renderJUnit } from '../../../bench/report/junit.ts';
import { escapeMarkdown, renderMarkdown } from '../../../bench/report/markdown.ts';
import { fixture } from './results-fixture.ts';

const baseline = fixture('baseline.json');
const current = fixture('current.json');
const comparison = compareResults(baseline, current, loadThresholds());

test('Markdown: environment, one table per workload, rows by path and columns by mode', () => {
  const md = renderMarkdown(current, { htmlPath: 'out/report.html' });
  assert.match(md, /^## kdp bench: default\n/);
  assert.match(md, /Debian GNU\/Linux 12, kernel 6\.1\.0-28-amd64 · AMD EPYC 7B13 × 2 cores, 8 GiB/);
  assert.match(md, /### tcp-stream-1: throughput\\_gbps \(Gbit\/s, higher is better\)/);
  assert.match(md, /\| path \| iptables \/ host-gw \| userspace \/ host-gw \| iptables \/ vxlan \|/);
  assert.match(md, /\| pod-clusterip \| 9\.34 \(9\.28–9\.4\) \| 2\.72 \(2\.69–2\.75\) \|  \|/);
  assert.match(
    md,
    /### tcp-rr: median \(95% CI\)\n\n\| path \| metric \| iptables \/ host-gw \| userspace \/ host-gw \|/,
  );
  assert.match(md, /\| services=5000 \| [\d.]+ \([\d.]+–[\d.]+\) \| 251 /);
  assert.ok(!/Verdicts/.test(md), 'no verdicts without a comparison');
  assert.match(md, /Charts: the HTML report is at `out\/report\.html`\n$/);
});

test('Markdown: verdicts with arrows, regressions first, unchanged folded away', () => {
  const md = renderMarkdown(current, { baseline, comparison });
  assert.match(md, /\*\*1 regressed\*\*, 1 improved, 1 inconclusive, 30 unchanged, 4 missing, 1 new/);
  const verdicts = md.slice(md.indexOf('### Verdicts'), md.indexOf('<details>'));
  const rows = verdicts.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('|  |'));
  assert.match(
    rows[0],
    /^\| 🔴 ↓11% \| `iptables\/host-gw\/pod-pod-cross-node\/tcp-stream-1` \| `throughput_gbps` \|/,
  );
  assert.match(rows[1], /^\| 🟢 ↑30% \|/);
  assert.match(rows[2], /^\| ⚪ ↑2\.8% \| `-\/-\/-\/bringup\/nodes=2` .*too few trials/);
  assert.match(md, /<details><summary>30 unchanged<\/summary>/);
  assert.match(md, /\| pod-pod-cross-node \| 6\.77 \(6\.72–6\.92\) 🔴 ↓11% \|/);
});

test('Markdown: skipped cells and failed trials, escaped', () => {
  const md = renderMarkdown(current);
  assert.match(
    md,
    /- `ipvs\/host-gw\/pod-clusterip\/tcp-stream-1`: ipvs needs IP\\_VS in the kernel \\\| this kernel has none/,
  );
  assert.match(md, /trial 3: kdp up timed out after 60s &lt;node-2 not Ready&gt;/);
  // One line per reason: five cells skipped for the same reason, one for another.
  const many = fixture('current.json');
  const template = many.cells[0];
  many.cells = [
    ...[1, 2, 3, 4, 5].map((i) => ({
      ...template,
      id: `ipvs/-/-/sync-full/n=${i}`,
      metrics: [],
      skipped: 'no IP_VS',
    })),
    { ...template, id: 'userspace/-/-/sync-full/n=1', metrics: [], skipped: 'not yet' },
  ];
  const lines = renderMarkdown(many)
    .split('\n')
    .filter((l) => l.startsWith('- '));
  assert.deepEqual(lines, [
    '- no IP\\_VS: 5 cells, `ipvs/-/-/sync-full/n=1`, `ipvs/-/-/sync-full/n=2`, `ipvs/-/-/sync-full/n=3` and 2 more',
    '- `userspace/-/-/sync-full/n=1`: not yet',
  ]);
  assert.equal(escapeMarkdown('a|b\n<c> *d* `e`'), 'a\\|b &lt;c&gt; \\*d\\* \\`e\\`');
  // A pipe in a cell id must not split the table row.
  const odd = fixture('current.json');
  odd.cells[0].axes.path = 'x|y';
  const row = renderMarkdown(odd)
    .split('\n')
    .find((l) => l.startsWith('| x'));
  assert.equal(row?.split(/(?<!\\)\|/).length, 6, row);
});

test('JUnit: a testcase per metric, a failure per regression, skips for inconclusive and missing', () => {
  const xml = renderJUnit(comparison);
  assert.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="kdp bench" tests="38" failures="1" errors="0" skipped="5">/,
  );
  assert.equal(xml.match(/<testcase /g)!.length, 38);
  const failure = xml.match(
    /<testcase classname="kdp\.bench\.iptables\/host-gw\/pod-pod-cross-node\/tcp-stream-1" name="throughput_gbps" time="0">\n\s*<failure type="regression" message="([^"]*)"/,
  );
  assert.ok(failure, 'the regression is a failure');
  assert.match(
    failure[1],
    /^regressed: change −11% \(−12% to −8\.3%\), p=&lt;0\.001, threshold 5%, baseline 7\.58/,
  );
  assert.match(xml, /name="bringup_s" time="0">\n\s*<skipped message="inconclusive: .*too few trials/);
  assert.equal(xml.match(/<skipped /g)!.length, 5);
  const odd = { ...comparison, metrics: [{ ...comparison.metrics[0], cellId: 'a"<b>&\u0001c' }] };
  assert.match(renderJUnit(odd), /classname="kdp\.bench\.a&quot;&lt;b&gt;&amp;c"/);
});

test('HTML: self-contained, a chart for every kind of metric, the baseline beside the current run', () => {
  const html = renderHtml(current, { baseline, comparison });
  assert.ok(!/<script[^>]+src=|<link[^>]+href=|https?:\/\/cdn/i.test(html), 'nothing loaded from elsewhere');
  assert.match(html, /Chart\.js v4/i, 'chart.js inlined');
  const charts = buildCharts(current, baseline);
  const titles = charts.map((c) => c.title);
  assert.ok(titles.includes('tcp-stream-1: throughput_gbps (Gbit/s) by path and mode'), titles.join('\n'));
  assert.ok(titles.includes('tcp-rr latency distribution: pod-clusterip'));
  assert.ok(titles.includes('sync-full: sync_ms (ms) against the number of services'));
  assert.ok(titles.includes('bringup: bringup_s (s, lower is better)'));
  assert.equal(charts.length, 6);
  for (const c of charts) assert.match(html, new RegExp(`<canvas id="${c.id}"`));
  const bars = charts[0].config as any;
  assert.deepEqual(bars.data.labels, ['pod-pod-same-node', 'pod-pod-cross-node', 'pod-clusterip']);
  assert.deepEqual(
    bars.data.datasets.map((d: any) => d.label),
    [
      'iptables / host-gw (baseline)',
      'iptables / host-gw',
      'userspace / host-gw (baseline)',
      'userspace / host-gw',
      'iptables / vxlan (baseline)',
      'iptables / vxlan',
    ],
  );
  const clusterIp = current.cells.find((c) => c.id === 'iptables/host-gw/pod-clusterip/tcp-stream-1')!
    .metrics[0].summary;
  assert.deepEqual(bars.data.datasets[1].errorBars[2], [clusterIp.ciLow, clusterIp.ciHigh]);
  assert.equal(bars.data.datasets[1].data[2], clusterIp.median);
  const latency = charts.find((c) => c.title === 'tcp-rr latency distribution: pod-clusterip')!;
  assert.deepEqual(latency.tickLabels, ['p50', 'p90', 'p99', 'p99.9']);
  const trials = (latency.config as any).data.datasets.find(
    (d: any) => d.label === 'iptables / host-gw trials',
  );
  assert.equal(trials.data.length, 40, 'every trial of the 4 percentiles is a point');
  const sync = charts.find((c) => c.title.startsWith('sync-full'))!.config as any;
  assert.deepEqual(
    sync.data.datasets[0].data.map((p: any) => p.x),
    [1000, 5000, 10000],
  );
  assert.match(html, /<tr class="v-regressed"><td>regressed<\/td><td>↓11%<\/td>/);
  assert.match(html, /kernel<\/th><td>6\.1\.0-28-amd64/);
});

test('HTML: text from the results is escaped, and embedded JSON cannot close its script', () => {
  const odd = fixture('current.json');
  odd.suite = '<img src=x onerror=alert(1)>';
  odd.cells[0].axes.path = '</script><script>alert(2)</script>';
  const html = renderHtml(odd);
  assert.ok(!html.includes('<img src=x'), 'suite escaped');
  assert.ok(!html.includes('</script><script>alert(2)'), 'path escaped in the JSON');
  assert.match(html, /\\u003c\/script>\\u003cscript>alert\(2\)/);
  assert.match(html, /<h1>kdp bench: &#60;img src=x onerror=alert\(1\)&#62;<\/h1>/);
});

test('HTML: a line per mode and per other parameter against the number of services', () => {
  const doc = fixture('current.json');
  const sync = doc.cells.filter((c) => c.axes.workload === 'sync-full' && c.axes.mode === 'iptables');
  doc.cells = [
    ...sync.map((c) => ({
      ...c,
      id: `${c.id}/iptables=nft`,
      axes: { ...c.axes, params: { ...c.axes.params, iptables: 'nft' } },
    })),
    ...sync.map((c) => ({
      ...c,
      id: `${c.id}/iptables=legacy`,
      axes: { ...c.axes, params: { ...c.axes.params, iptables: 'legacy' } },
    })),
  ];
  const [chart] = buildCharts(doc);
  const lines = (chart.config as any).data.datasets;
  assert.deepEqual(
    lines.map((d: any) => d.label),
    ['iptables iptables=nft', 'iptables iptables=legacy'],
  );
  assert.deepEqual(
    lines[1].data.map((p: any) => p.x),
    [1000, 5000, 10000],
  );
});
