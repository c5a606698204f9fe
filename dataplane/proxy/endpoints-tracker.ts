/**
 * Folds EndpointSlice events into per-Service pending changes between syncs (as upstream's
 * EndpointsChangeTracker) and applies them to the EndpointsMap at the start of a sync, saying what
 * a mode must do beyond programming rules:
 * - stale endpoints: a UDP/SCTP endpoint that was serving and is gone (or no longer serving), whose
 *   conntrack entries must be deleted or the client keeps sending to it;
 * - stale services: a UDP/SCTP service port that had no serving endpoint and has one now, whose
 *   ClusterIP conntrack entries (made while packets were rejected) must be flushed;
 * - the last-change-trigger-time of every applied change, for the network programming latency.
 * Changes that cancel out (an endpoint added then removed, one moving between slices) are dropped,
 * with their trigger times: nothing was programmed for them.
 */
import { ANNOTATION_LAST_CHANGE_TRIGGER_TIME, type EndpointSlice, type Protocol } from '../api/types.ts';
import { EndpointSliceCache, sliceInfoOf } from './endpointslice-cache.ts';
import {
  CONNTRACK_CLEANUP_PROTOCOLS,
  type EndpointInfo,
  type EndpointsMap,
  type IPFamily,
  type MakeEndpoint,
  sameEndpoint,
  sliceServiceKey,
} from './service-model.ts';

export interface ServicePortEndpoint<E extends EndpointInfo> {
  /** The service port key (`ns/name:port/PROTOCOL`). */
  servicePort: string;
  protocol: Protocol;
  endpoint: E;
}

export interface EndpointsChanges<E extends EndpointInfo> {
  /** Endpoints of every service port after the changes: the tracker's live map, read-only for callers. */
  endpoints: ReadonlyMap<string, readonly E[]>;
  /** `ns/name` of every Service whose endpoints changed. */
  updatedServices: Set<string>;
  /** Endpoints (any protocol) no longer in their service port, as they were programmed. */
  deletedEndpoints: ServicePortEndpoint<E>[];
  /** UDP/SCTP endpoints that were serving and are not any more: delete their conntrack entries. */
  staleEndpoints: ServicePortEndpoint<E>[];
  /** UDP/SCTP service port keys that went from no serving endpoint to some: flush their ClusterIP entries. */
  staleServices: string[];
  /** Per Service (`ns/name`), the trigger times (epoch ms) of the changes applied now. */
  triggerTimes: Map<string, number[]>;
}

export interface EndpointsTrackerOptions<E extends EndpointInfo> {
  /** This node's name: endpoints on it are local. */
  nodeName: string;
  ipFamily?: IPFamily;
  makeEndpoint?: MakeEndpoint<E>;
  /** Epoch ms; trigger times before the tracker existed are ignored (a restart replays everything). */
  now?: () => number;
}

/** The protocol part of a service port key. */
export function protocolOfServicePortKey(key: string): Protocol {
  return key.slice(key.lastIndexOf('/') + 1) as Protocol;
}

export class EndpointsTracker<E extends EndpointInfo = EndpointInfo> {
  private readonly cache: EndpointSliceCache<E>;
  private readonly ipFamily: IPFamily;
  private readonly startedAt: number;
  private readonly current = new Map<string, readonly E[]>();
  private readonly triggers = new Map<string, number[]>();

  constructor(opts: EndpointsTrackerOptions<E>) {
    this.ipFamily = opts.ipFamily ?? 'IPv4';
    this.cache = new EndpointSliceCache(opts.nodeName, opts.makeEndpoint ?? ((base) => base as E));
    this.startedAt = (opts.now ?? Date.now)();
  }

  /** Each handler returns whether any change is pending now (for any Service). */
  onEndpointSliceAdd(slice: EndpointSlice): boolean {
    return this.update(slice, false);
  }

  onEndpointSliceUpdate(_old: EndpointSlice, slice: EndpointSlice): boolean {
    return this.update(slice, false);
  }

  onEndpointSliceDelete(slice: EndpointSlice): boolean {
    return this.update(slice, true);
  }

  /** Services with a pending change. */
  pendingCount(): number {
    return this.cache.pendingCount();
  }

  get endpoints(): ReadonlyMap<string, readonly E[]> {
    return this.current;
  }

  apply(): EndpointsChanges<E> {
    const result: EndpointsChanges<E> = {
      endpoints: this.current,
      updatedServices: new Set(),
      deletedEndpoints: [],
      staleEndpoints: [],
      staleServices: [],
      triggerTimes: new Map(),
    };
    for (const { service, previous, current } of this.cache.checkout()) {
      const times = this.triggers.get(service);
      this.triggers.delete(service);
      if (sameEndpointsMap(previous, current)) continue;
      result.updatedServices.add(service);
      if (times) result.triggerTimes.set(service, times);
      for (const portKey of previous.keys()) if (!current.has(portKey)) this.current.delete(portKey);
      for (const [portKey, eps] of current) this.current.set(portKey, eps);
      diff(previous, current, result);
    }
    return result;
  }

  private update(slice: EndpointSlice, removed: boolean): boolean {
    // FQDN slices and the other IP family are not this proxier's business.
    if (slice.addressType !== this.ipFamily) return this.pendingCount() > 0;
    const service = sliceServiceKey(slice);
    if (!service) return this.pendingCount() > 0;
    const pending = this.cache.update(service, slice.metadata.name!, removed ? null : sliceInfoOf(slice));
    if (!pending) {
      this.triggers.delete(service);
    } else if (!removed) {
      // A removed slice's annotation dates from its last update, not from this change: skip it.
      const t = Date.parse(slice.metadata.annotations?.[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] ?? '');
      if (t > this.startedAt) {
        const list = this.triggers.get(service);
        if (list) list.push(t);
        else this.triggers.set(service, [t]);
      }
    }
    return this.pendingCount() > 0;
  }
}

function sameEndpointsMap<E extends EndpointInfo>(a: EndpointsMap<E>, b: EndpointsMap<E>): boolean {
  if (a.size !== b.size) return false;
  for (const [portKey, x] of a) {
    const y = b.get(portKey);
    if (!y || y.length !== x.length || !x.every((e, i) => sameEndpoint(e, y[i]))) return false;
  }
  return true;
}

const serving = (eps: readonly EndpointInfo[] | undefined) => (eps ?? []).filter((e) => e.serving).length;

/** What a Service's change means beyond its rules: deleted and stale endpoints, newly served ports. */
function diff<E extends EndpointInfo>(
  previous: EndpointsMap<E>,
  current: EndpointsMap<E>,
  out: EndpointsChanges<E>,
) {
  for (const [servicePort, old] of previous) {
    const protocol = protocolOfServicePortKey(servicePort);
    const now = new Map((current.get(servicePort) ?? []).map((e) => [e.key, e]));
    const conntrack = CONNTRACK_CLEANUP_PROTOCOLS.has(protocol);
    for (const endpoint of old) {
      const still = now.get(endpoint.key);
      if (!still) out.deletedEndpoints.push({ servicePort, protocol, endpoint });
      // An endpoint that never served got no traffic, so it has no conntrack entries to go stale.
      if (conntrack && endpoint.serving && !still?.serving) {
        out.staleEndpoints.push({ servicePort, protocol, endpoint });
      }
    }
  }
  for (const [servicePort, eps] of current) {
    if (!CONNTRACK_CLEANUP_PROTOCOLS.has(protocolOfServicePortKey(servicePort))) continue;
    if (serving(eps) > 0 && serving(previous.get(servicePort)) === 0) out.staleServices.push(servicePort);
  }
}
