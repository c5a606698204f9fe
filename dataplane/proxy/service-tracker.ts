/**
 * Folds Service events into per-Service pending changes between syncs, as upstream's
 * ServiceChangeTracker, and applies them to the ServicePortMap at the start of a sync.
 *
 * A pending change is kept as "the Service's ports after all events so far", compared with the
 * ports last applied: an event that brings a Service back to what was applied (A -> B -> A, or an
 * update that touches only fields no proxy programs) leaves nothing pending, so it costs no sync.
 * The applied state, not the event's old object, is the baseline, so a relist that replays events
 * out of order still converges.
 */
import type { Protocol, Service } from '../api/types.ts';
import {
  CONNTRACK_CLEANUP_PROTOCOLS,
  type IPFamily,
  type MakeServicePort,
  sameServicePort,
  serviceKey,
  servicePortsOf,
  type ServicePortInfo,
  type ServicePortMap,
} from './service-model.ts';

export interface StaleClusterIP {
  clusterIP: string;
  protocol: Protocol;
}

export interface ServiceChanges<S extends ServicePortInfo> {
  /** Every proxied service port after the changes: the tracker's live map, read-only for callers. */
  services: ReadonlyMap<string, S>;
  /** `ns/name` of every Service whose ports were added, changed or removed. */
  updatedServices: Set<string>;
  /** Service ports gone (or replaced by one with another ClusterIP), as they were programmed. */
  deletedServicePorts: S[];
  /** ClusterIPs of deleted UDP/SCTP service ports: their conntrack entries lead nowhere now. */
  staleClusterIPs: StaleClusterIP[];
}

export interface ServiceTrackerOptions<S extends ServicePortInfo> {
  ipFamily?: IPFamily;
  makeServicePort?: MakeServicePort<S>;
}

const NONE: ReadonlyMap<string, never> = new Map<string, never>();

export class ServiceTracker<S extends ServicePortInfo = ServicePortInfo> {
  private readonly ipFamily: IPFamily;
  private readonly make: MakeServicePort<S>;
  private readonly current: ServicePortMap<S> = new Map();
  /** Per Service, its ports as last applied. */
  private readonly applied = new Map<string, ReadonlyMap<string, S>>();
  /** Per Service with a pending change, its ports after that change (empty: gone). */
  private readonly pending = new Map<string, ReadonlyMap<string, S>>();

  constructor(opts: ServiceTrackerOptions<S> = {}) {
    this.ipFamily = opts.ipFamily ?? 'IPv4';
    this.make = opts.makeServicePort ?? ((base) => base as S);
  }

  /** Each handler returns whether any change is pending now (for any Service). */
  onServiceAdd(svc: Service): boolean {
    return this.update(svc, true);
  }

  onServiceUpdate(_old: Service, svc: Service): boolean {
    return this.update(svc, true);
  }

  onServiceDelete(svc: Service): boolean {
    return this.update(svc, false);
  }

  /** Services with a pending change. */
  pendingCount(): number {
    return this.pending.size;
  }

  get services(): ReadonlyMap<string, S> {
    return this.current;
  }

  /** Applies the pending changes to the ServicePortMap and says what changed. */
  apply(): ServiceChanges<S> {
    const updatedServices = new Set<string>();
    const deletedServicePorts: S[] = [];
    const staleClusterIPs: StaleClusterIP[] = [];
    for (const [key, next] of this.pending) {
      for (const [portKey, old] of this.applied.get(key) ?? NONE) {
        const now = next.get(portKey);
        if (now && now.clusterIP === old.clusterIP) continue;
        if (!now) this.current.delete(portKey);
        deletedServicePorts.push(old);
        if (CONNTRACK_CLEANUP_PROTOCOLS.has(old.protocol)) {
          staleClusterIPs.push({ clusterIP: old.clusterIP, protocol: old.protocol });
        }
      }
      for (const [portKey, sp] of next) this.current.set(portKey, sp);
      if (next.size) this.applied.set(key, next);
      else this.applied.delete(key);
      updatedServices.add(key);
    }
    this.pending.clear();
    return { services: this.current, updatedServices, deletedServicePorts, staleClusterIPs };
  }

  private update(svc: Service, present: boolean): boolean {
    const key = serviceKey(svc.metadata.namespace ?? '', svc.metadata.name ?? '');
    const bases = present ? servicePortsOf(svc, this.ipFamily) : [];
    const applied = this.applied.get(key) ?? NONE;
    const unchanged =
      bases.length === applied.size &&
      bases.every((b) => {
        const a = applied.get(b.key);
        return a !== undefined && sameServicePort(a, b);
      });
    if (unchanged) {
      this.pending.delete(key);
    } else {
      // Ports that did not change keep the object the mode made for them.
      const next = new Map<string, S>();
      for (const b of bases) {
        const a = applied.get(b.key);
        next.set(b.key, a && sameServicePort(a, b) ? a : this.make(b));
      }
      this.pending.set(key, next);
    }
    return this.pending.size > 0;
  }
}
