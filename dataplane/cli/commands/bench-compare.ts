/**
 * `kdp bench compare` and `kdp bench report`: the regression gate and the reports, from stored
 * results files, so CI can run the benchmark in one step and judge it in another (or judge a run
 * made elsewhere). compare prints which metrics regressed, improved or are inconclusive, writes
 * JUnit, Markdown and HTML when asked, and exits 1 on a regression and 2 on bad input (a missing
 * or invalid results file, a bad thresholds file), so a CI step can tell "slower" from "broken".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { compareResults, type Comparison, type MetricComparison } from '../../../bench/compare/compare.ts';
import { loadThresholds, THRESHOLDS_ERROR } from '../../../bench/compare/thresholds.ts';
import { readResults, BENCH_READ_ERROR, BENCH_SCHEMA_ERROR } from '../../../bench/lib/validate.ts';
import { formatP, formatRatioCi } from '../../../bench/report/format.ts';
import { renderHtml } from '../../../bench/report/html.ts';
import { renderJUnit } from '../../../bench/report/junit.ts';
import { renderMarkdown } from '../../../bench/report/markdown.ts';
import { describeError, isKdpError, type ErrorCode } from '../../errors.ts';
import { formatTable } from '../table.ts';

export const EXIT_REGRESSION = 1;
export const EXIT_BAD_INPUT = 2;

const INPUT_ERRORS: readonly ErrorCode[] = [BENCH_READ_ERROR, BENCH_SCHEMA_ERROR, THRESHOLDS_ERROR];

export interface CompareFlags {
  thresholds?: string;
  junit?: string;
  markdown?: string;
  html?: string;
}

export interface ReportFlags {
  baseline?: string;
  thresholds?: string;
  html?: string;
  markdown?: string;
}

/** Where the command writes: stdout and stderr, replaceable in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const consoleOutput: Output = { out: (t) => console.log(t), err: (t) => console.error(t) };

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Runs `work`, turning bad input into exit code 2 with the error; other failures propagate. */
function guarded(io: Output, work: () => number): number {
  try {
    return work();
  } catch (e) {
    if (INPUT_ERRORS.some((code) => isKdpError(e, code))) {
      io.err(`error: ${describeError(e)}`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
}

function verdictLines(c: Comparison): string {
  const shown = c.metrics.filter((m) => m.verdict !== 'unchanged');
  const row = (m: MetricComparison): string[] => [
    m.verdict.toUpperCase(),
    m.cellId,
    m.metric,
    m.ratio ? formatRatioCi(m.ratio) : '',
    m.pValue === undefined ? '' : formatP(m.pValue),
    `${Math.round(m.threshold * 1000) / 10}%`,
    m.reason,
  ];
  const table = shown.length
    ? formatTable(['VERDICT', 'CELL', 'METRIC', 'CHANGE (95% CI)', 'P', 'THRESHOLD', 'NOTE'], shown.map(row))
    : 'every metric is unchanged';
  const n = c.counts;
  const totals =
    `${n.regressed} regressed, ${n.improved} improved, ${n.inconclusive} inconclusive, ` +
    `${n.unchanged} unchanged, ${n.missing} missing, ${n.new} new`;
  return `${table}\n\n${totals}`;
}

/** `kdp bench compare`: returns the exit code. */
export function runCompare(
  baselinePath: string,
  currentPath: string,
  flags: CompareFlags,
  io = consoleOutput,
): number {
  return guarded(io, () => {
    const baseline = readResults(baselinePath);
    const current = readResults(currentPath);
    const comparison = compareResults(baseline, current, loadThresholds(flags.thresholds));
    io.out(
      `baseline ${baselinePath} (${baseline.environment.gitCommit.slice(0, 10)}) -> ` +
        `current ${currentPath} (${current.environment.gitCommit.slice(0, 10)}), alpha ${comparison.alpha}\n`,
    );
    io.out(verdictLines(comparison));
    if (flags.junit) write(flags.junit, renderJUnit(comparison));
    if (flags.html) write(flags.html, renderHtml(current, { baseline, comparison }));
    if (flags.markdown)
      write(flags.markdown, renderMarkdown(current, { baseline, comparison, htmlPath: flags.html }));
    return comparison.counts.regressed > 0 ? EXIT_REGRESSION : 0;
  });
}

/** `kdp bench report`: prints the Markdown summary and writes the files asked for; returns the exit code. */
export function runReport(resultsPath: string, flags: ReportFlags, io = consoleOutput): number {
  return guarded(io, () => {
    const current = readResults(resultsPath);
    const baseline = flags.baseline === undefined ? undefined : readResults(flags.baseline);
    const comparison = baseline
      ? compareResults(baseline, current, loadThresholds(flags.thresholds))
      : undefined;
    const markdown = renderMarkdown(current, { baseline, comparison, htmlPath: flags.html });
    if (flags.html) write(flags.html, renderHtml(current, { baseline, comparison }));
    if (flags.markdown) write(flags.markdown, markdown);
    io.out(markdown.trimEnd());
    return 0;
  });
}

export function registerBenchCompare(bench: Command): void {
  bench
    .command('compare')
    .description(
      'the regression gate: compare two results files metric by metric (Mann-Whitney U test and a bootstrap ' +
        'interval of the ratio of medians against per-metric thresholds); exit 1 on a regression, 2 on bad input',
    )
    .argument('<baseline.json>', 'results of the reference run (e.g. the main branch)')
    .argument('<current.json>', 'results of the run under test')
    .option('--thresholds <file>', 'thresholds YAML (default bench/thresholds.yaml)')
    .option('--junit <file>', 'write JUnit XML: one testcase per metric, failures for regressions')
    .option('--markdown <file>', 'write the Markdown summary (for a PR comment)')
    .option('--html <file>', 'write the HTML report with charts')
    .action((baseline: string, current: string, flags: CompareFlags) => {
      process.exitCode = runCompare(baseline, current, flags);
    });
}

export function registerBenchReport(bench: Command): void {
  bench
    .command('report')
    .description('render the Markdown summary (printed) and the HTML report from a stored results file')
    .argument('<results.json>', 'results file written by kdp bench')
    .option('--baseline <file>', 'results to compare against, shown beside the current run')
    .option('--thresholds <file>', 'thresholds YAML for that comparison (default bench/thresholds.yaml)')
    .option('--html <file>', 'write the HTML report here')
    .option('--markdown <file>', 'also write the Markdown summary here')
    .action((results: string, flags: ReportFlags) => {
      process.exitCode = runReport(results, flags);
    });
}
