/**
 * The part of a proxier that is the same in every mode: the Service and EndpointSlice trackers,
 * this Node's addresses, the runner that paces syncs, the "no sync before both initial lists"
 * gate, full-versus-partial bookkeeping and the metrics. A mode extends it and writes only
 * `syncRules(state)` (program the kernel from the state; throw on failure) and `cleanupRules()`.
 *
 * A failed sync is retried by the runner as a full one, and the changes it carried (stale
 * conntrack entries, trigger times, updated services) are handed to the retry instead of being
 * lost: upstream drops them, so a UDP client could stay stuck on a removed endpoint.
 *
 * Self-healing: partial syncs rewrite only what changed, so kernel state someone else removed
 * (`iptables -t nat -F`, a firewall reload, a deleted hook jump) would stay removed until the
 * hourly full sync. A mode that can tell cheaply whether its hooks and top-level objects are still
 * there implements `checkKernelState()`; the framework runs it every `kernelCheckPeriodMs`
 * between syncs (not before each partial sync: that would add a table read to every endpoint
 * change's latency), and turns "damaged" into a full sync at once
 * (counted in kdp_proxy_kernel_state_repairs_total). This is upstream's canary idea, checked
 * every second instead of every syncPeriod and covering rules, not only chains.
 */
import type { Log } from '../agent/log.ts';
import type { EndpointSlice, Node, Service } from '../api/types.ts';
import { KdpError } from '../errors.ts';
import { EndpointsTracker } from './endpoints-tracker.ts';
import { KernelCheck } from './kernel-check.ts';
import { ProxyMetrics } from './metrics.ts';
import {
  type EndpointInfo,
  ipFamilyOf,
  type IPFamily,
  type MakeEndpoint,
  type MakeServicePort,
  type ServicePortInfo,
} from './model.ts';
import type { NodeInfo, Proxier, SyncReport, SyncState } from './proxier.ts';
import { BoundedFrequencyRunner, type Clock, systemClock } from './runner.ts';
import { ServiceTracker } from './service-tracker.ts';

export interface BaseProxierOptions<S extends ServicePortInfo, E extends EndpointInfo> {
  mode: string;
  nodeName: string;
  ipFamily?: IPFamily;
  /** Shortest time between syncs (kube-proxy's minSyncPeriod); default 1 s. */
  minSyncPeriodMs?: number;
  /** Longest time between syncs (kube-proxy's syncPeriod); default 30 s. */
  syncPeriodMs?: number;
  /** Retry after a failed sync; default syncPeriodMs, as upstream. */
  retryPeriodMs?: number;
  /** A sync is full at least this often; default 1 hour, as upstream. */
  fullSyncPeriodMs?: number;
  /**
   * How often the mode's kernel state is checked between syncs (if the mode has a check);
   * default 1 s, so traffic is back within 1 s + minSyncPeriod of an outside flush. A check that
   * takes longer than a tenth of this stretches the period to 10x its duration, so checking never
   * costs more than 10% of a core (a 10k-service nat table takes ~0.5 s to read). Infinity: only
   * before partial syncs.
   */
  kernelCheckPeriodMs?: number;
  makeServicePort?: MakeServicePort<S>;
  makeEndpoint?: MakeEndpoint<E>;
  clock?: Clock;
  log?: Log;
}

/** What changed, apart from the maps themselves. */
type Changes<S extends ServicePortInfo, E extends EndpointInfo> = Omit<
  SyncState<S, E>,
  'full' | 'services' | 'endpoints' | 'node'
>;

export abstract class BaseProxier<
  S extends ServicePortInfo = ServicePortInfo,
  E extends EndpointInfo = EndpointInfo,
> implements Proxier {
  readonly mode: string;
  readonly nodeName: string;
  readonly metrics: ProxyMetrics;
  protected readonly clock: Clock;
  protected readonly log: Log;
  private readonly ipFamily: IPFamily;
  private readonly fullSyncPeriodMs: number;
  private readonly services: ServiceTracker<S>;
  private readonly endpoints: EndpointsTracker<E>;
  private readonly runner: BoundedFrequencyRunner;
  private node: NodeInfo;
  private servicesSynced = false;
  private endpointSlicesSynced = false;
  private needFullSync = true;
  /** sync() was called: the next run happens even with nothing pending. */
  private forced = false;
  private lastFullSync = -Infinity;
  /** Changes of a failed sync, owed to the next one. */
  private carried?: Changes<S, E>;
  private readonly kernelCheck?: KernelCheck;
  /** A sync has succeeded: there is kernel state to check. */
  private hasSynced = false;
  /** Syncs started so far: a check that overlapped one has nothing to say. */
  private syncsStarted = 0;
  private syncing = false;

  constructor(opts: BaseProxierOptions<S, E>) {
    this.mode = opts.mode;
    this.nodeName = opts.nodeName;
    this.metrics = new ProxyMetrics();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? (() => {});
    this.ipFamily = opts.ipFamily ?? 'IPv4';
    this.fullSyncPeriodMs = opts.fullSyncPeriodMs ?? 3_600_000;
    const checkPeriodMs = opts.kernelCheckPeriodMs ?? 1000;
    if (!(checkPeriodMs > 0))
      throw new KdpError(
        'KDP_ERR_PROXY_CONFIG',
        `kernelCheckPeriodMs must be positive, got ${checkPeriodMs}`,
      );
    // A mode's methods are on the prototype already, so whether it has a check is known here.
    if (this.checkKernelState)
      this.kernelCheck = new KernelCheck({
        mode: opts.mode,
        check: () => this.checkKernelState!(),
        periodMs: checkPeriodMs,
        clock: this.clock,
        metrics: this.metrics,
        log: this.log,
        onTick: () => this.periodicKernelCheck(),
      });
    this.services = new ServiceTracker({ ipFamily: this.ipFamily, makeServicePort: opts.makeServicePort });
    this.endpoints = new EndpointsTracker({
      nodeName: opts.nodeName,
      ipFamily: this.ipFamily,
      makeEndpoint: opts.makeEndpoint,
      now: () => this.clock.now(),
    });
    const syncPeriodMs = opts.syncPeriodMs ?? 30_000;
    this.runner = new BoundedFrequencyRunner((run) => this.runSync(run.periodic), {
      minIntervalMs: opts.minSyncPeriodMs ?? 1000,
      maxIntervalMs: syncPeriodMs,
      retryIntervalMs: opts.retryPeriodMs ?? syncPeriodMs,
      clock: this.clock,
    });
    this.node = { name: opts.nodeName, labels: {}, addresses: [], podCIDRs: [] };
  }

  /** Programs the kernel from `state`; throws when that failed (the runner retries, in full). */
  protected abstract syncRules(state: SyncState<S, E>): Promise<SyncReport | void>;

  /** Removes everything the mode ever created, including what the current state no longer names. */
  protected abstract cleanupRules(): Promise<void>;

  /**
   * Whether the kernel still holds the mode's hooks and top-level objects as the last successful
   * sync left them: what is missing (for the log), or undefined when nothing is. Must be cheap
   * (it runs every second) and must not write. Throwing means
   * "could not tell" (logged; no full sync for it). Modes without one are never checked.
   */
  protected checkKernelState?(): Promise<string | undefined>;

  onServiceAdd(svc: Service): void {
    this.serviceEvent(this.services.onServiceAdd(svc));
  }

  onServiceUpdate(oldSvc: Service, svc: Service): void {
    this.serviceEvent(this.services.onServiceUpdate(oldSvc, svc));
  }

  onServiceDelete(svc: Service): void {
    this.serviceEvent(this.services.onServiceDelete(svc));
  }

  onServicesSynced(): void {
    this.servicesSynced = true;
    this.requestSync();
  }

  onEndpointSliceAdd(slice: EndpointSlice): void {
    this.endpointSliceEvent(this.endpoints.onEndpointSliceAdd(slice));
  }

  onEndpointSliceUpdate(oldSlice: EndpointSlice, slice: EndpointSlice): void {
    this.endpointSliceEvent(this.endpoints.onEndpointSliceUpdate(oldSlice, slice));
  }

  onEndpointSliceDelete(slice: EndpointSlice): void {
    this.endpointSliceEvent(this.endpoints.onEndpointSliceDelete(slice));
  }

  onEndpointSlicesSynced(): void {
    this.endpointSlicesSynced = true;
    this.requestSync();
  }

  onNodeAdd(node: Node): void {
    this.nodeEvent(node, true);
  }

  onNodeUpdate(_oldNode: Node, node: Node): void {
    this.nodeEvent(node, true);
  }

  onNodeDelete(node: Node): void {
    this.nodeEvent(node, false);
  }

  /** A sync asked for from outside runs even if nothing is pending (events request their own). */
  sync(): void {
    this.forced = true;
    this.requestSync();
  }

  start(): void {
    this.runner.start();
    this.kernelCheck?.start();
  }

  stop(): Promise<void> {
    this.kernelCheck?.stop();
    return this.runner.stop();
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await this.cleanupRules();
  }

  /** Between syncs: a damaged kernel state asks for a full sync now (paced by the runner). */
  private async periodicKernelCheck(): Promise<void> {
    if (!this.hasSynced || this.syncing || this.needFullSync) return;
    const before = this.syncsStarted;
    const damage = await this.kernelCheck!.run();
    // A sync that started meanwhile either repaired the damage or checked for it itself.
    if (!damage || this.syncsStarted !== before) return;
    this.kernelCheck!.note(damage);
    this.needFullSync = true;
    this.requestSync();
  }

  private requestSync(): void {
    if (!this.servicesSynced || !this.endpointSlicesSynced) return;
    this.metrics.lastQueuedTimestamp.set(this.clock.now() / 1000);
    this.runner.run();
  }

  private serviceEvent(pending: boolean): void {
    this.metrics.serviceChangesTotal.inc();
    this.metrics.serviceChangesPending.set(this.services.pendingCount());
    if (pending) this.requestSync();
  }

  private endpointSliceEvent(pending: boolean): void {
    this.metrics.endpointChangesTotal.inc();
    this.metrics.endpointChangesPending.set(this.endpoints.pendingCount());
    if (pending) this.requestSync();
  }

  private nodeEvent(node: Node, present: boolean): void {
    if (node.metadata.name !== this.nodeName) return;
    const next = present ? this.nodeInfoOf(node) : { ...this.node, labels: {}, addresses: [], podCIDRs: [] };
    if (JSON.stringify(next) === JSON.stringify(this.node)) return;
    this.node = next;
    // NodePort addresses (and, for later modes, topology labels) are in every service's rules.
    this.needFullSync = true;
    this.requestSync();
  }

  private nodeInfoOf(node: Node): NodeInfo {
    const addrs = node.status?.addresses ?? [];
    const of = (type: string) =>
      addrs.filter((a) => a.type === type && ipFamilyOf(a.address) === this.ipFamily).map((a) => a.address);
    const cidrs = node.spec?.podCIDRs?.length
      ? node.spec.podCIDRs
      : node.spec?.podCIDR
        ? [node.spec.podCIDR]
        : [];
    return {
      name: this.nodeName,
      labels: { ...(node.metadata.labels ?? {}) },
      addresses: [...new Set([...of('InternalIP'), ...of('ExternalIP')])],
      podCIDRs: [...cidrs],
    };
  }

  /** One run of the runner: apply the pending changes and let the mode program them. */
  private async runSync(periodic: boolean): Promise<void> {
    // Periodic runs fire from start(); before both lists arrived there is nothing true to program.
    if (!this.servicesSynced || !this.endpointSlicesSynced) return;
    // A requested sync whose changes cancelled out (A -> B -> A) has nothing to do; periodic ones
    // still run, to repair whatever else changed the kernel's state.
    const idle = this.services.pendingCount() === 0 && this.endpoints.pendingCount() === 0;
    const forced = this.forced;
    this.forced = false;
    if (!periodic && !forced && idle && !this.needFullSync && !this.carried) return;
    this.syncsStarted++;
    this.syncing = true;
    try {
      await this.syncOnce();
    } finally {
      this.syncing = false;
    }
  }

  private async syncOnce(): Promise<void> {
    // No kernel check here: at 10k Services one costs more than the partial sync itself (see
    // kernel-check.ts); the timer alone bounds how long outside damage lasts.
    const full = this.needFullSync || this.clock.now() - this.lastFullSync >= this.fullSyncPeriodMs;
    const started = this.clock.now();
    const svc = this.services.apply();
    const eps = this.endpoints.apply();
    this.metrics.serviceChangesPending.set(0);
    this.metrics.endpointChangesPending.set(0);
    const changes = mergeChanges(this.carried, {
      updatedServices: new Set([...svc.updatedServices, ...eps.updatedServices]),
      deletedServicePorts: svc.deletedServicePorts,
      deletedEndpoints: eps.deletedEndpoints,
      staleClusterIPs: svc.staleClusterIPs,
      staleEndpoints: eps.staleEndpoints,
      staleServices: eps.staleServices,
      triggerTimes: eps.triggerTimes,
    });
    this.carried = undefined;
    this.needFullSync = false;
    let report: SyncReport | void;
    try {
      report = await this.syncRules({
        full,
        services: svc.services,
        endpoints: eps.endpoints,
        node: this.node,
        ...changes,
      });
    } catch (err) {
      this.carried = changes;
      this.needFullSync = true;
      this.metrics.syncFailures.inc();
      this.log('error', `${this.mode} proxier: sync failed; retrying with a full sync`, { error: err, full });
      throw err;
    }
    const ended = this.clock.now();
    if (full) this.lastFullSync = started;
    this.hasSynced = true;
    this.recordSuccess(full, started, ended, changes, report);
  }

  private recordSuccess(
    full: boolean,
    started: number,
    ended: number,
    changes: Changes<S, E>,
    report: SyncReport | void,
  ): void {
    const m = this.metrics;
    const seconds = (ended - started) / 1000;
    m.syncDuration.observe(seconds);
    (full ? m.syncFullDuration : m.syncPartialDuration).observe(seconds);
    m.lastSyncTimestamp.set(ended / 1000);
    for (const times of changes.triggerTimes.values()) {
      for (const t of times) m.networkProgramming.observe(Math.max(0, ended - t) / 1000);
    }
    m.servicePorts.set(this.services.services.size);
    let endpoints = 0;
    for (const list of this.endpoints.endpoints.values()) endpoints += list.length;
    m.endpoints.set(endpoints);
    if (report?.noLocalEndpoints) {
      m.noLocalEndpoints.set({ traffic_policy: 'internal' }, report.noLocalEndpoints.internal);
      m.noLocalEndpoints.set({ traffic_policy: 'external' }, report.noLocalEndpoints.external);
    }
  }
}

/** The changes of a failed sync followed by newer ones: what the next sync owes. */
function mergeChanges<S extends ServicePortInfo, E extends EndpointInfo>(
  older: Changes<S, E> | undefined,
  newer: Changes<S, E>,
): Changes<S, E> {
  if (!older) return newer;
  const triggerTimes = new Map<string, readonly number[]>(older.triggerTimes);
  for (const [service, times] of newer.triggerTimes) {
    triggerTimes.set(service, [...(triggerTimes.get(service) ?? []), ...times]);
  }
  return {
    updatedServices: new Set([...older.updatedServices, ...newer.updatedServices]),
    deletedServicePorts: [...older.deletedServicePorts, ...newer.deletedServicePorts],
    deletedEndpoints: [...older.deletedEndpoints, ...newer.deletedEndpoints],
    staleClusterIPs: [...older.staleClusterIPs, ...newer.staleClusterIPs],
    staleEndpoints: [...older.staleEndpoints, ...newer.staleEndpoints],
    staleServices: [...new Set([...older.staleServices, ...newer.staleServices])],
    triggerTimes,
  };
}
