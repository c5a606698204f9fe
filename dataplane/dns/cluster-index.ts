/**
 * What the cluster DNS knows, indexed for lookups: Services by name, their endpoints (from the
 * EndpointSlices labelled with the Service's name), the namespaces that hold a Service, and the
 * reverse map from an address to the names it has. Built from plain lists (the informers' caches
 * or a test's objects) in one pass; the server rebuilds it lazily after a change, so a burst of
 * events costs one rebuild.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { EndpointSlice, Service } from '../api/types.ts';
import { LABEL_SERVICE_NAME } from '../api/types.ts';

export interface DnsEndpoint {
  ip: string;
  /** The label under the Service's name: the endpoint's hostname, else its address with dashes. */
  label: string;
  /** Whether the endpoint has a hostname of its own (pod hostname + subdomain). */
  named: boolean;
  ports: { name: string; protocol: string; port: number }[];
}

export interface DnsService {
  name: string;
  namespace: string;
  svc: Service;
  headless: boolean;
  /** Endpoints a lookup answers with: ready ones, or all with publishNotReadyAddresses. */
  endpoints: DnsEndpoint[];
}

/** The label an address gets as an endpoint name: `10-244-1-5`, or an IPv6 address with dashes. */
export function dashed(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

export function isHeadless(svc: Service): boolean {
  return svc.spec.clusterIP === 'None';
}

/** The Service's cluster IPs (both families), none for headless and ExternalName Services. */
export function clusterIPs(svc: Service): string[] {
  const ips = svc.spec.clusterIPs?.length
    ? svc.spec.clusterIPs
    : svc.spec.clusterIP
      ? [svc.spec.clusterIP]
      : [];
  return ips.filter((ip) => isIPv4(ip) || isIPv6(ip));
}

export class ClusterIndex {
  private readonly services = new Map<string, DnsService>();
  private readonly namespaces = new Set<string>();
  /** Address -> names (without the zone), for PTR. */
  private readonly reverse = new Map<string, string[]>();

  constructor(services: readonly Service[], slices: readonly EndpointSlice[]) {
    for (const svc of services) {
      const name = svc.metadata.name?.toLowerCase();
      const namespace = svc.metadata.namespace?.toLowerCase();
      if (!name || !namespace) continue;
      this.namespaces.add(namespace);
      this.services.set(`${name}.${namespace}`, {
        name,
        namespace,
        svc,
        headless: isHeadless(svc),
        endpoints: [],
      });
      if (svc.spec.type !== 'ExternalName') {
        for (const ip of clusterIPs(svc)) this.addReverse(ip, `${name}.${namespace}.svc`);
      }
    }
    for (const slice of slices) this.addSlice(slice);
  }

  private addReverse(ip: string, name: string): void {
    const key = canonicalIp(ip);
    const names = this.reverse.get(key) ?? [];
    if (!names.includes(name)) names.push(name);
    this.reverse.set(key, names);
  }

  private addSlice(slice: EndpointSlice): void {
    const owner = slice.metadata.labels?.[LABEL_SERVICE_NAME]?.toLowerCase();
    const namespace = slice.metadata.namespace?.toLowerCase();
    if (!owner || !namespace || slice.addressType === 'FQDN') return;
    const entry = this.services.get(`${owner}.${namespace}`);
    if (!entry) return;
    const publishAll = entry.svc.spec.publishNotReadyAddresses === true;
    const ports = (slice.ports ?? [])
      .filter((p) => p.name && typeof p.port === 'number')
      .map((p) => ({
        name: p.name!.toLowerCase(),
        protocol: (p.protocol ?? 'TCP').toLowerCase(),
        port: p.port!,
      }));
    for (const ep of slice.endpoints ?? []) {
      // Ready, as upstream reads it: a missing condition counts as ready.
      if (!publishAll && ep.conditions?.ready === false) continue;
      for (const ip of ep.addresses ?? []) {
        if (!isIPv4(ip) && !isIPv6(ip)) continue;
        const hostname =
          typeof ep.hostname === 'string' && ep.hostname ? ep.hostname.toLowerCase() : undefined;
        const label = hostname ?? dashed(ip);
        entry.endpoints.push({ ip, label, named: hostname !== undefined, ports });
        if (entry.headless) this.addReverse(ip, `${label}.${entry.name}.${namespace}.svc`);
      }
    }
  }

  service(name: string, namespace: string): DnsService | undefined {
    return this.services.get(`${name}.${namespace}`);
  }

  hasNamespace(namespace: string): boolean {
    return this.namespaces.has(namespace);
  }

  /** Names (without the zone) of an address: Services' cluster IPs, headless endpoints. */
  namesOf(ip: string): string[] {
    return this.reverse.get(canonicalIp(ip)) ?? [];
  }
}

/** One spelling per address, so `::1` and `0:0::1` meet in the reverse map. */
export function canonicalIp(ip: string): string {
  if (!isIPv6(ip)) return ip;
  return expandIPv6(ip).replace(/\b0+(?=[0-9a-f])/g, '');
}

/** The 8 groups of an IPv6 address, each 4 hex digits. */
export function expandIPv6(ip: string): string {
  let text = ip.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}
