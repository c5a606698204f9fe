/**
 * The HTML report: one self-contained file (chart.js inlined, data embedded as JSON, no network
 * when viewed) that a person opens from a CI artifact. Charts come from charts.ts; this file lays
 * out the page: the verdicts against the baseline when given, the charts, skipped and failed cells,
 * the environment of both runs. Everything from the results is escaped: cell ids, reasons and tool
 * versions come from the machine that ran the benchmark and are not trusted as markup.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Comparison, MetricComparison } from '../compare/compare.ts';
import type { BenchEnvironment, BenchResults } from '../lib/results.ts';
import { buildCharts } from './charts.ts';
import { formatMedianCi, formatP, formatRatioCi, runLine, verdictBadge } from './format.ts';

export interface HtmlOptions {
  baseline?: BenchResults;
  comparison?: Comparison;
}

let chartJs: string | undefined;

/** chart.js's UMD bundle; its package exports do not list the file, so it is found beside the main entry. */
function chartJsSource(): string {
  if (chartJs === undefined) {
    const main = createRequire(import.meta.url).resolve('chart.js');
    chartJs = readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
  }
  return chartJs;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that cannot end the <script> element it sits in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const td = (s: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(s)}</td>`;

const VERDICT_ORDER = ['regressed', 'improved', 'inconclusive', 'missing', 'new', 'unchanged'];
const VERDICT_HEAD =
  '<thead><tr><th>verdict</th><th>change</th><th>cell</th><th>metric</th><th>baseline</th><th>current</th>' +
  '<th>change (95% CI)</th><th>p</th><th>threshold</th><th>why</th></tr></thead>';

function verdictRow(m: MetricComparison): string {
  return (
    `<tr class="v-${m.verdict}">${td(m.verdict)}${td(m.ratio ? verdictBadge(m, false) : '')}` +
    `<td><code>${escapeHtml(m.cellId)}</code></td>${td(m.metric)}` +
    `${td(m.baseline ? formatMedianCi(m.baseline) : '—')}${td(m.current ? formatMedianCi(m.current) : '—')}` +
    `${td(m.ratio ? formatRatioCi(m.ratio) : '—')}${td(formatP(m.pValue) || '—')}` +
    `${td(`${Math.round(m.threshold * 1000) / 10}%`)}${td(m.reason)}</tr>`
  );
}

/** The notable verdicts in a table, the unchanged ones folded away below it. */
function verdictTable(c: Comparison): string {
  const sorted = [...c.metrics].sort(
    (a, b) => VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict),
  );
  const notable = sorted.filter((m) => m.verdict !== 'unchanged');
  const unchanged = sorted.filter((m) => m.verdict === 'unchanged');
  const counts = Object.entries(c.counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return (
    `<h2>Verdicts</h2><p>Against baseline <code>${escapeHtml(c.baseline.gitCommit.slice(0, 10))}</code> ` +
    `(${escapeHtml(c.baseline.startedAt)}), alpha ${c.alpha}: ${escapeHtml(counts)}.</p>` +
    (notable.length
      ? `<table class="verdicts">${VERDICT_HEAD}<tbody>${notable.map(verdictRow).join('\n')}</tbody></table>`
      : '') +
    (unchanged.length
      ? `<details><summary>${unchanged.length} unchanged</summary><table class="verdicts">${VERDICT_HEAD}` +
        `<tbody>${unchanged.map(verdictRow).join('\n')}</tbody></table></details>`
      : '')
  );
}

function environmentTable(title: string, r: BenchResults): string {
  const e: BenchEnvironment = r.environment;
  const rows: Array<[string, string]> = [
    ['run', runLine(r)],
    ['kernel', e.kernel],
    ['os', e.os],
    ['cpu', `${e.cpuModel} × ${e.cores} cores`],
    ['memory', `${Math.round(e.memoryBytes / 2 ** 30)} GiB`],
    ['node', e.node],
    ['kdp', `${e.kdpVersion} @ ${e.gitCommit}${e.gitDirty ? ' (dirty)' : ''}`],
    ['load average', e.loadAverage.join(' ')],
    ...Object.entries(e.tools),
    ['config', JSON.stringify(r.config)],
  ];
  return `<h3>${escapeHtml(title)}</h3><table class="env">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th>${td(v)}</tr>`).join('')}</table>`;
}

function problems(r: BenchResults): string {
  const items = r.cells.flatMap((c) => [
    ...(c.skipped ? [`<li><code>${escapeHtml(c.id)}</code> skipped: ${escapeHtml(c.skipped)}</li>`] : []),
    ...(c.errors ?? []).map(
      (e) => `<li><code>${escapeHtml(c.id)}</code> failed trial: ${escapeHtml(e)}</li>`,
    ),
  ]);
  return items.length ? `<h2>Skipped cells and failed trials</h2><ul>${items.join('')}</ul>` : '';
}

/** Draws whiskers from a dataset's `errorBars` ([low, high] per point) after chart.js drew the data. */
const CLIENT_SCRIPT = `
const errorBars = {
  id: 'kdpErrorBars',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx;
    chart.data.datasets.forEach((ds, i) => {
      if (!ds.errorBars || !chart.isDatasetVisible(i)) return;
      const meta = chart.getDatasetMeta(i);
      const y = chart.scales[meta.yAxisID];
      ctx.save();
      ctx.strokeStyle = '#222';
      ctx.lineWidth = 1.2;
      meta.data.forEach((el, j) => {
        const bar = ds.errorBars[j];
        if (!bar || el.skip) return;
        const lo = y.getPixelForValue(bar[0]);
        const hi = y.getPixelForValue(bar[1]);
        ctx.beginPath();
        ctx.moveTo(el.x, lo); ctx.lineTo(el.x, hi);
        ctx.moveTo(el.x - 4, lo); ctx.lineTo(el.x + 4, lo);
        ctx.moveTo(el.x - 4, hi); ctx.lineTo(el.x + 4, hi);
        ctx.stroke();
      });
      ctx.restore();
    });
  },
};
Chart.register(errorBars);
const report = JSON.parse(document.getElementById('kdp-report-data').textContent);
for (const c of report.charts) {
  if (c.tickLabels) {
    const x = c.config.options.scales.x;
    x.afterBuildTicks = (scale) => { scale.ticks = c.tickLabels.map((_, i) => ({ value: i })); };
    x.ticks = { callback: (v) => c.tickLabels[v] ?? '' };
  }
  new Chart(document.getElementById(c.id), c.config);
}
document.body.dataset.chartsDrawn = String(report.charts.length);
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 1em; }
.chart { position: relative; height: 340px; border: 1px solid #eee; padding: 6px; }
tr.v-regressed { background: #fde2e2; } tr.v-improved { background: #e2f6e2; }
tr.v-inconclusive { background: #f4f4f4; } tr.v-unchanged { color: #666; }
code { font-size: 12px; }
`;

/** The whole page for `current`, against a baseline when given. */
export function renderHtml(current: BenchResults, opts: HtmlOptions = {}): string {
  const charts = buildCharts(current, opts.baseline);
  const chartDivs = charts
    .map(
      (c) =>
        `<div class="chart"><canvas id="${c.id}" aria-label="${escapeHtml(c.title)}" role="img"></canvas></div>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kdp bench: ${escapeHtml(current.suite)}</title>
<style>${STYLE}</style></head>
<body>
<h1>kdp bench: ${escapeHtml(current.suite)}</h1>
<p>${escapeHtml(runLine(current))}, ${current.cells.length} cells${opts.baseline ? `; baseline ${escapeHtml(runLine(opts.baseline))}` : ''}.</p>
${opts.comparison ? verdictTable(opts.comparison) : ''}
<h2>Charts</h2>
<p>Bars and points are medians of the trials; whiskers their 95% bootstrap interval.${opts.baseline ? ' The baseline is paler or dashed beside the current run.' : ''}</p>
<div class="charts">
${chartDivs}
</div>
${problems(current)}
<h2>Environment</h2>
${environmentTable('current run', current)}
${opts.baseline ? environmentTable('baseline', opts.baseline) : ''}
<script>${chartJsSource()}</script>
<script type="application/json" id="kdp-report-data">${scriptJson({ charts })}</script>
<script>${CLIENT_SCRIPT}</script>
</body></html>
`;
}
