/**
 * The apiserver benchmark: `npx tsx bench/apiserver/run.ts [--quick] [--out FILE]`.
 *
 * Against the real ApiServer over HTTP on 127.0.0.1 (in a worker thread, see server.ts) it
 * measures Service creates per second (in memory and durable on SQLite, at two concurrencies),
 * list latency at the created Services (all, label-selected, first page of 500), and watch event
 * delivery from a write's send to its arrival at each of many watchers; then tinybench
 * microbenchmarks of the hot paths. Next to each wall-clock figure it reports the CPU time the
 * server's thread and the load generator's thread spent per operation, which stays meaningful
 * when other work shares the machine (the load average at start and end says how much did).
 * Writes a JSON result under bench/results/ and prints a Markdown table. --quick uses small
 * counts and finishes in seconds (the smoke test runs it).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchClient } from './http-client.ts';
import { runMicro } from './micro.ts';
import { type ApiserverBenchResult, type CpuCost, markdown } from './report.ts';
import { type BenchServer, startBenchServer } from './server.ts';
import { threadCpuMs } from './stats.ts';
import { APPS, createNamespace, createServices, listLatency, watchDelivery } from './workloads.ts';

interface Sizes {
  creates: number;
  warmupCreates: number;
  concurrencies: number[];
  listRepeat: number;
  selectorListRepeat: number;
  watchers: number;
  watchEvents: number;
  watchWarmupEvents: number;
  microTimeMs: number;
}

const FULL: Sizes = {
  creates: 10_000,
  warmupCreates: 1000,
  concurrencies: [16, 64],
  listRepeat: 20,
  selectorListRepeat: 200,
  watchers: 100,
  watchEvents: 1000,
  watchWarmupEvents: 100,
  microTimeMs: 500,
};
const QUICK: Sizes = {
  creates: 300,
  warmupCreates: 50,
  concurrencies: [16],
  listRepeat: 3,
  selectorListRepeat: 5,
  watchers: 10,
  watchEvents: 20,
  watchWarmupEvents: 5,
  microTimeMs: 20,
};

function machine(): ApiserverBenchResult['machine'] {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux: leave it unknown
  }
  return { nproc: availableParallelism(), cpu, kernel: release(), node: process.version };
}

/** Runs `fn` and adds what it cost both threads in CPU, per operation (`ops` of its result). */
async function withCpu<T>(
  server: BenchServer,
  ops: (r: T) => number,
  fn: () => Promise<T>,
): Promise<T & { cpu: CpuCost }> {
  const server0 = await server.cpuMs();
  const client0 = threadCpuMs();
  const r = await fn();
  const client = threadCpuMs() - client0;
  const n = ops(r);
  const cpu = {
    serverUsPerOp: ((await server.cpuMs()) - server0) * (1000 / n),
    clientUsPerOp: client * (1000 / n),
  };
  return { ...r, cpu };
}

/** Creates on a fresh server after a warm-up in another namespace; returns the server still running. */
async function measureCreates(sizes: Sizes, durable: boolean, concurrency: number) {
  const server = await startBenchServer({ durable });
  const client = new BenchClient(server.url, Math.max(...sizes.concurrencies));
  try {
    await createNamespace(client, 'bench-warmup');
    await createServices(client, {
      namespace: 'bench-warmup',
      prefix: 'warm',
      count: sizes.warmupCreates,
      concurrency,
    });
    const result = await withCpu(
      server,
      (r) => r.count,
      () =>
        createServices(client, { namespace: 'default', prefix: 'svc', count: sizes.creates, concurrency }),
    );
    return {
      server,
      client,
      result: { store: durable ? ('sqlite' as const) : ('memory' as const), ...result },
    };
  } catch (e) {
    client.close();
    await server.close();
    throw e;
  }
}

async function runApiserverBench(quick: boolean): Promise<ApiserverBenchResult> {
  const sizes = quick ? QUICK : FULL;
  const loadAtStart = loadavg()[0];
  const creates: ApiserverBenchResult['creates'] = [];
  let lists: ApiserverBenchResult['lists'] = [];
  let watch: ApiserverBenchResult['watch'] | undefined;
  for (const durable of [false, true]) {
    for (const concurrency of sizes.concurrencies) {
      const run = await measureCreates(sizes, durable, concurrency);
      creates.push(run.result);
      try {
        // Lists and watches on the last in-memory server, which holds the created Services.
        if (!durable && concurrency === sizes.concurrencies.at(-1)) {
          const base = '/api/v1/namespaces/default/services';
          const list = async (name: string, path: string, repeat: number) => ({
            name,
            ...(await withCpu(
              run.server,
              (r) => r.latency.samples,
              () => listLatency(run.client, path, repeat),
            )),
          });
          lists = [
            await list('all Services', base, sizes.listRepeat),
            await list(
              `labelSelector app=app-7 (1 in ${APPS})`,
              `${base}?labelSelector=app%3Dapp-7`,
              sizes.selectorListRepeat,
            ),
            await list('first page, limit=500', `${base}?limit=500`, sizes.listRepeat),
          ];
          await createNamespace(run.client, 'bench-watch');
          const opts = {
            namespace: 'bench-watch',
            watchers: sizes.watchers,
            events: sizes.watchEvents,
            warmupEvents: sizes.watchWarmupEvents,
            timeoutMs: 60_000,
          };
          watch = await withCpu(
            run.server,
            (r) => r.delivered,
            () => watchDelivery(run.client, run.server.url, opts),
          );
        }
      } finally {
        run.client.close();
        await run.server.close();
      }
    }
  }
  const micro = await runMicro({ timeMs: sizes.microTimeMs });
  return {
    benchmark: 'apiserver',
    mode: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    command: `npx tsx bench/apiserver/run.ts${quick ? ' --quick' : ''}`,
    machine: machine(),
    loadAverage: { start: loadAtStart, end: loadavg()[0] },
    creates,
    lists,
    watch: watch!,
    micro,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' } } });
  const result = await runApiserverBench(values.quick ?? false);
  const root = join(import.meta.dirname, '..', '..');
  const out =
    values.out ?? join(root, 'bench', 'results', `apiserver-${result.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(markdown(result));
  console.log(`\nresult: ${relative(process.cwd(), out) || out}`);
}

await main();
