/**
 * The iptables proxy mode's control-plane workloads, against a SyncWorld of N Services x 10
 * endpoints (in-process apiserver, proxier fed by informers as in an agent, rules into a throwaway
 * namespace; sync-world.ts):
 * - sync-full: a trial is one full sync over the rules already there, forced by relabelling the
 *   Node (as every full resync of a running kube-proxy: iptables-save, the whole nat and filter
 *   restored), the duration of the proxier's syncRules (kubeproxy_sync_proxy_rules_duration), and
 *   the same payload restored again by iptables-restore alone (the floor the sync is judged by);
 * - sync-partial: a trial is K one-endpoint changes, one at a time, each waited for (minSyncPeriod
 *   0); the values are medians over the K: the partial sync, the time from the EndpointSlice update
 *   to its restore returning (apiserver, watch, trackers, rules, iptables-restore), and a --noflush
 *   restore of the same partial payload again;
 * - programming-latency: a trial is 10 s of endpoint churn at 20 changes/s, at kube-proxy's
 *   default minSyncPeriod of 1 s: sync end minus each change's last-change-trigger-time, exactly
 *   what kubeproxy_network_programming_duration_seconds observes, from every sample: p50 and p99.
 * Variants: services 1000/5000/10000 on iptables-nft and 1000 on iptables-legacy (root), and for
 * sync-full 10000 with rereadForeignRules off; quick: 100 on nft, and 100 on
 * FakeIptables, which needs no root (the smoke suite).
 */
import { KdpError } from '../../../dataplane/errors.ts';
import type { CellAxes } from '../../lib/results.ts';
import { percentile, median, seededRandom } from '../../lib/stats.ts';
import type { ControlWorkload, SetupOptions, TrialValue, WorkloadInstance } from '../../lib/workload.ts';
import { SyncWorld } from './sync-world.ts';
import type { TimedProxier } from './timed-proxier.ts';

type Variant = Record<string, string | number>;

const ENDPOINTS = 10;
/** Changes per sync-partial trial. */
const CHANGES = { quick: 5, full: 20 };
/** Endpoint changes per second in programming-latency, and seconds of churn per trial. */
const CHURN_RATE = 20;
const CHURN_SECONDS = { quick: 2, full: 10 };

function variants(quick: boolean): Variant[] {
  if (quick)
    return [
      { services: 100, iptables: 'fake' },
      { services: 100, iptables: 'nft' },
    ];
  // iptables-legacy at 1k beside nft: the backend a user on an older distribution would have.
  return [
    ...[1000, 5000, 10000].map((services) => ({ services, iptables: 'nft' })),
    { services: 1000, iptables: 'legacy' },
  ];
}

const now = () => performance.timeOrigin + performance.now();
const ms = (name: string, value: number): TrialValue => ({ name, unit: 'ms', better: 'lower', value });
const rules = (value: number): TrialValue => ({ name: 'rules', unit: 'rules', better: 'lower', value });

interface Cell {
  world: SyncWorld;
  ns: string;
  proxier: TimedProxier;
}

/** The world of a cell, with one proxier programming one namespace, after its first sync. */
async function openCell(axes: CellAxes, options: SetupOptions, minSyncPeriodMs: number): Promise<Cell> {
  if (axes.mode !== 'iptables') {
    throw new KdpError(
      'KDP_ERR_BENCH_UNAVAILABLE',
      `${axes.workload} measures the iptables proxier; proxy mode ${axes.mode} has no sync benchmark yet`,
    );
  }
  const services = Number(axes.params?.services);
  const iptables = String(axes.params?.iptables);
  const reread = axes.params?.rereadForeignRules;
  if (
    !(services > 0) ||
    !['nft', 'legacy', 'fake'].includes(iptables) ||
    ![undefined, 'off'].includes(reread as string)
  ) {
    throw new KdpError(
      'KDP_ERR_BENCH_VARIANT',
      `${axes.workload}: bad variant ${JSON.stringify(axes.params)}`,
    );
  }
  options.log?.(`${axes.workload}: ${services} services x ${ENDPOINTS} endpoints (${iptables})`);
  const world = await SyncWorld.create({
    services,
    endpointsPerService: ENDPOINTS,
    backend: iptables === 'legacy' ? 'legacy' : 'nft',
    fake: iptables === 'fake',
    rereadForeignRules: reread !== 'off',
  });
  try {
    const ns = await world.namespace();
    const proxier = await world.proxier(ns, minSyncPeriodMs);
    await proxier.firstSync();
    return { world, ns, proxier };
  } catch (e) {
    await world.close();
    throw e;
  }
}

function syncWorkload(
  name: string,
  description: string,
  minSyncPeriodMs: number,
  trial: (cell: Cell, n: number, options: SetupOptions, signal?: AbortSignal) => Promise<TrialValue[]>,
  extraVariants: Variant[] = [],
): ControlWorkload {
  return {
    name,
    description,
    modeDependent: true,
    needsRoot: true,
    variantNeedsRoot: (v) => v.iptables !== 'fake',
    variants: (quick) => [...variants(quick), ...(quick ? [] : extraVariants)],
    async setup(axes, options): Promise<WorkloadInstance> {
      const cell = await openCell(axes, options, minSyncPeriodMs);
      let n = 0;
      return {
        trial: (signal) => {
          cell.proxier.forgetSyncs();
          return trial(cell, n++, options, signal);
        },
        close: () => cell.world.close(),
      };
    },
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = now();
  await fn();
  return now() - t;
}

export const syncFullWorkload = syncWorkload(
  'sync-full',
  'iptables full sync (rules present, forced by a Node relabel) vs services x 10 endpoints',
  0,
  async ({ world, ns, proxier }, n) => {
    const next = proxier.nextSync();
    await world.touchNode(n);
    const sync = await next;
    if (sync.kind !== 'full' || !sync.payload)
      throw new KdpError('KDP_ERR_BENCH_SYNC', `a Node relabel made a ${sync.kind} sync, not a full one`);
    const rawMs = await timed(() => world.iptables().restore(ns, sync.payload!));
    return [
      ms('sync_ms', sync.endedAt - sync.startedAt),
      ms('raw_restore_ms', rawMs),
      rules(await proxier.rules()),
    ];
  },
  // Without the iptables-save that keeps other programs' rules: what that safety costs at 10k.
  [{ services: 10000, iptables: 'nft', rereadForeignRules: 'off' }],
);

export const syncPartialWorkload = syncWorkload(
  'sync-partial',
  'iptables partial sync of one endpoint change (median of K) vs services x 10 endpoints',
  0,
  async ({ world, ns, proxier }, n, options, signal) => {
    const services = world.options.services;
    const rand = seededRandom(services * 1000 + n);
    const syncMs: number[] = [];
    const toKernelMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < (options.quick ? CHANGES.quick : CHANGES.full); i++) {
      signal?.throwIfAborted();
      const change = await world.moveEndpoint(Math.floor(rand() * services), Math.floor(rand() * ENDPOINTS));
      const sync = await proxier.syncCarrying(change.trigger);
      if (sync.kind !== 'partial' || !sync.payload || sync.restoredAt === undefined)
        throw new KdpError('KDP_ERR_BENCH_SYNC', `an endpoint change made a ${sync.kind} sync`);
      syncMs.push(sync.endedAt - sync.startedAt);
      toKernelMs.push(sync.restoredAt - change.at);
      rawMs.push(await timed(() => world.iptables().restore(ns, sync.payload!, { noflush: true })));
    }
    return [
      ms('sync_ms', median(syncMs)),
      ms('update_to_kernel_ms', median(toKernelMs)),
      ms('raw_restore_ms', median(rawMs)),
      rules(await proxier.rules()),
    ];
  },
);

export const programmingLatencyWorkload = syncWorkload(
  'programming-latency',
  `network programming latency under ${CHURN_RATE} endpoint changes/s (minSyncPeriod 1 s)`,
  1000,
  async ({ world, proxier }, n, options, signal) => {
    const services = world.options.services;
    const rand = seededRandom(services * 1000 + n);
    const triggers: number[] = [];
    const sends: Promise<unknown>[] = [];
    const until = Date.now() + (options.quick ? CHURN_SECONDS.quick : CHURN_SECONDS.full) * 1000;
    for (let t = Date.now(); t < until; t += 1000 / CHURN_RATE) {
      signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
      const change = world.moveEndpoint(Math.floor(rand() * services), Math.floor(rand() * ENDPOINTS));
      sends.push(change.then((c) => triggers.push(c.trigger)));
    }
    await Promise.all(sends);
    for (const t of triggers) await proxier.syncCarrying(t);
    const samples = proxier.syncs.flatMap((s) => s.triggerTimes.map((t) => s.endedWall - t));
    if (samples.length !== triggers.length)
      throw new KdpError(
        'KDP_ERR_BENCH_SYNC',
        `${triggers.length} changes gave ${samples.length} latency samples`,
      );
    return [ms('latency_p50_ms', percentile(samples, 50)), ms('latency_p99_ms', percentile(samples, 99))];
  },
);
