/**
 * The service proxy's view of the world, shared by every proxy mode: one ServicePortInfo per port
 * of a proxied Service and one EndpointInfo per backend address of it, reduced from Service and
 * EndpointSlice objects to the fields kube-proxy acts on (so that two objects that differ only in
 * fields nobody programs compare equal, and the trackers can drop them as no-op changes).
 *
 * A mode extends both through factories (`makeServicePort(base) => S`, `makeEndpoint(base) => E`)
 * to keep its own derived data next to them, computed once per change rather than once per sync:
 * the iptables mode its hashed chain names, an IPVS mode its virtual-server keys.
 */
import { isIPv4, isIPv6 } from 'node:net';
import {
  LABEL_SERVICE_NAME,
  type EndpointSlice,
  type Protocol,
  type Service,
  type ServiceType,
} from '../api/types.ts';

export type IPFamily = 'IPv4' | 'IPv6';

/** A Service, by its namespace and name: `ns/name`. */
export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * Upstream's ServicePortName string: `ns/name:port`, or `ns/name` for an unnamed port. kube-proxy
 * hashes it (with the protocol) into chain names and prints it in rule comments.
 */
export function servicePortId(service: string, portName: string): string {
  return portName ? `${service}:${portName}` : service;
}

/** The key of a ServicePortMap and EndpointsMap entry: `ns/name:port/PROTOCOL`. */
export function servicePortKey(service: string, portName: string, protocol: Protocol): string {
  return `${servicePortId(service, portName)}/${protocol}`;
}

/** One port of one proxied Service, as every mode programs it. */
export interface ServicePortInfo {
  /** `ns/name:port/PROTOCOL`: the ServicePortMap and EndpointsMap key. */
  readonly key: string;
  /** Upstream's ServicePortName string (`ns/name:port`, `ns/name` when unnamed). */
  readonly id: string;
  /** `ns/name` of the Service: what the trackers report as updated. */
  readonly service: string;
  readonly namespace: string;
  readonly serviceName: string;
  /** '' for an unnamed port. */
  readonly portName: string;
  readonly protocol: Protocol;
  readonly type: ServiceType;
  /** The ClusterIP of the proxier's IP family. */
  readonly clusterIP: string;
  readonly port: number;
  /** As the Service says (number or container port name); endpoints carry the resolved number. */
  readonly targetPort: number | string;
  /** 0 when the port has none. */
  readonly nodePort: number;
  /** Of the proxier's IP family. */
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress IPs in VIP mode, of the proxier's IP family. */
  readonly loadBalancerIPs: readonly string[];
  /** sessionAffinity ClientIP. */
  readonly sessionAffinityClientIP: boolean;
  /** The ClientIP affinity timeout; 0 without affinity. */
  readonly stickyMaxAgeSeconds: number;
  /** externalTrafficPolicy Local on an externally accessible Service. */
  readonly externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local. */
  readonly internalPolicyLocal: boolean;
  /** For LoadBalancer Services with externalTrafficPolicy Local; 0 otherwise. */
  readonly healthCheckNodePort: number;
  /** False for Services whose endpoints someone writes by hand. */
  readonly hasSelector: boolean;
  /** Reachable other than by ClusterIP: a node port, an external IP or a load balancer IP. */
  readonly externallyAccessible: boolean;
  /** Ever sends traffic by the Cluster policy (internal Cluster, or any external traffic). */
  readonly usesClusterEndpoints: boolean;
  /** Ever sends traffic by the Local policy. */
  readonly usesLocalEndpoints: boolean;
}

/** One backend of one service port. */
export interface EndpointInfo {
  /** `ip:port` (`[ip]:port` for IPv6): unique within a service port. */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  /** Ready and not terminating (or published regardless, with publishNotReadyAddresses). */
  readonly ready: boolean;
  /** Ready, whether terminating or not. */
  readonly serving: boolean;
  readonly terminating: boolean;
  /** On this proxier's node. */
  readonly isLocal: boolean;
  /** '' when unknown. */
  readonly zone: string;
  /** '' when unknown. */
  readonly nodeName: string;
}

export type ServicePortMap<S extends ServicePortInfo = ServicePortInfo> = Map<string, S>;
export type EndpointsMap<E extends EndpointInfo = EndpointInfo> = Map<string, readonly E[]>;

export type MakeServicePort<S extends ServicePortInfo> = (base: ServicePortInfo) => S;
/**
 * `servicePort` is the key (`ns/name:port/PROTOCOL`) of the service port the endpoint belongs to:
 * per-endpoint kernel state is usually named after both (the iptables mode's KUBE-SEP chains).
 */
export type MakeEndpoint<E extends EndpointInfo> = (base: EndpointInfo, servicePort: string) => E;

/**
 * Protocols whose conntrack entries outlive their backend: a UDP "connection" (and an SCTP
 * association) keeps the 5-tuple's DNAT to a removed endpoint, so the client's next datagram goes
 * nowhere until the entry is deleted. Upstream cleans UDP only; kdp also cleans SCTP.
 */
export const CONNTRACK_CLEANUP_PROTOCOLS: ReadonlySet<Protocol> = new Set(['UDP', 'SCTP']);

/** Default ClientIP affinity timeout (3 hours), as the apiserver defaults it. */
const DEFAULT_STICKY_SECONDS = 10800;

/**
 * The family of an address, or undefined for anything that is not one: objects may come from a
 * cluster that did not validate them, and an address is written into rules verbatim, so a string
 * such as `10.0.0.1 -j ACCEPT` must match no family and never be programmed.
 */
export function ipFamilyOf(ip: string): IPFamily | undefined {
  return isIPv4(ip) ? 'IPv4' : isIPv6(ip) ? 'IPv6' : undefined;
}

/** The protocols a Service or slice port may name (anything else is never programmed). */
export const PORT_PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);

/** A port number a rule may carry (0 allowed where it means "none"). */
export function isPortNumber(n: unknown, allowZero = false): n is number {
  return Number.isInteger(n) && (n as number) <= 65535 && ((n as number) >= 1 || (allowZero && n === 0));
}

/** Headless and ExternalName Services are never proxied (upstream's ShouldSkipService). */
export function shouldSkipService(svc: Service): boolean {
  const ip = svc.spec.clusterIP;
  return !ip || ip === 'None' || svc.spec.type === 'ExternalName';
}

function clusterIPOfFamily(svc: Service, family: IPFamily): string {
  const ips = svc.spec.clusterIPs?.length ? svc.spec.clusterIPs : [svc.spec.clusterIP ?? ''];
  return ips.find((ip) => ip && ip !== 'None' && ipFamilyOf(ip) === family) ?? '';
}

/** upstream's apiservice.ExternallyAccessible: the Service type (or its external IPs) lets outside traffic in. */
function serviceExternallyAccessible(svc: Service): boolean {
  const t = svc.spec.type ?? 'ClusterIP';
  return t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && !!svc.spec.externalIPs?.length);
}

function loadBalancerVIPs(svc: Service, family: IPFamily): string[] {
  const out: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    // ipMode Proxy: the load balancer proxies to the node, so kube-proxy must not capture its IP.
    if (!ing.ip || (ing as { ipMode?: string }).ipMode === 'Proxy') continue;
    if (ipFamilyOf(ing.ip) === family) out.push(ing.ip);
  }
  return out;
}

/**
 * The ServicePortInfos of a Service for a proxier of one IP family; none when the Service is not
 * proxied (headless, ExternalName, or without a ClusterIP of that family).
 */
export function servicePortsOf(svc: Service, family: IPFamily = 'IPv4'): ServicePortInfo[] {
  if (shouldSkipService(svc)) return [];
  const clusterIP = clusterIPOfFamily(svc, family);
  if (!clusterIP) return [];
  const spec = svc.spec;
  const namespace = svc.metadata.namespace ?? '';
  const serviceName = svc.metadata.name ?? '';
  const service = serviceKey(namespace, serviceName);
  const type = spec.type ?? 'ClusterIP';
  const affinity = spec.sessionAffinity === 'ClientIP';
  const externalPolicyLocal = serviceExternallyAccessible(svc) && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const externalIPs = (spec.externalIPs ?? []).filter((ip) => ipFamilyOf(ip) === family);
  const loadBalancerIPs = loadBalancerVIPs(svc, family);
  const healthCheckNodePort =
    type === 'LoadBalancer' && externalPolicyLocal ? (spec.healthCheckNodePort ?? 0) : 0;
  // Ports a rule could not carry as written (not a number, an unknown protocol) are not proxied.
  const ports = (spec.ports ?? []).filter(
    (p) =>
      isPortNumber(p.port) &&
      isPortNumber(p.nodePort ?? 0, true) &&
      PORT_PROTOCOLS.has(p.protocol ?? 'TCP') &&
      (typeof p.targetPort !== 'number' || isPortNumber(p.targetPort)),
  );
  return ports.map((p) => {
    const portName = p.name ?? '';
    const protocol = p.protocol ?? 'TCP';
    const nodePort = p.nodePort ?? 0;
    const externallyAccessible = nodePort !== 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0;
    return {
      key: servicePortKey(service, portName, protocol),
      id: servicePortId(service, portName),
      service,
      namespace,
      serviceName,
      portName,
      protocol,
      type,
      clusterIP,
      port: p.port,
      targetPort: p.targetPort ?? p.port,
      nodePort,
      externalIPs,
      loadBalancerIPs,
      sessionAffinityClientIP: affinity,
      stickyMaxAgeSeconds: affinity
        ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_STICKY_SECONDS)
        : 0,
      externalPolicyLocal,
      internalPolicyLocal,
      healthCheckNodePort,
      hasSelector: !!spec.selector && Object.keys(spec.selector).length > 0,
      externallyAccessible,
      usesClusterEndpoints: !internalPolicyLocal || externallyAccessible,
      usesLocalEndpoints: internalPolicyLocal || (externalPolicyLocal && externallyAccessible),
    };
  });
}

const SERVICE_PORT_FIELDS = [
  'key',
  'type',
  'clusterIP',
  'port',
  'targetPort',
  'nodePort',
  'sessionAffinityClientIP',
  'stickyMaxAgeSeconds',
  'externalPolicyLocal',
  'internalPolicyLocal',
  'healthCheckNodePort',
  'hasSelector',
] as const satisfies readonly (keyof ServicePortInfo)[];

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Equal in every base field (a mode's derived fields follow from them). */
export function sameServicePort(a: ServicePortInfo, b: ServicePortInfo): boolean {
  return (
    SERVICE_PORT_FIELDS.every((f) => a[f] === b[f]) &&
    sameList(a.externalIPs, b.externalIPs) &&
    sameList(a.loadBalancerIPs, b.loadBalancerIPs)
  );
}

/** Equal in every base field. */
export function sameEndpoint(a: EndpointInfo, b: EndpointInfo): boolean {
  return (
    a.key === b.key &&
    a.ready === b.ready &&
    a.serving === b.serving &&
    a.terminating === b.terminating &&
    a.isLocal === b.isLocal &&
    a.zone === b.zone &&
    a.nodeName === b.nodeName
  );
}

export function endpointKey(ip: string, port: number): string {
  return ipFamilyOf(ip) === 'IPv6' ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The Service an EndpointSlice belongs to (`ns/name`), from its kubernetes.io/service-name label. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const name = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  const ns = slice.metadata.namespace;
  return name && ns && slice.metadata.name ? serviceKey(ns, name) : undefined;
}
