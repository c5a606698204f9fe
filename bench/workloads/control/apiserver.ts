/**
 * The `apiserver` control workload: the real ApiServer (in memory, in a worker thread, over HTTP on
 * 127.0.0.1; bench/apiserver/server.ts) started and warmed up once per cell. A trial creates N
 * Services in a namespace of its own from 64 keep-alive lanes (creates per second, and the
 * server's CPU time per create, which does not grow when other work shares the machine), then
 * measures watch delivery: W watchers on another new namespace, one create at a time, each
 * stamped with its send time, the next sent once every watcher has the last (p50 and p99 of send
 * to arrival, over every delivery). The measurements are bench/apiserver/workloads.ts's, which
 * the detailed standalone benchmark (`npm run bench:api`: durable store, lists, microbenchmarks)
 * runs too.
 */
import { KdpError } from '../../../dataplane/errors.ts';
import { BenchClient } from '../../apiserver/http-client.ts';
import { startBenchServer } from '../../apiserver/server.ts';
import { createNamespace, createServices, watchDelivery } from '../../apiserver/workloads.ts';
import type { ControlWorkload, TrialValue, WorkloadInstance } from '../../lib/workload.ts';

const SIZES = {
  quick: { creates: 300, warmup: 50, watchers: 10, events: 20, watchWarmup: 5 },
  full: { creates: 10_000, warmup: 1000, watchers: 100, events: 1000, watchWarmup: 100 },
};
const CONCURRENCY = 64;

export const apiserverWorkload: ControlWorkload = {
  name: 'apiserver',
  description: `Service creates per second (in memory, ${CONCURRENCY} lanes) and watch delivery latency`,
  modeDependent: false,
  needsRoot: false,
  variants: (quick) => {
    const s = quick ? SIZES.quick : SIZES.full;
    return [{ creates: s.creates, watchers: s.watchers }];
  },
  async setup(axes, options): Promise<WorkloadInstance> {
    const sizes = options.quick ? SIZES.quick : SIZES.full;
    const creates = Number(axes.params?.creates ?? sizes.creates);
    const watchers = Number(axes.params?.watchers ?? sizes.watchers);
    if (!(creates > 0 && watchers > 0))
      throw new KdpError('KDP_ERR_BENCH_VARIANT', `apiserver: bad variant ${JSON.stringify(axes.params)}`);
    const server = await startBenchServer({ durable: false });
    const client = new BenchClient(server.url, CONCURRENCY);
    const close = async () => {
      client.close();
      await server.close();
    };
    try {
      await createNamespace(client, 'bench-warmup');
      await createServices(client, {
        namespace: 'bench-warmup',
        prefix: 'warm',
        count: sizes.warmup,
        concurrency: CONCURRENCY,
      });
    } catch (e) {
      await close();
      throw e;
    }
    let n = 0;
    let closed: Promise<void> | undefined;
    return {
      async trial(signal): Promise<TrialValue[]> {
        const i = n++;
        await createNamespace(client, `bench-create-${i}`);
        const cpu0 = await server.cpuMs();
        const c = await createServices(client, {
          namespace: `bench-create-${i}`,
          prefix: 'svc',
          count: creates,
          concurrency: CONCURRENCY,
        });
        const cpuUsPerCreate = ((await server.cpuMs()) - cpu0) * (1000 / creates);
        signal?.throwIfAborted();
        await createNamespace(client, `bench-watch-${i}`);
        const w = await watchDelivery(client, server.url, {
          namespace: `bench-watch-${i}`,
          watchers,
          events: sizes.events,
          warmupEvents: sizes.watchWarmup,
          timeoutMs: 60_000,
        });
        return [
          { name: 'creates_per_s', unit: 'creates/s', better: 'higher', value: c.perSecond },
          { name: 'server_cpu_us_per_create', unit: 'µs', better: 'lower', value: cpuUsPerCreate },
          { name: 'watch_p50_ms', unit: 'ms', better: 'lower', value: w.latency.p50Ms },
          { name: 'watch_p99_ms', unit: 'ms', better: 'lower', value: w.latency.p99Ms },
        ];
      },
      close: () => (closed ??= close()),
    };
  },
};
