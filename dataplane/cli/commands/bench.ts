/**
 * `kdp bench`: runs a benchmark matrix (proxy modes x overlay backends x paths x workloads, a
 * suite preset narrowed by flags) with warm-up and interleaved trials, writes the results JSON and
 * the HTML report under bench/results/, and prints the Markdown summary, ending with where the
 * HTML report is. Subcommands: `compare` and `report` (bench-compare.ts) and `selftest`, the proof
 * that the regression gate catches an injected 10% slowdown and passes A/A runs.
 * SIGINT/SIGTERM abort the run; every cluster it built is torn down before the command exits 130.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { buildCatalog } from '../../../bench/run/catalog.ts';
import { RESULTS_DIR, writeOutputs } from '../../../bench/run/output.ts';
import { progressDisplay } from '../../../bench/run/progress.ts';
import { runMatrix } from '../../../bench/run/matrix-runner.ts';
import { type BenchFlags, resolveSpec, SUITES } from '../../../bench/run/spec.ts';
import { runSelftest, selftestSummary } from '../../../bench/selftest/selftest.ts';
import { CONTROL_WORKLOADS } from '../../../bench/workloads/control/index.ts';
import { registerBenchCompare, registerBenchReport } from './bench-compare.ts';
import { KdpError } from '../../errors.ts';
import { usageError } from '../usage.ts';

interface RunFlags extends BenchFlags {
  out?: string;
  html?: string;
  markdown?: string;
  baseline?: string;
}

/**
 * Runs `work` with an AbortSignal that SIGINT/SIGTERM trigger; an aborted run ends with exit
 * code 130 (143 for SIGTERM) once `work` has cleaned up (its finally blocks tear the clusters down).
 */
async function abortable<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const controller = new AbortController();
  let exitCode = 130;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\n${signal}: stopping, tearing down the clusters...\n`);
    exitCode = signal === 'SIGTERM' ? 143 : 130;
    controller.abort(new KdpError('KDP_ERR_INTERRUPTED', `interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } catch (e) {
    if (!controller.signal.aborted) throw e;
    process.stderr.write('interrupted: nothing was written\n');
    process.exitCode = exitCode;
    return undefined;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function count(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min)
    throw usageError(`--${flag} must be a whole number >= ${min}, not "${value}"`);
  return n;
}

interface SelftestFlags {
  reps: string;
  trials: string;
  warmup: string;
  seconds: string;
  thresholds?: string;
  out?: string;
}

function selftestCommand(): Command {
  return new Command('selftest')
    .description(
      'prove the regression gate: per rep, a baseline, a current with a 10% throughput slowdown (tc tbf in a node namespace) and an A/A current of one cell, each compared as CI would; writes the detection and false-alarm rates as JSON',
    )
    .option('--reps <n>', 'repetitions (20 for the >= 19/20 figures)', '20')
    .option('--trials <n>', 'trials per run (as --suite ci)', '8')
    .option('--warmup <n>', 'warm-up trials per run', '1')
    .option('--seconds <s>', 'seconds per trial', '2')
    .option('--thresholds <file>', 'thresholds config (default bench/thresholds.yaml)')
    .option('--out <file>', 'where to write the figures (default bench/results/selftest-<time>.json)')
    .action(async (f: SelftestFlags) => {
      const options = {
        reps: count('reps', f.reps, 1),
        trials: count('trials', f.trials, 1),
        warmup: count('warmup', f.warmup, 0),
        seconds: count('seconds', f.seconds, 1),
        thresholds: f.thresholds,
      };
      const report = await abortable((signal) =>
        runSelftest({ ...options, signal, progress: progressDisplay() }),
      );
      if (!report) return;
      const out = f.out ?? join(RESULTS_DIR, `selftest-${report.startedAt.replace(/[:.]/g, '-')}.json`);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
      for (const line of selftestSummary(report)) console.log(line);
      console.log(`figures: ${out}`);
      if (!report.detection.ok || !report.aa.ok) process.exitCode = 1;
    });
}

export function benchCommand(): Command {
  const bench = new Command('bench')
    // `kdp bench report x.json --html y`: once a subcommand is named, the options are its own.
    .enablePositionalOptions()
    .description(
      'run a benchmark matrix (modes x backends x paths x workloads) and report it; compare runs; self-test the gate',
    )
    .option('--suite <name>', `preset: ${SUITES.join(', ')}`, 'default')
    .option('--modes <list>', "proxy modes, comma-separated (default: the suite's)")
    .option('--backends <list>', 'overlay backends, e.g. host-gw,vxlan,udp,udp:baseline')
    .option('--paths <list>', 'pod-pod-same-node, pod-pod-cross-node, pod-clusterip, external-nodeport')
    .option('--workloads <list>', 'data and control workloads, comma-separated')
    .option(
      '--services <list>',
      'background Services programmed besides the measured ones, comma-separated sizes, e.g. 0,1000,10000 (new-connection workloads run at each)',
    )
    .option('--endpoints-per-service <n>', 'endpoints of each background Service (default 10)')
    .option('--trials <n>', 'recorded trials per cell')
    .option('--warmup <n>', 'warm-up rounds (not recorded)')
    .option('--seconds <s>', 'seconds per data-plane trial')
    .option('--seed <n>', 'seed of the trial order')
    .option('--out <file>', 'results JSON (default bench/results/bench-<suite>-<time>.json)')
    .option('--html <file>', 'HTML report (default: next to the JSON)')
    .option('--markdown <file>', 'also write the Markdown summary here')
    .option('--baseline <file>', 'compare against this results file in the reports')
    .action(async (flags: RunFlags) => {
      const spec = resolveSpec(flags, buildCatalog(CONTROL_WORKLOADS));
      const progress = progressDisplay();
      const results = await abortable((signal) =>
        runMatrix(spec, { controlWorkloads: CONTROL_WORKLOADS, signal, progress }),
      );
      if (!results) return;
      const written = writeOutputs(results, flags);
      progress.phase(`results: ${written.jsonPath}`);
      // The summary ends with the HTML report's path (renderMarkdown's htmlPath).
      console.log(written.markdown.trimEnd());
    });
  registerBenchCompare(bench);
  registerBenchReport(bench);
  bench.addCommand(selftestCommand());
  for (const sub of bench.commands) sub.exitOverride().showHelpAfterError('(run with --help for usage)');
  return bench;
}
