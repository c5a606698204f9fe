/**
 * The `apiserver` control workload: the real ApiServer (in a worker thread, over HTTPS on 127.0.0.1;
 * bench/apiserver/server.ts), started fresh and warmed up for every trial. Variants: the store (in memory,
 * or durable on SQLite), the number of keep-alive lanes the creates come from, and auth: `tls` (TLS
 * and client-certificate authentication, as the product runs) or `plain` (the insecure mode's
 * plain HTTP without authentication, the baseline for what TLS and authentication cost).
 *
 * A trial creates N Services in a namespace of its own (creates per second, p99 of a create, and
 * the server thread's CPU time per create, which does not grow when other work shares the
 * machine). The in-memory 64-lane cell then measures, on the Services just created, list latency
 * (all of them, a label selector matching 1 in 100, the first page of 500) and watch delivery: W
 * watchers on another new namespace, one create at a time, each stamped with its send time, the
 * next sent once every watcher has the last (p50 and p99 of send to arrival, over every
 * delivery).
 */
import { KdpError } from '../../../dataplane/errors.ts';
import { BenchClient } from '../../apiserver/http-client.ts';
import { startBenchServer } from '../../apiserver/server.ts';
import {
  APPS,
  createNamespace,
  createServices,
  listLatency,
  watchDelivery,
} from '../../apiserver/workloads.ts';
import type { ControlWorkload, TrialValue, WorkloadInstance } from '../../lib/workload.ts';

const SIZES = {
  quick: { creates: 300, warmup: 50, watchers: 10, events: 20, watchWarmup: 5, lists: 3, selectorLists: 5 },
  full: {
    ...{ creates: 10_000, warmup: 1000, watchers: 100, events: 1000, watchWarmup: 100 },
    ...{ lists: 20, selectorLists: 200 },
  },
};
const STORES = ['memory', 'sqlite'] as const;
const AUTH = ['tls', 'plain'] as const;
/**
 * The cells that also measure lists and watches (they do not depend on the lanes or the store):
 * in memory, 64 lanes, with either auth, so the cost of TLS and authentication on a watch shows.
 */
const FULL_CELL = { store: 'memory', lanes: 64, auth: 'tls' };
const PLAIN_CELL = { ...FULL_CELL, auth: 'plain' };

const ms = (name: string, value: number): TrialValue => ({ name, unit: 'ms', better: 'lower', value });

export const apiserverWorkload: ControlWorkload = {
  name: 'apiserver',
  description:
    'Service creates per second (memory or SQLite, 16 or 64 lanes, TLS+auth or plain), list and watch latency',
  modeDependent: false,
  needsRoot: false,
  variants: (quick) =>
    quick
      ? [FULL_CELL, PLAIN_CELL, { store: 'sqlite', lanes: 64, auth: 'tls' }]
      : [
          FULL_CELL,
          PLAIN_CELL,
          { store: 'memory', lanes: 16, auth: 'tls' },
          { store: 'sqlite', lanes: 64, auth: 'tls' },
          { store: 'sqlite', lanes: 16, auth: 'tls' },
        ],
  async setup(axes, options): Promise<WorkloadInstance> {
    const sizes = options.quick ? SIZES.quick : SIZES.full;
    const store = String(axes.params?.store ?? FULL_CELL.store);
    const lanes = Number(axes.params?.lanes ?? FULL_CELL.lanes);
    const auth = String(axes.params?.auth ?? FULL_CELL.auth);
    if (
      !(STORES as readonly string[]).includes(store) ||
      !(Number.isInteger(lanes) && lanes > 0) ||
      !(AUTH as readonly string[]).includes(auth)
    )
      throw new KdpError(
        'KDP_ERR_BENCH_VARIANT',
        `apiserver: bad variant ${JSON.stringify(axes.params)} (store: ${STORES.join(' or ')}, lanes: a positive integer, auth: ${AUTH.join(' or ')})`,
      );
    const measuresReads = store === FULL_CELL.store && lanes === FULL_CELL.lanes;
    options.log?.(
      `apiserver: ${store} store, ${lanes} lanes, ${auth === 'tls' ? 'TLS and authentication' : 'plain HTTP without authentication'}, ${sizes.creates} creates per trial`,
    );
    // A fresh server per trial: every trial creates into the same empty store (lists walk every
    // Service of the store, and ClusterIPs would run out after a few trials of 10,000).
    const running = new Set<Promise<unknown>>();
    return {
      trial(signal) {
        const t = measure(signal).finally(() => running.delete(t));
        running.add(t);
        return t;
      },
      close: async () => void (await Promise.allSettled(running)),
    };

    async function measure(signal?: AbortSignal): Promise<TrialValue[]> {
      const server = await startBenchServer({ durable: store === 'sqlite', plain: auth === 'plain' });
      const client = new BenchClient(server.url, lanes, server.tls);
      try {
        await createNamespace(client, 'bench-warmup');
        await createServices(client, {
          namespace: 'bench-warmup',
          prefix: 'warm',
          count: sizes.warmup,
          concurrency: lanes,
        });
        signal?.throwIfAborted();
        const namespace = 'bench-create';
        await createNamespace(client, namespace);
        const cpu0 = await server.cpuMs();
        const c = await createServices(client, {
          namespace,
          prefix: 'svc',
          count: sizes.creates,
          concurrency: lanes,
        });
        const cpuUsPerCreate = ((await server.cpuMs()) - cpu0) * (1000 / sizes.creates);
        const values: TrialValue[] = [
          { name: 'creates_per_s', unit: 'creates/s', better: 'higher', value: c.perSecond },
          ms('create_p99_ms', c.latency.p99Ms),
          { name: 'server_cpu_us_per_create', unit: 'µs', better: 'lower', value: cpuUsPerCreate },
        ];
        if (!measuresReads) return values;
        signal?.throwIfAborted();
        return [...values, ...(await reads(client, namespace, signal))];
      } finally {
        client.close();
        await server.close();
      }
    }

    /** List latency on the Services just created, then watch delivery on a new namespace. */
    async function reads(client: BenchClient, namespace: string, signal?: AbortSignal) {
      const base = `/api/v1/namespaces/${namespace}/services`;
      const all = await listLatency(client, base, sizes.lists);
      const selected = await listLatency(client, `${base}?labelSelector=app%3Dapp-7`, sizes.selectorLists);
      const page = await listLatency(client, `${base}?limit=500`, sizes.lists);
      const expect = [
        [all.items, sizes.creates],
        [selected.items, Math.ceil((sizes.creates - 7) / APPS)],
        [page.items, Math.min(500, sizes.creates)],
      ];
      if (expect.some(([got, want]) => got !== want))
        throw new KdpError(
          'KDP_ERR_BENCH_REQUEST',
          `lists returned ${JSON.stringify(expect)} items ([got, want])`,
        );
      signal?.throwIfAborted();
      await createNamespace(client, 'bench-watch');
      const w = await watchDelivery(client, {
        namespace: 'bench-watch',
        watchers: sizes.watchers,
        events: sizes.events,
        warmupEvents: sizes.watchWarmup,
        timeoutMs: 60_000,
      });
      return [
        ms('list_all_p50_ms', all.latency.p50Ms),
        ms('list_selector_p50_ms', selected.latency.p50Ms),
        ms('list_page_p50_ms', page.latency.p50Ms),
        ms('watch_p50_ms', w.latency.p50Ms),
        ms('watch_p99_ms', w.latency.p99Ms),
      ];
    }
  },
};
