/**
 * The EndpointSlices of every Service, reduced to what kube-proxy reads, with the slices applied
 * at the last sync kept apart from those changed since (as upstream's EndpointSliceCache). A
 * Service's endpoints are the merge of all its slices, one per `ip:port` within each service port:
 * an endpoint moving from one slice to another is seen in both for a moment, and that must not
 * look like two backends, nor like a removal when one of the two slices changes first.
 */
import type { EndpointSlice, Protocol } from '../api/types.ts';
import {
  endpointKey,
  ipFamilyOf,
  isPortNumber,
  PORT_PROTOCOLS,
  type EndpointInfo,
  type EndpointsMap,
  type MakeEndpoint,
  sameEndpoint,
  servicePortKey,
} from './service-model.ts';

interface SlicePort {
  name: string;
  protocol: Protocol;
  port: number;
}

interface SliceEndpoint {
  ip: string;
  nodeName: string;
  zone: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** A slice as kube-proxy sees it; `canonical` identifies its content for no-op detection. */
export interface SliceInfo {
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
  canonical: string;
}

export function sliceInfoOf(slice: EndpointSlice): SliceInfo {
  const ports: SlicePort[] = [];
  for (const p of slice.ports ?? []) {
    // A slice port without a number means "all ports", which no proxy implements (nor upstream).
    if (!p.port) continue;
    // Written into rules verbatim: only a real port number and protocol (see ipFamilyOf).
    if (!isPortNumber(p.port) || !PORT_PROTOCOLS.has(p.protocol ?? 'TCP')) continue;
    ports.push({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port });
  }
  ports.sort((a, b) => a.port - b.port || cmp(a.name, b.name) || cmp(a.protocol, b.protocol));
  const endpoints: SliceEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    const ip = ep.addresses?.[0];
    if (!ip || ipFamilyOf(ip) === undefined) continue;
    const c = ep.conditions ?? {};
    endpoints.push({
      ip,
      nodeName: ep.nodeName ?? '',
      zone: ep.zone ?? '',
      // As upstream: an unset condition means ready / serving, and not terminating.
      ready: c.ready ?? true,
      serving: c.serving ?? true,
      terminating: c.terminating ?? false,
    });
  }
  endpoints.sort((a, b) => cmp(a.ip, b.ip));
  return { ports, endpoints, canonical: JSON.stringify([ports, endpoints]) };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface EndpointsChange<E extends EndpointInfo> {
  service: string;
  previous: EndpointsMap<E>;
  current: EndpointsMap<E>;
}

interface ServiceSlices<E extends EndpointInfo> {
  applied: Map<string, SliceInfo>;
  /** Slice name -> its state since the last sync; null: removed. */
  pending: Map<string, SliceInfo | null>;
  /** The endpoints built from `applied`. */
  endpoints: EndpointsMap<E>;
}

export class EndpointSliceCache<E extends EndpointInfo = EndpointInfo> {
  private readonly byService = new Map<string, ServiceSlices<E>>();
  private pendingServices = 0;

  constructor(
    private readonly nodeName: string,
    private readonly make: MakeEndpoint<E>,
  ) {}

  /**
   * Records the state of one slice of a Service (null when the slice is gone). Returns whether
   * the Service has a pending change now: false when this brought it back to what was applied.
   */
  update(service: string, sliceName: string, info: SliceInfo | null): boolean {
    let s = this.byService.get(service);
    if (!s) {
      if (!info) return false;
      s = { applied: new Map(), pending: new Map(), endpoints: new Map() };
      this.byService.set(service, s);
    }
    const wasPending = s.pending.size > 0;
    const applied = s.applied.get(sliceName)?.canonical;
    if (info?.canonical === applied) s.pending.delete(sliceName);
    else s.pending.set(sliceName, info);
    const isPending = s.pending.size > 0;
    this.pendingServices += Number(isPending) - Number(wasPending);
    if (!isPending && s.applied.size === 0) this.byService.delete(service);
    return isPending;
  }

  /** Services with a pending change. */
  pendingCount(): number {
    return this.pendingServices;
  }

  /** Applies the pending slices and returns, per Service that had any, its endpoints before and after. */
  checkout(): EndpointsChange<E>[] {
    const changes: EndpointsChange<E>[] = [];
    for (const [service, s] of this.byService) {
      if (s.pending.size === 0) continue;
      for (const [name, info] of s.pending) {
        if (info) s.applied.set(name, info);
        else s.applied.delete(name);
      }
      s.pending.clear();
      const previous = s.endpoints;
      s.endpoints = this.endpointsOf(service, s.applied, previous);
      changes.push({ service, previous, current: s.endpoints });
      if (s.applied.size === 0) this.byService.delete(service);
    }
    this.pendingServices = 0;
    return changes;
  }

  /** Merges a Service's slices into endpoints per service port, reusing what the mode made before. */
  private endpointsOf(
    service: string,
    slices: Map<string, SliceInfo>,
    before: EndpointsMap<E>,
  ): EndpointsMap<E> {
    const byPort = new Map<string, Map<string, EndpointInfo>>();
    // Slices in name order, so which copy of a duplicated endpoint wins does not depend on event order.
    for (const name of [...slices.keys()].sort()) {
      const info = slices.get(name)!;
      for (const p of info.ports) {
        const portKey = servicePortKey(service, p.name, p.protocol);
        let eps = byPort.get(portKey);
        if (!eps) byPort.set(portKey, (eps = new Map()));
        for (const ep of info.endpoints) {
          const key = endpointKey(ep.ip, p.port);
          const isLocal = this.nodeName !== '' && ep.nodeName === this.nodeName;
          // A duplicate keeps the first copy, unless the later one is local (as upstream).
          if (eps.has(key) && !isLocal) continue;
          const { ip, ready, serving, terminating, zone, nodeName } = ep;
          eps.set(key, { key, ip, port: p.port, ready, serving, terminating, isLocal, zone, nodeName });
        }
      }
    }
    const out: EndpointsMap<E> = new Map();
    for (const [portKey, eps] of byPort) {
      if (eps.size === 0) continue;
      const old = new Map((before.get(portKey) ?? []).map((e) => [e.key, e]));
      const list = [...eps.values()]
        .sort((a, b) => cmp(a.key, b.key))
        .map((base) => {
          const prev = old.get(base.key);
          return prev && sameEndpoint(prev, base) ? prev : this.make(base, portKey);
        });
      out.set(portKey, list);
    }
    return out;
  }
}
