/**
 * Results of the proxy benchmarks (their JSON shape) and their Markdown, as docs/PERFORMANCE.md
 * shows them: medians with 95% bootstrap intervals, ratios against the baseline measured in the
 * same run, and percentiles of latency samples.
 */
import type { MachineInfo } from '../lib/machine.ts';
import { bootstrap, bootstrapRatio, median, percentile, summarize, type Interval } from '../lib/stats.ts';

export interface SizeResult {
  services: number;
  endpointsPerService: number;
  /** Rules programmed per table (kubeproxy_sync_proxy_rules_iptables_total). */
  rules: { nat: number; filter: number };
  payloadMb: number;
  fullEmpty: { syncMs: number[]; rawMs: number[] };
  fullPresent: { syncMs: number[]; rawMs: number[] };
  partial: { syncMs: number[]; updateToKernelMs: number[]; rawMs: number[] };
  churn: {
    rate: number;
    seconds: number;
    minSyncPeriodMs: number;
    changes: number;
    syncs: number;
    partialSyncMs: number[];
    /** Sync end minus last-change-trigger-time, per change. */
    samplesMs: number[];
    /** kubeproxy_network_programming_duration_seconds_count after the churn. */
    histogramCount: number;
  };
}

export interface SyncBenchResult {
  benchmark: 'proxy-sync';
  command: string;
  machine: MachineInfo;
  options: Record<string, unknown>;
  sizes: SizeResult[];
  file?: string;
}

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`);
const range = (i: Interval, f: (v: number) => string) => `${f(i.estimate)} (${f(i.low)}-${f(i.high)})`;
const ratio = (v: number) => `${v.toFixed(2)}x`;

/** p99 with its bootstrap interval (wide with few samples: the interval says so). */
function p99(xs: number[]): Interval {
  return bootstrap(xs, (s) => percentile(s, 99));
}

export function syncReportLines(r: SyncBenchResult): string[] {
  const rows = r.sizes.map((s) => {
    const fe = bootstrapRatio(s.fullEmpty.syncMs, s.fullEmpty.rawMs);
    const fp = bootstrapRatio(s.fullPresent.syncMs, s.fullPresent.rawMs);
    return [
      `${s.services / 1000}k x ${s.endpointsPerService}`,
      `${s.rules.nat + s.rules.filter}`,
      ms(median(s.fullEmpty.syncMs)),
      ms(median(s.fullEmpty.rawMs)),
      range(fe, ratio),
      ms(median(s.fullPresent.syncMs)),
      ms(median(s.fullPresent.rawMs)),
      range(fp, ratio),
    ];
  });
  const partial = r.sizes.map((s) => {
    const sync = summarize(s.partial.syncMs);
    const kernel = summarize(s.partial.updateToKernelMs);
    return [
      `${s.services / 1000}k x ${s.endpointsPerService}`,
      `${sync.n}`,
      ms(sync.p50),
      ms(sync.p99),
      ms(kernel.p50),
      range(p99(s.partial.updateToKernelMs), ms),
      ms(median(s.partial.rawMs)),
      ms(percentile(s.partial.rawMs, 99)),
    ];
  });
  const churn = r.sizes.map((s) => {
    const c = s.churn;
    const npl = summarize(c.samplesMs);
    return [
      `${s.services / 1000}k x ${s.endpointsPerService}`,
      `${c.rate}/s for ${c.seconds} s`,
      `${c.changes} / ${c.syncs}`,
      ms(median(c.partialSyncMs)),
      ms(npl.p50),
      ms(npl.p99),
      ms(npl.max),
      `${c.histogramCount}`,
    ];
  });
  const table = (head: string[], body: string[][]) => [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...body.map((b) => `| ${b.join(' | ')} |`),
  ];
  return [
    `Full syncs (median of ${r.options.reps}; ratio = sync / raw restore of the same payload, 95% bootstrap interval):`,
    '',
    ...table(
      [
        'services',
        'rules',
        'full sync, empty ns',
        'raw restore, empty ns',
        'ratio',
        'full sync, rules present',
        'raw restore over them',
        'ratio',
      ],
      rows,
    ),
    '',
    'One endpoint change at a time (minSyncPeriod 0):',
    '',
    ...table(
      [
        'services',
        'changes',
        'partial sync p50',
        'p99',
        'update to kernel p50',
        'update to kernel p99 (95% CI)',
        'raw --noflush restore p50',
        'p99',
      ],
      partial,
    ),
    '',
    `Network programming latency under churn (minSyncPeriod ${r.sizes[0]?.churn.minSyncPeriodMs ?? 1000} ms):`,
    '',
    ...table(
      [
        'services',
        'churn',
        'changes / syncs',
        'partial sync p50',
        'latency p50',
        'p99',
        'max',
        'histogram count',
      ],
      churn,
    ),
  ];
}

export function printSyncReport(r: SyncBenchResult): void {
  const m = r.machine;
  console.log(
    [
      `proxy sync benchmark, ${r.options.backend} backend${r.options.fake ? ' (FAKE iptables)' : ''}${r.options.rereadForeignRules === false ? ', rereadForeignRules false' : ''}: ${m.cpus} x ${m.cpuModel}, ${m.memoryGb} GB, kernel ${m.kernel}, node ${m.node}, load ${m.loadAverage.join(' ')}, ${m.date}`,
      `result: ${r.file ?? '(not written)'}`,
      '',
      ...syncReportLines(r),
    ].join('\n'),
  );
}
