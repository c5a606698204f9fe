/**
 * The emulated cluster's topology as pure data, and the one function that turns what a user gave
 * (TypeScript object, CLI flags or YAML, see topology-parse.ts) into a complete Topology with
 * defaults filled in, or rejects it with KDP_ERR_TOPOLOGY_INVALID listing every problem at once,
 * each naming its field and the bad value. Names and addresses derived from a Topology live in
 * topology-names.ts and topology-addresses.ts; nothing here touches the system.
 */
import { KdpError } from '../errors.ts';
import { cidrsOverlap, isNetworkCidr, parseIpv4Cidr, subnetCount } from '../kernel/cidr.ts';
import { overlayBackendNames } from '../overlay/backends/registry.ts';
import { overlayEngineProblem } from '../overlay/options.ts';
import { proxyModeNames, resolveModeFlags } from '../proxy/modes.ts';
import { TOPOLOGY_POD_NAMESPACE, podVethName } from './topology-names.ts';

/** A proxy mode's name, as the registry has them (proxy/modes.ts). */
export type ProxyMode = string;
/** An overlay backend's name, as the registry has them (overlay/backends/registry.ts). */
export type OverlayBackend = string;

export const TOPOLOGY_INVALID = 'KDP_ERR_TOPOLOGY_INVALID';

export const MAX_NODES = 250;
export const MIN_MTU = 576;
export const MAX_MTU = 9000;
/**
 * Cluster names go into namespace names, process titles (`kdp:<cluster>:<role>`) and the state
 * directory /run/kdp/<cluster>/, whose unix sockets must stay under the 108-byte sun_path limit.
 */
export const MAX_CLUSTER_NAME_LENGTH = 20;

export interface NodePortRange {
  min: number;
  max: number;
}

export interface TopologyNode {
  /** 1-based; names the node's namespace (kdp-<cluster>-node-<index>) and picks its addresses. */
  index: number;
  /** The Kubernetes Node name. */
  name: string;
  /** Names of the pods the builder creates on this node (Kubernetes namespace "default"). */
  pods: string[];
}

export interface Topology {
  cluster: string;
  underlayCidr: string;
  podCidr: string;
  /** Size of each node's pod CIDR (--node-cidr-mask-size in kube-controller-manager). */
  nodeCidrMaskSize: number;
  serviceCidr: string;
  nodePortRange: NodePortRange;
  mtu: number;
  proxyMode: ProxyMode;
  /** The proxy mode's own flags as given (`{ 'iptables-backend': 'legacy' }`); absent: its defaults. */
  proxyModeFlags?: Readonly<Record<string, string>>;
  overlay: OverlayBackend;
  /** The overlay's engine (overlay/options.ts: udp's batched, baseline or batched-no-offload); absent: the backend's default. */
  overlayEngine?: string;
  /** The apiserver refuses every new Service externalIP (upstream's DenyServiceExternalIPs). */
  denyServiceExternalIPs?: boolean;
  /** false: no cluster DNS (`kdp up --dns=false`); absent: the kube-dns Service and its pods. */
  dns?: false;
  nodes: TopologyNode[];
}

export interface NodeInput {
  name?: string;
  /** A count, or the pod names. Defaults to the topology's podsPerNode. */
  pods?: number | string[];
}

/** What a user may give; every field is optional. Unknown fields are rejected. */
export interface TopologyInput {
  cluster?: string;
  nodes?: number | NodeInput[];
  podsPerNode?: number;
  underlayCidr?: string;
  podCidr?: string;
  nodeCidrMaskSize?: number;
  serviceCidr?: string;
  nodePortRange?: string | NodePortRange;
  mtu?: number;
  proxyMode?: ProxyMode;
  proxyModeFlags?: Record<string, string>;
  overlay?: OverlayBackend;
  overlayEngine?: string;
  denyServiceExternalIPs?: boolean;
  /** Cluster DNS (dataplane/dns) behind the kube-dns Service; default true. */
  dns?: boolean;
}

export const TOPOLOGY_DEFAULTS = {
  cluster: 'default',
  nodes: 2,
  podsPerNode: 2,
  underlayCidr: '198.18.0.0/16',
  podCidr: '10.244.0.0/16',
  nodeCidrMaskSize: 24,
  serviceCidr: '10.96.0.0/16',
  nodePortRange: { min: 30000, max: 32767 },
  mtu: 1500,
  proxyMode: 'iptables',
  overlay: 'host-gw',
} as const satisfies Required<
  Omit<TopologyInput, 'nodes' | 'overlayEngine' | 'denyServiceExternalIPs' | 'proxyModeFlags' | 'dns'>
> & {
  nodes: number;
};

const TOP_LEVEL_FIELDS = new Set<string>([
  ...Object.keys(TOPOLOGY_DEFAULTS),
  'overlayEngine',
  'denyServiceExternalIPs',
  'proxyModeFlags',
  'dns',
]);
const NODE_FIELDS = new Set(['name', 'pods']);
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** A valid Node or Pod name: a DNS subdomain of at most 253 characters. */
export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

export interface TopologyProblem {
  field: string;
  message: string;
}

/** A value as it appears in a problem message: numbers bare, strings quoted, the rest as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

export function topologyError(problems: TopologyProblem[], cause?: unknown): KdpError {
  const lines = problems.map((p) => `${p.field}: ${p.message}`);
  return new KdpError(TOPOLOGY_INVALID, `invalid topology: ${lines.join('; ')}`, {
    cause,
    details: { problems },
  });
}

class Problems {
  readonly list: TopologyProblem[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  integer(field: string, value: unknown, min: number, max: number): number | undefined {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.add(field, `must be an integer from ${min} to ${max}, got ${show(value)}`);
    return undefined;
  }
  cidr(field: string, value: unknown, example: string): string | undefined {
    if (typeof value === 'string' && isNetworkCidr(value)) return value;
    this.add(field, `must be an IPv4 network CIDR like ${example}, got ${show(value)}`);
    return undefined;
  }
  oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T | undefined {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.add(field, `must be one of ${allowed.join(', ')}, got ${show(value)}`);
    return undefined;
  }
}

/** The mode's flags as given, if they are a mapping of strings the mode accepts. */
function checkModeFlags(
  p: Problems,
  mode: string | undefined,
  value: unknown,
): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const entries =
    typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value) : [];
  if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string')) {
    p.add('proxyModeFlags', `must be a mapping of the proxy mode's flags to values, got ${show(value)}`);
    return undefined;
  }
  const flags = Object.fromEntries(entries) as Record<string, string>;
  if (mode === undefined) return undefined;
  try {
    resolveModeFlags(mode, flags);
  } catch (e) {
    p.add('proxyModeFlags', (e as Error).message);
    return undefined;
  }
  return flags;
}

function checkCluster(p: Problems, value: unknown): string | undefined {
  if (typeof value === 'string' && value.length <= MAX_CLUSTER_NAME_LENGTH && DNS_LABEL.test(value))
    return value;
  p.add(
    'cluster',
    `must be a DNS label (lowercase letters, digits and '-') of at most ${MAX_CLUSTER_NAME_LENGTH} characters, got ${show(value)}`,
  );
  return undefined;
}

function checkPortRange(p: Problems, value: unknown): NodePortRange | undefined {
  let range: { min: unknown; max: unknown } | undefined;
  if (typeof value === 'string') {
    const m = /^(\d+)-(\d+)$/.exec(value.trim());
    if (m) range = { min: Number(m[1]), max: Number(m[2]) };
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    range = value as { min: unknown; max: unknown };
  }
  const ok = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
  if (range && ok(range.min) && ok(range.max) && range.min <= range.max)
    return { min: range.min, max: range.max };
  p.add('nodePortRange', `must be a port range MIN-MAX within 1-65535 like 30000-32767, got ${show(value)}`);
  return undefined;
}

/** The node list before per-node checks: from a count or from the explicit entries. */
function nodeEntries(p: Problems, value: unknown): NodeInput[] | undefined {
  if (Array.isArray(value)) {
    if (value.length < 1 || value.length > MAX_NODES) {
      p.add('nodes', `must list from 1 to ${MAX_NODES} nodes, got ${value.length}`);
      return undefined;
    }
    return value.map((entry, i) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        p.add(`nodes[${i}]`, `must be an object with optional name and pods, got ${show(entry)}`);
        return {};
      }
      for (const k of Object.keys(entry)) if (!NODE_FIELDS.has(k)) p.add(`nodes[${i}].${k}`, 'unknown field');
      return entry as NodeInput;
    });
  }
  const count = p.integer('nodes', value, 1, MAX_NODES);
  return count === undefined ? undefined : Array.from({ length: count }, () => ({}));
}

function resolveNodes(
  p: Problems,
  entries: NodeInput[],
  podsPerNode: number,
  maxPods: number,
): TopologyNode[] {
  const nodeNames = new Set<string>();
  const podNames = new Set<string>();
  return entries.map((entry, i) => {
    const index = i + 1;
    const field = `nodes[${i}]`;
    let name = `node-${index}`;
    if (entry.name !== undefined) {
      if (typeof entry.name === 'string' && isDnsSubdomain(entry.name)) name = entry.name;
      else
        p.add(
          `${field}.name`,
          `must be a DNS subdomain (lowercase letters, digits, '-', '.'), got ${show(entry.name)}`,
        );
    }
    if (nodeNames.has(name)) p.add(`${field}.name`, `duplicate node name ${show(name)}`);
    nodeNames.add(name);
    let pods: string[] = [];
    const given: unknown = entry.pods ?? podsPerNode;
    if (Array.isArray(given)) {
      if (given.length > maxPods)
        p.add(`${field}.pods`, `must list at most ${maxPods} pods, got ${given.length}`);
      given.forEach((pod, j) => {
        if (typeof pod === 'string' && isDnsSubdomain(pod)) pods.push(pod);
        else p.add(`${field}.pods[${j}]`, `must be a DNS subdomain pod name, got ${show(pod)}`);
      });
    } else {
      const count = p.integer(entry.pods === undefined ? 'podsPerNode' : `${field}.pods`, given, 0, maxPods);
      pods = Array.from({ length: count ?? 0 }, (_, j) => `pod-${index}-${j + 1}`);
    }
    const veths = new Map<string, string>();
    for (const pod of pods) {
      if (podNames.has(pod)) p.add(`${field}.pods`, `duplicate pod name ${show(pod)}`);
      podNames.add(pod);
      // Node-side veth names are 32-bit hashes; two pods of one node must not share one.
      const veth = podVethName(TOPOLOGY_POD_NAMESPACE, pod);
      const other = veths.get(veth);
      if (other !== undefined && other !== pod)
        p.add(
          `${field}.pods`,
          `pods ${show(other)} and ${show(pod)} both map to interface ${veth}; rename one`,
        );
      veths.set(veth, pod);
    }
    return { index, name, pods };
  });
}

/** Fills defaults and validates; throws KDP_ERR_TOPOLOGY_INVALID naming every bad field. */
export function resolveTopology(input: unknown = {}): Topology {
  const p = new Problems();
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw topologyError([{ field: '(topology)', message: `must be an object, got ${show(input)}` }]);
  }
  const raw = input as Record<string, unknown>;
  for (const k of Object.keys(raw)) {
    if (TOP_LEVEL_FIELDS.has(k)) continue;
    const camel = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    p.add(k, TOP_LEVEL_FIELDS.has(camel) ? `unknown field (did you mean ${camel}?)` : 'unknown field');
  }
  const get = <K extends keyof typeof TOPOLOGY_DEFAULTS>(k: K): unknown => raw[k] ?? TOPOLOGY_DEFAULTS[k];

  const cluster = checkCluster(p, get('cluster'));
  const underlayCidr = p.cidr('underlayCidr', get('underlayCidr'), TOPOLOGY_DEFAULTS.underlayCidr);
  const podCidr = p.cidr('podCidr', get('podCidr'), TOPOLOGY_DEFAULTS.podCidr);
  const serviceCidr = p.cidr('serviceCidr', get('serviceCidr'), TOPOLOGY_DEFAULTS.serviceCidr);
  const podPrefix = podCidr ? parseIpv4Cidr(podCidr)!.prefix : 0;
  const nodeCidrMaskSize = p.integer('nodeCidrMaskSize', get('nodeCidrMaskSize'), Math.max(podPrefix, 8), 30);
  const nodePortRange = checkPortRange(p, get('nodePortRange'));
  const mtu = p.integer('mtu', get('mtu'), MIN_MTU, MAX_MTU);
  const proxyMode = p.oneOf('proxyMode', get('proxyMode'), proxyModeNames());
  const proxyModeFlags = checkModeFlags(p, proxyMode, raw.proxyModeFlags);
  const overlay = p.oneOf('overlay', get('overlay'), overlayBackendNames());
  const overlayEngine = raw.overlayEngine;
  if (overlayEngine !== undefined && typeof overlayEngine !== 'string')
    p.add('overlayEngine', `must be an engine name, got ${show(overlayEngine)}`);
  const engineProblem =
    overlay && typeof overlayEngine === 'string' ? overlayEngineProblem(overlay, overlayEngine) : undefined;
  if (engineProblem) p.add('overlayEngine', engineProblem);
  const denyExternalIPs = raw.denyServiceExternalIPs;
  if (denyExternalIPs !== undefined && typeof denyExternalIPs !== 'boolean')
    p.add('denyServiceExternalIPs', `must be true or false, got ${show(denyExternalIPs)}`);

  const dns = raw.dns;
  if (dns !== undefined && typeof dns !== 'boolean') p.add('dns', `must be true or false, got ${show(dns)}`);

  if (serviceCidr) {
    const prefix = parseIpv4Cidr(serviceCidr)!.prefix;
    if (prefix < 12 || prefix > 30)
      p.add('serviceCidr', `prefix must be from /12 to /30, got ${show(serviceCidr)}`);
  }
  const ranges: [string, string | undefined][] = [
    ['underlayCidr', underlayCidr],
    ['podCidr', podCidr],
    ['serviceCidr', serviceCidr],
  ];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [fa, a] = ranges[i];
      const [fb, b] = ranges[j];
      if (a && b && cidrsOverlap(a, b)) p.add(fb, `${show(b)} overlaps ${fa} ${show(a)}`);
    }
  }

  // Pods get .2 and up of their node's subnet: .0 is the network, .1 the node's bridge, the last broadcast.
  // With a bad mask, count against the default one rather than pile up follow-on problems.
  const maxPods = 2 ** (32 - (nodeCidrMaskSize ?? TOPOLOGY_DEFAULTS.nodeCidrMaskSize)) - 3;
  const podsPerNode = p.integer('podsPerNode', get('podsPerNode'), 0, maxPods);
  const entries = nodeEntries(p, get('nodes'));
  const nodes = entries ? resolveNodes(p, entries, podsPerNode ?? 0, maxPods) : [];
  if (entries && podCidr && nodeCidrMaskSize) {
    const subnets = subnetCount(podCidr, nodeCidrMaskSize);
    if (entries.length > subnets)
      p.add(
        'nodes',
        `${entries.length} nodes need ${entries.length} /${nodeCidrMaskSize} subnets but podCidr ${show(podCidr)} has ${subnets}`,
      );
  }
  if (entries && underlayCidr) {
    const hosts = 2 ** (32 - parseIpv4Cidr(underlayCidr)!.prefix) - 2;
    if (entries.length > hosts)
      p.add('underlayCidr', `${show(underlayCidr)} has ${hosts} addresses for ${entries.length} nodes`);
  }

  if (p.list.length > 0) throw topologyError(p.list);
  return {
    cluster: cluster!,
    underlayCidr: underlayCidr!,
    podCidr: podCidr!,
    nodeCidrMaskSize: nodeCidrMaskSize!,
    serviceCidr: serviceCidr!,
    nodePortRange: nodePortRange!,
    mtu: mtu!,
    proxyMode: proxyMode!,
    ...(proxyModeFlags ? { proxyModeFlags } : {}),
    overlay: overlay!,
    ...(typeof overlayEngine === 'string' ? { overlayEngine } : {}),
    ...(denyExternalIPs === true ? { denyServiceExternalIPs: true } : {}),
    ...(dns === false ? { dns: false as const } : {}),
    nodes,
  };
}
