/**
 * The answer to one question, as the Kubernetes DNS-based service discovery specification (the
 * schema CoreDNS's kubernetes plugin serves) gives it, for the zone `cluster.local` by default:
 *
 *   <svc>.<ns>.svc.<zone>                 A/AAAA: the cluster IPs; headless: ready endpoints;
 *                                         ExternalName: CNAME; SRV: one per named port
 *   <ep>.<svc>.<ns>.svc.<zone>            A/AAAA of a headless Service's endpoint (its hostname,
 *                                         else its address with dashes)
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV (ClusterIP: the Service's name and port; headless:
 *                                         each endpoint's name and target port)
 *   <a-b-c-d>.<ns>.pod.<zone>             A of the address in the name (CoreDNS `pods insecure`)
 *   <reversed>.in-addr.arpa / ip6.arpa    PTR of cluster IPs and headless endpoints
 *   dns-version.<zone>                    TXT "1.1.0", the schema version
 *
 * A name that exists with no record of the asked type is NODATA (NOERROR, no answer, the SOA);
 * one that does not exist is NXDOMAIN. Every answer is authoritative with TTL 5 s (CoreDNS's
 * default); negative answers carry the SOA whose minimum is the same 5 s. A name outside the zone
 * and the reverse zones is `outside`: the server decides (it refuses, see README).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { ClusterIndex, DnsService } from './cluster-index.ts';
import { canonicalIp, clusterIPs, dashed } from './cluster-index.ts';

export const DEFAULT_ZONE = 'cluster.local';
export const DEFAULT_TTL = 5;
export const SCHEMA_VERSION = '1.1.0';

export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'SRV' | 'PTR' | 'TXT' | 'SOA' | 'NS';

export interface DnsRecord {
  name: string;
  type: RecordType;
  ttl: number;
  /** A/AAAA: address; CNAME/PTR/NS: a name; TXT: text; SRV and SOA: their fields. */
  data:
    | string
    | { priority: number; weight: number; port: number; target: string }
    | {
        mname: string;
        rname: string;
        serial: number;
        refresh: number;
        retry: number;
        expire: number;
        minimum: number;
      };
}

export type Outcome =
  | { kind: 'answer'; answers: DnsRecord[]; additionals: DnsRecord[] }
  | { kind: 'nodata'; authority: DnsRecord[] }
  | { kind: 'nxdomain'; authority: DnsRecord[] }
  | { kind: 'outside' };

export interface SchemaOptions {
  zone?: string;
  ttl?: number;
}

const norm = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** Answers `type` for `qname` (any case, with or without the final dot). */
export function resolve(qname: string, type: string, index: ClusterIndex, opts: SchemaOptions = {}): Outcome {
  const zone = norm(opts.zone ?? DEFAULT_ZONE);
  const ttl = opts.ttl ?? DEFAULT_TTL;
  const name = norm(qname);
  const ctx: Ctx = { zone, ttl, qname: qname.replace(/\.$/, ''), type, index };
  if (name === zone || name.endsWith(`.${zone}`)) {
    const labels =
      name === zone
        ? []
        : name
            .slice(0, -zone.length - 1)
            .split('.')
            .reverse();
    return inZone(ctx, labels);
  }
  if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) return reverse(ctx, name);
  return { kind: 'outside' };
}

interface Ctx {
  zone: string;
  ttl: number;
  /** The question's name as asked, without the final dot: answers echo its case. */
  qname: string;
  type: string;
  index: ClusterIndex;
}

function soa(ctx: Ctx, apex = ctx.zone): DnsRecord {
  return {
    name: apex,
    type: 'SOA',
    ttl: ctx.ttl,
    data: {
      mname: `ns.dns.${ctx.zone}`,
      rname: `hostmaster.${ctx.zone}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: ctx.ttl,
    },
  };
}

const nodata = (ctx: Ctx, apex?: string): Outcome => ({ kind: 'nodata', authority: [soa(ctx, apex)] });
const nxdomain = (ctx: Ctx, apex?: string): Outcome => ({ kind: 'nxdomain', authority: [soa(ctx, apex)] });

function answer(answers: DnsRecord[], additionals: DnsRecord[] = []): Outcome {
  return { kind: 'answer', answers, additionals };
}

/** A/AAAA records of `ips` matching the question's type; NODATA when none does. */
function addresses(ctx: Ctx, ips: readonly string[]): Outcome {
  const want = ctx.type === 'A' ? isIPv4 : ctx.type === 'AAAA' ? isIPv6 : undefined;
  if (!want) return nodata(ctx);
  const unique = [...new Set(ips.filter((ip) => want(ip)))];
  if (unique.length === 0) return nodata(ctx);
  return answer(
    unique.map((ip) => ({ name: ctx.qname, type: ctx.type as RecordType, ttl: ctx.ttl, data: ip })),
  );
}

function inZone(ctx: Ctx, labels: string[]): Outcome {
  const [top, ns, svcName, ...rest] = labels;
  if (labels.length === 0) {
    if (ctx.type === 'SOA') return answer([{ ...soa(ctx), name: ctx.qname }]);
    if (ctx.type === 'NS')
      return answer([{ name: ctx.qname, type: 'NS', ttl: ctx.ttl, data: `ns.dns.${ctx.zone}` }]);
    return nodata(ctx);
  }
  if (labels.length === 1 && top === 'dns-version') {
    if (ctx.type !== 'TXT') return nodata(ctx);
    return answer([{ name: ctx.qname, type: 'TXT', ttl: ctx.ttl, data: SCHEMA_VERSION }]);
  }
  if (top === 'svc') {
    if (ns === undefined) return nodata(ctx);
    if (!ctx.index.hasNamespace(ns)) return nxdomain(ctx);
    if (svcName === undefined) return nodata(ctx);
    const svc = ctx.index.service(svcName, ns);
    if (!svc) return nxdomain(ctx);
    return serviceName(ctx, svc, rest);
  }
  if (top === 'pod') {
    if (ns === undefined) return nodata(ctx);
    if (svcName === undefined) return ctx.index.hasNamespace(ns) ? nodata(ctx) : nxdomain(ctx);
    const ip = podAddress(svcName);
    if (rest.length > 0 || !ip) return nxdomain(ctx);
    return addresses(ctx, [ip]);
  }
  return nxdomain(ctx);
}

/** `10-244-1-5` -> 10.244.1.5; IPv6 with dashes for colons. */
function podAddress(label: string): string | undefined {
  const v4 = label.replace(/-/g, '.');
  if (isIPv4(v4)) return v4;
  const v6 = label.replace(/-/g, ':');
  return isIPv6(v6) ? v6 : undefined;
}

/** Names at or under `<svc>.<ns>.svc.<zone>`; `rest` are the labels below it, outermost first. */
function serviceName(ctx: Ctx, svc: DnsService, rest: string[]): Outcome {
  if (rest.length === 0) return serviceRecords(ctx, svc);
  if (rest.length === 1 && !rest[0].startsWith('_')) {
    // An endpoint of a headless Service, by hostname or dashed address.
    if (!svc.headless) return nxdomain(ctx);
    const ips = svc.endpoints.filter((e) => e.label === rest[0]).map((e) => e.ip);
    if (ips.length === 0) return nxdomain(ctx);
    return addresses(ctx, ips);
  }
  if (rest[0].startsWith('_') && rest.length <= 2) {
    const proto = rest[0].slice(1);
    const portName = rest[1]?.startsWith('_') ? rest[1].slice(1) : rest[1] === undefined ? undefined : null;
    if (portName === null) return nxdomain(ctx);
    const ports = servicePorts(svc).filter(
      (p) => p.protocol === proto && (portName === undefined || p.name === portName),
    );
    if (ports.length === 0) return nxdomain(ctx);
    if (portName === undefined || ctx.type !== 'SRV') return nodata(ctx);
    return srv(ctx, svc, portName, proto);
  }
  return nxdomain(ctx);
}

function servicePorts(svc: DnsService): { name: string; protocol: string; port: number }[] {
  return (svc.svc.spec.ports ?? [])
    .filter((p) => p.name)
    .map((p) => ({
      name: p.name!.toLowerCase(),
      protocol: (p.protocol ?? 'TCP').toLowerCase(),
      port: p.port,
    }));
}

const fqdn = (ctx: Ctx, svc: DnsService) => `${svc.name}.${svc.namespace}.svc.${ctx.zone}`;

function serviceRecords(ctx: Ctx, svc: DnsService): Outcome {
  const spec = svc.svc.spec;
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) return nodata(ctx);
    return answer([{ name: ctx.qname, type: 'CNAME', ttl: ctx.ttl, data: norm(spec.externalName) }]);
  }
  if (ctx.type === 'SRV') {
    const ports = servicePorts(svc);
    if (ports.length === 0) return nodata(ctx);
    const parts = ports.map((p) => srv(ctx, svc, p.name, p.protocol));
    const answers = parts.flatMap((o) => (o.kind === 'answer' ? o.answers : []));
    const extra = parts.flatMap((o) => (o.kind === 'answer' ? o.additionals : []));
    if (answers.length === 0) return nodata(ctx);
    return answer(answers, dedupe(extra));
  }
  return addresses(ctx, svc.headless ? svc.endpoints.map((e) => e.ip) : clusterIPs(svc.svc));
}

function dedupe(records: DnsRecord[]): DnsRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = `${r.name}\0${r.type}\0${String(r.data)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function addressRecord(ctx: Ctx, name: string, ip: string): DnsRecord {
  return { name, type: isIPv4(ip) ? 'A' : 'AAAA', ttl: ctx.ttl, data: ip };
}

/** SRV for one named port: the Service itself (ClusterIP) or each endpoint (headless). */
function srv(ctx: Ctx, svc: DnsService, portName: string, proto: string): Outcome {
  const base = fqdn(ctx, svc);
  if (!svc.headless) {
    const port = servicePorts(svc).find((p) => p.name === portName && p.protocol === proto);
    if (!port) return nodata(ctx);
    const rec: DnsRecord = {
      name: ctx.qname,
      type: 'SRV',
      ttl: ctx.ttl,
      data: { priority: 0, weight: 100, port: port.port, target: base },
    };
    return answer(
      [rec],
      clusterIPs(svc.svc).map((ip) => addressRecord(ctx, base, ip)),
    );
  }
  const targets = svc.endpoints.flatMap((e) =>
    e.ports.filter((p) => p.name === portName && p.protocol === proto).map((p) => ({ e, port: p.port })),
  );
  if (targets.length === 0) return nodata(ctx);
  const weight = Math.max(1, Math.floor(100 / targets.length));
  const answers = targets.map(({ e, port }) => ({
    name: ctx.qname,
    type: 'SRV' as const,
    ttl: ctx.ttl,
    data: { priority: 0, weight, port, target: `${e.label}.${base}` },
  }));
  return answer(
    answers,
    targets.map(({ e }) => addressRecord(ctx, `${e.label}.${base}`, e.ip)),
  );
}

/** PTR: `4.3.2.1.in-addr.arpa` or 32 nibbles under ip6.arpa, to the address's cluster names. */
function reverse(ctx: Ctx, name: string): Outcome {
  const ip = reverseAddress(name);
  const apex = name.endsWith('.in-addr.arpa') ? 'in-addr.arpa' : 'ip6.arpa';
  if (!ip) return nxdomain(ctx, apex);
  const names = ctx.index.namesOf(ip);
  if (names.length === 0) return nxdomain(ctx, apex);
  if (ctx.type !== 'PTR') return nodata(ctx, apex);
  return answer(names.map((n) => ({ name: ctx.qname, type: 'PTR', ttl: ctx.ttl, data: `${n}.${ctx.zone}` })));
}

function reverseAddress(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p))) return undefined;
    const ip = parts.reverse().join('.');
    return isIPv4(ip) ? ip : undefined;
  }
  const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
  if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
  const hex = nibbles.reverse().join('');
  const ip = hex.match(/.{4}/g)!.join(':');
  return canonicalIp(ip);
}

export { dashed };
