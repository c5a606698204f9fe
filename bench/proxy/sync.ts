/**
 * The iptables proxy mode's control-plane benchmark (root):
 *
 *   node --import tsx bench/proxy/sync.ts [--sizes 1000,5000,10000] [--reps 3] [--changes 100]
 *     [--churn-seconds 20] [--churn-rate 20] [--backend nft|legacy] [--no-reread-foreign-rules]
 *     [--quick] [--fake] [--out FILE]
 *
 * For each size (Services x 10 endpoints, created in kdp's in-process apiserver, proxier fed by
 * informers as in an agent, rules into throwaway namespaces kdp-bench<pid>-*), measured in one run:
 * - full sync into an empty namespace (a new proxier's first sync) against a plain restore of the
 *   very payload it wrote into another empty namespace, interleaved;
 * - full sync with the rules present (forced by relabelling the Node) against a restore of the
 *   same payload over them;
 * - partial syncs of one endpoint change (minSyncPeriod 0, one change at a time): sync duration,
 *   the time from the EndpointSlice update to its iptables-restore returning (rules in the
 *   kernel), and a --noflush restore of the same partial payload again (the raw cost);
 * - network programming latency under endpoint churn (minSyncPeriod 1 s, kube-proxy's default):
 *   sync end minus each change's last-change-trigger-time, kube-proxy's
 *   kubeproxy_network_programming_duration_seconds, from exact samples.
 * Writes JSON under bench/results/ and prints Markdown (report.ts). --quick: 100 services, one
 * rep, 10 changes, 3 s of churn. --fake: FakeIptables, no root (the smoke test uses it).
 * --no-reread-foreign-rules: the proxier's rereadForeignRules false (no iptables-save before each
 * full sync, only before the first), to see what that save costs.
 */
import { parseArgs } from 'node:util';
import type { IptablesBackend } from '../../dataplane/kernel/iptables/types.ts';
import { machineInfo, writeResult } from '../lib/machine.ts';
import { seededRandom } from '../lib/stats.ts';
import { printSyncReport, type SizeResult, type SyncBenchResult } from './report.ts';
import { SyncWorld, type TimedProxier } from './sync-world.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string' },
    reps: { type: 'string' },
    changes: { type: 'string' },
    'churn-seconds': { type: 'string' },
    'churn-rate': { type: 'string' },
    backend: { type: 'string', default: 'nft' },
    quick: { type: 'boolean' },
    fake: { type: 'boolean' },
    'no-reread-foreign-rules': { type: 'boolean' },
    out: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const options = {
  sizes: (values.sizes ?? (quick ? '100' : '1000,5000,10000')).split(',').map(Number),
  endpointsPerService: 10,
  reps: Number(values.reps ?? (quick ? 1 : 3)),
  changes: Number(values.changes ?? (quick ? 10 : 100)),
  churnSeconds: Number(values['churn-seconds'] ?? (quick ? 3 : 20)),
  churnRate: Number(values['churn-rate'] ?? 20),
  churnMinSyncPeriodMs: 1000,
  backend: values.backend as IptablesBackend,
  fake: values.fake ?? false,
  rereadForeignRules: !values['no-reread-foreign-rules'],
};
if (!['nft', 'legacy'].includes(options.backend)) throw new Error('--backend: nft or legacy');

const now = () => performance.timeOrigin + performance.now();
const log = (m: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Resolves with the sync that carried `trigger` (a change's last-change-trigger-time). */
async function syncCarrying(p: TimedProxier, trigger: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = p.syncs.find((s) => s.triggerTimes.includes(trigger));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no sync carried the change made at ${trigger}`);
    await Promise.race([p.nextSync(), new Promise((r) => setTimeout(r, 1000))]);
  }
}

/** A new proxier's first sync, whether or not it has ended yet. */
function firstSync(p: TimedProxier) {
  return p.syncs[0] ? Promise.resolve(p.syncs[0]) : p.nextSync();
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = now();
  await fn();
  return now() - t;
}

async function runSize(services: number): Promise<SizeResult> {
  log(`${services} services x ${options.endpointsPerService}: creating objects`);
  const world = await SyncWorld.create({
    services,
    endpointsPerService: options.endpointsPerService,
    backend: options.backend,
    fake: options.fake,
    rereadForeignRules: options.rereadForeignRules,
  });
  const iptables = world.iptables();
  const rand = seededRandom(services);
  try {
    // 1. Full sync into an empty namespace vs a plain restore of its payload into another one.
    const fullEmpty = { syncMs: [] as number[], rawMs: [] as number[] };
    let proxier: TimedProxier | undefined;
    let ns = '';
    let payload = '';
    for (let r = 0; r < options.reps; r++) {
      if (proxier) {
        await world.stopProxier(proxier);
        await world.deleteNamespace(ns);
      }
      ns = await world.namespace();
      proxier = await world.proxier(ns, 0);
      const sync = await firstSync(proxier);
      if (sync.kind !== 'full' || !sync.payload) throw new Error('the first sync was not a full one');
      payload = sync.payload;
      fullEmpty.syncMs.push(sync.endedAt - sync.startedAt);
      const rawNs = await world.namespace();
      fullEmpty.rawMs.push(await timed(() => iptables.restore(rawNs, payload)));
      await world.deleteNamespace(rawNs);
      log(
        `  full sync, empty namespace: ${Math.round(fullEmpty.syncMs.at(-1)!)} ms; raw restore ${Math.round(fullEmpty.rawMs.at(-1)!)} ms`,
      );
    }
    const p = proxier!;
    const m = await p.metrics.text();
    const rules = {
      nat: Number(/kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} (\d+)/.exec(m)?.[1]),
      filter: Number(/kubeproxy_sync_proxy_rules_iptables_total\{table="filter"\} (\d+)/.exec(m)?.[1]),
    };

    // 2. Full sync over the rules already there vs restoring the same payload over them.
    const fullPresent = { syncMs: [] as number[], rawMs: [] as number[] };
    for (let r = 0; r < options.reps; r++) {
      const next = p.nextSync();
      await world.touchNode(r);
      const sync = await next;
      if (sync.kind !== 'full') throw new Error('a Node relabel did not cause a full sync');
      fullPresent.syncMs.push(sync.endedAt - sync.startedAt);
      fullPresent.rawMs.push(await timed(() => iptables.restore(ns, sync.payload ?? payload)));
      log(
        `  full sync, rules present: ${Math.round(fullPresent.syncMs.at(-1)!)} ms; raw restore ${Math.round(fullPresent.rawMs.at(-1)!)} ms`,
      );
    }

    // 3. One endpoint change at a time: partial sync, update-to-kernel latency, raw --noflush restore.
    const partial = { syncMs: [] as number[], updateToKernelMs: [] as number[], rawMs: [] as number[] };
    for (let i = 0; i < options.changes; i++) {
      const change = await world.moveEndpoint(Math.floor(rand() * services), Math.floor(rand() * 10));
      const sync = await syncCarrying(p, change.trigger);
      if (sync.kind !== 'partial' || !sync.payload || sync.restoredAt === undefined)
        throw new Error(`an endpoint change made a ${sync.kind} sync`);
      partial.syncMs.push(sync.endedAt - sync.startedAt);
      partial.updateToKernelMs.push(sync.restoredAt - change.at);
      partial.rawMs.push(await timed(() => iptables.restore(ns, sync.payload!, { noflush: true })));
    }
    log(`  ${options.changes} partial syncs done`);
    await world.stopProxier(p);
    await world.deleteNamespace(ns);

    // 4. Network programming latency under churn, at kube-proxy's default minSyncPeriod.
    const churnNs = await world.namespace();
    const churner = await world.proxier(churnNs, options.churnMinSyncPeriodMs);
    await firstSync(churner);
    const start = churner.syncs.length;
    const triggers: number[] = [];
    const interval = 1000 / options.churnRate;
    const until = Date.now() + options.churnSeconds * 1000;
    const sends: Promise<unknown>[] = [];
    for (let t = Date.now(); t < until; t += interval) {
      await new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
      sends.push(
        world
          .moveEndpoint(Math.floor(rand() * services), Math.floor(rand() * 10))
          .then((c) => triggers.push(c.trigger)),
      );
    }
    await Promise.all(sends);
    await syncCarrying(churner, Math.max(...triggers));
    for (const t of triggers) await syncCarrying(churner, t);
    const churnSyncs = churner.syncs.slice(start);
    const samplesMs = churnSyncs.flatMap((s) => s.triggerTimes.map((t) => s.endedWall - t));
    const histogram = await churner.metrics.networkProgramming.get();
    const histogramCount = histogram.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    log(`  churn: ${triggers.length} changes in ${churnSyncs.length} syncs`);
    await world.stopProxier(churner);

    return {
      services,
      endpointsPerService: options.endpointsPerService,
      rules,
      payloadMb: payload.length / 1e6,
      fullEmpty,
      fullPresent,
      partial,
      churn: {
        rate: options.churnRate,
        seconds: options.churnSeconds,
        minSyncPeriodMs: options.churnMinSyncPeriodMs,
        changes: triggers.length,
        syncs: churnSyncs.length,
        partialSyncMs: churnSyncs.filter((s) => s.kind === 'partial').map((s) => s.endedAt - s.startedAt),
        samplesMs,
        histogramCount,
      },
    };
  } finally {
    await world.close();
  }
}

const result: SyncBenchResult = {
  benchmark: 'proxy-sync',
  command: `node --import tsx bench/proxy/sync.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  options,
  sizes: [],
};
for (const size of options.sizes) result.sizes.push(await runSize(size));
result.file = writeResult(options.fake ? 'proxy-sync-fake' : 'proxy-sync', result, values.out);
printSyncReport(result);
