/**
 * The Markdown summary of a run, for a CI log or a pull-request comment: what a reviewer needs at
 * a glance. The environment; the one-table answer per mode (answer.ts); the verdicts first when a comparison is given (regressions on top);
 * then one table per workload family with paths as rows and modes/backends as columns, each
 * value a median with its 95% interval and, against a baseline, an arrow and the change; skipped
 * and failed cells with their reasons; where the HTML report with the charts is.
 */
import type { Comparison, MetricComparison } from '../compare/compare.ts';
import type { BenchResults, Cell } from '../lib/results.ts';
import { answerMarkdown } from './answer.ts';
import {
  byWorkload,
  comparisonIndex,
  comparisonKey,
  environmentLine,
  formatMedianCi,
  formatP,
  formatRatioCi,
  rowLabel,
  runLine,
  seriesLabel,
  uniq,
  verdictBadge,
} from './format.ts';

export interface MarkdownOptions {
  baseline?: BenchResults;
  comparison?: Comparison;
  htmlPath?: string;
}

/** Text safe inside a Markdown table cell: no pipes, newlines or raw HTML. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_`[\]])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

const code = (text: string): string => `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|')}\``;

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function summaryLine(c: Comparison): string {
  const n = c.counts;
  const parts = [
    n.regressed ? `**${n.regressed} regressed**` : '0 regressed',
    `${n.improved} improved`,
    `${n.inconclusive} inconclusive`,
    `${n.unchanged} unchanged`,
    ...(n.missing ? [`${n.missing} missing`] : []),
    ...(n.new ? [`${n.new} new`] : []),
  ];
  const base = `${c.baseline.gitCommit.slice(0, 10)} (${c.baseline.startedAt})`;
  return `Compared with baseline ${base}, alpha ${c.alpha}: ${parts.join(', ')}.`;
}

function verdictRow(m: MetricComparison): string[] {
  return [
    verdictBadge(m),
    code(m.cellId),
    code(m.metric),
    m.baseline ? formatMedianCi(m.baseline) : '—',
    m.current ? formatMedianCi(m.current) : '—',
    m.ratio ? formatRatioCi(m.ratio) : '—',
    formatP(m.pValue) || '—',
    `${Math.round(m.threshold * 1000) / 10}%`,
    escapeMarkdown(m.reason),
  ];
}

const VERDICT_HEADER = [
  '',
  'cell',
  'metric',
  'baseline',
  'current',
  'change (95% CI)',
  'p',
  'threshold',
  'why',
];

function verdictSection(c: Comparison): string[] {
  const order = ['regressed', 'improved', 'inconclusive', 'missing', 'new'];
  const notable = c.metrics
    .filter((m) => m.verdict !== 'unchanged')
    .sort((a, b) => order.indexOf(a.verdict) - order.indexOf(b.verdict));
  const unchanged = c.metrics.filter((m) => m.verdict === 'unchanged');
  const out = ['### Verdicts', '', summaryLine(c), ''];
  if (notable.length) out.push(...table(VERDICT_HEADER, notable.map(verdictRow)), '');
  if (unchanged.length) {
    out.push(`<details><summary>${unchanged.length} unchanged</summary>`, '');
    out.push(...table(VERDICT_HEADER, unchanged.map(verdictRow)), '', '</details>', '');
  }
  return out;
}

function workloadTable(workload: string, cells: Cell[], comparison?: Comparison): string[] {
  const ran = cells.filter((c) => !c.skipped && c.metrics.length);
  if (!ran.length) return [];
  const series = uniq(ran.map((c) => seriesLabel(c.axes)));
  const metrics = uniq(ran.flatMap((c) => c.metrics.map((m) => m.name)));
  const index = comparisonIndex(comparison?.metrics);
  const first = ran[0].metrics.find((m) => m.name === metrics[0])!;
  const oneMetric = metrics.length === 1;
  const heading = oneMetric ? `${metrics[0]} (${first.unit}, ${first.better} is better)` : 'median (95% CI)';
  const rows: string[][] = [];
  for (const row of uniq(ran.map((c) => rowLabel(c.axes)))) {
    for (const name of metrics) {
      const inRow = ran.filter((c) => rowLabel(c.axes) === row);
      const values = series.map((s) => {
        const cell = inRow.find((c) => seriesLabel(c.axes) === s);
        const m = cell?.metrics.find((x) => x.name === name);
        if (!cell || !m) return '';
        const cmp = index.get(comparisonKey(cell.id, name));
        return [formatMedianCi(m.summary), cmp ? verdictBadge(cmp) : ''].filter(Boolean).join(' ');
      });
      if (values.every((v) => v === '')) continue;
      const unit = inRow.flatMap((c) => c.metrics).find((m) => m.name === name)?.unit ?? '';
      rows.push([
        escapeMarkdown(row),
        ...(oneMetric ? [] : [`${escapeMarkdown(name)} (${escapeMarkdown(unit)})`]),
        ...values,
      ]);
    }
  }
  const header = ['path', ...(oneMetric ? [] : ['metric']), ...series.map(escapeMarkdown)];
  return [`### ${escapeMarkdown(workload)}: ${escapeMarkdown(heading)}`, '', ...table(header, rows), ''];
}

/** Cells shown by id per skip reason; the rest are counted. */
const SKIPPED_IDS_SHOWN = 3;

/**
 * One line per skip reason, in order of first appearance: a mode the host lacks skips a cell per
 * workload and variant, and 24 lines of the same reason would bury the one that differs.
 */
function skippedLines(skipped: readonly Cell[]): string[] {
  const byReason = new Map<string, string[]>();
  for (const c of skipped) byReason.set(c.skipped!, [...(byReason.get(c.skipped!) ?? []), c.id]);
  return [...byReason].map(([reason, ids]) => {
    if (ids.length === 1) return `- ${code(ids[0])}: ${escapeMarkdown(reason)}`;
    const shown = ids.slice(0, SKIPPED_IDS_SHOWN).map(code).join(', ');
    const more = ids.length > SKIPPED_IDS_SHOWN ? ` and ${ids.length - SKIPPED_IDS_SHOWN} more` : '';
    return `- ${escapeMarkdown(reason)}: ${ids.length} cells, ${shown}${more}`;
  });
}

function problemsSection(cells: readonly Cell[]): string[] {
  const skipped = cells.filter((c) => c.skipped);
  const failed = cells.filter((c) => c.errors?.length);
  const out: string[] = [];
  if (skipped.length) {
    out.push('### Skipped cells', '', ...skippedLines(skipped), '');
  }
  if (failed.length) {
    out.push('### Failed trials', '');
    for (const c of failed) out.push(...c.errors!.map((e) => `- ${code(c.id)}: ${escapeMarkdown(e)}`));
    out.push('');
  }
  return out;
}

/** The summary of `current`, against a baseline when a comparison is given. */
export function renderMarkdown(current: BenchResults, opts: MarkdownOptions = {}): string {
  const out = [
    `## kdp bench: ${escapeMarkdown(current.suite)}`,
    '',
    `${escapeMarkdown(environmentLine(current.environment))}  `,
    `${escapeMarkdown(runLine(current))}, ${current.cells.length} cells`,
    '',
  ];
  if (opts.baseline && !opts.comparison) {
    out.push(`Baseline: ${escapeMarkdown(runLine(opts.baseline))} (no comparison given)`, '');
  }
  out.push(...answerMarkdown(current));
  if (opts.comparison) out.push(...verdictSection(opts.comparison));
  for (const [workload, cells] of byWorkload(current.cells))
    out.push(...workloadTable(workload, cells, opts.comparison));
  out.push(...problemsSection(current.cells));
  if (opts.htmlPath) out.push(`Charts: the HTML report is at ${code(opts.htmlPath)}`, '');
  return `${out.join('\n').trimEnd()}\n`;
}
