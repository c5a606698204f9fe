/**
 * The apiserver benchmark's result (the JSON written under bench/results/) and its Markdown
 * rendering, which is what docs/PERFORMANCE.md quotes. Targets are reported, never asserted.
 */
import type { MicroResult } from './micro.ts';
import type { CreateResult, ListResult, WatchResult } from './workloads.ts';

/** CPU time per operation of the server's thread and of the load generator's thread, µs. */
export interface CpuCost {
  serverUsPerOp: number;
  clientUsPerOp: number;
}

export interface ApiserverBenchResult {
  benchmark: 'apiserver';
  mode: 'full' | 'quick';
  date: string;
  command: string;
  machine: { nproc: number; cpu: string; kernel: string; node: string };
  /** 1-minute load average at the start and the end: how much else was running (shared machines). */
  loadAverage: { start: number; end: number };
  creates: (CreateResult & { store: 'memory' | 'sqlite'; cpu: CpuCost })[];
  lists: (ListResult & { name: string; cpu: CpuCost })[];
  watch: WatchResult & { cpu: CpuCost };
  micro: MicroResult[];
}

const TARGETS = { createsSeconds: 2, createsCount: 10_000, watchP99Ms: 5 };

const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const int = (v: number) => Math.round(v).toLocaleString('en-US');

/** A Markdown table: the first column left-aligned, the figures right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i ? '---:' : '---'))), ...rows.map(line), ''];
}

export function markdown(r: ApiserverBenchResult): string {
  const m = r.machine;
  const w = r.watch;
  const out = [
    `\`${r.command}\` — ${r.date.slice(0, 10)}, ${m.nproc} CPUs (${m.cpu}), Linux ${m.kernel}, ` +
      `node ${m.node}; load average ${r.loadAverage.start.toFixed(1)} at the start, ` +
      `${r.loadAverage.end.toFixed(1)} at the end`,
    '',
    ...table(
      [
        'Creates (Services over HTTP)',
        'concurrency',
        'count',
        'seconds',
        'creates/s',
        'p50 ms',
        'p99 ms',
        'server CPU µs/create',
        'client CPU µs/create',
      ],
      r.creates.map((c) => [
        c.store === 'memory' ? 'in memory' : 'durable (SQLite, WAL, synchronous=NORMAL)',
        String(c.concurrency),
        int(c.count),
        c.seconds.toFixed(2),
        int(c.perSecond),
        ms(c.latency.p50Ms),
        ms(c.latency.p99Ms),
        int(c.cpu.serverUsPerOp),
        int(c.cpu.clientUsPerOp),
      ]),
    ),
    ...table(
      [
        `List (of ${int(r.creates[0].count)} Services, whole body received)`,
        'items',
        'bytes',
        'samples',
        'p50 ms',
        'p99 ms',
        'server CPU ms/list',
      ],
      r.lists.map((l) => [
        l.name,
        int(l.items),
        int(l.bytes),
        String(l.latency.samples),
        ms(l.latency.p50Ms),
        ms(l.latency.p99Ms),
        ms(l.cpu.serverUsPerOp / 1000),
      ]),
    ),
    ...table(
      [
        'Watch delivery (create sent → event at watcher)',
        'watchers',
        'events',
        'delivered',
        'p50 ms',
        'p99 ms',
        'max ms',
        'server CPU µs/delivery',
        'client CPU µs/delivery',
      ],
      [
        [
          `${w.watchers} watchers on one namespace; next create once all have the last`,
          String(w.watchers),
          int(w.events),
          int(w.delivered),
          ms(w.latency.p50Ms),
          ms(w.latency.p99Ms),
          ms(w.latency.maxMs),
          ms(w.cpu.serverUsPerOp),
          ms(w.cpu.clientUsPerOp),
        ],
      ],
    ),
    ...table(
      ['Microbenchmark (tinybench, no HTTP)', 'mean µs/op', 'p50 µs/op', 'p99 µs/op', 'ops/s (from mean)'],
      r.micro.map((x) => [x.name, ms(x.meanUs), ms(x.p50Us), ms(x.p99Us), int(x.opsPerSecond)]),
    ),
  ];
  if (r.mode === 'full') out.push(...targetLines(r));
  return out.join('\n').trimEnd();
}

function targetLines(r: ApiserverBenchResult): string[] {
  const memory = r.creates.filter((c) => c.store === 'memory' && c.count === TARGETS.createsCount);
  const best = Math.min(...memory.map((c) => c.seconds));
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  return [
    `Target: ${int(TARGETS.createsCount)} in-memory creates in under ${TARGETS.createsSeconds} s: ` +
      `${best.toFixed(2)} s at best, ${verdict(best < TARGETS.createsSeconds)}.`,
    `Target: watch delivery p99 under ${TARGETS.watchP99Ms} ms: ${ms(r.watch.latency.p99Ms)} ms, ` +
      `${verdict(r.watch.latency.p99Ms < TARGETS.watchP99Ms)}.`,
  ];
}
