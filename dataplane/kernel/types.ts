/**
 * The data the kernel layer speaks: what a link, address and route look like when listed, what
 * a route or veth pair looks like when asked for, and the operations (NetOp) that every write
 * becomes. Reads and writes use the same shapes in the real implementation and the fakes.
 */

/** Routing table numbers as the kernel has them. */
export const RT_TABLE = { default: 253, main: 254, local: 255 } as const;

export interface LinkInfo {
  name: string;
  /** 'veth', 'bridge', 'vxlan', 'loopback', ... or 'device' for a link without a kind. */
  kind: string;
  mtu: number;
  /** Administratively up (IFF_UP), whether or not it has carrier. */
  up: boolean;
  master?: string;
  /** Its MAC address (aa:bb:cc:dd:ee:ff), when it has one. */
  address?: string;
  /** A vxlan link's parameters. */
  vxlan?: VxlanInfo;
}

/** What a vxlan link is: its VNI, where it sends from, its UDP port and whether it learns MACs. */
export interface VxlanInfo {
  vni: number;
  /** The source address of its encapsulated packets. */
  local?: string;
  /** The underlay link its packets leave by. */
  dev?: string;
  port: number;
  learning: boolean;
}

/**
 * A vxlan link as flannel's vxlan backend makes one: MAC learning off (`nolearning`), peers'
 * VTEPs reached through FDB entries the backend programs, encapsulated packets sent from `local`
 * out of `dev` to UDP port `port` (flannel uses 8472, the Linux default; IANA's is 4789).
 */
export interface VxlanSpec {
  ns: string;
  name: string;
  vni: number;
  local: string;
  dev: string;
  port: number;
  mtu?: number;
  /** A fixed MAC address, so that peers' entries for it survive a re-creation. */
  address?: string;
}

/**
 * A static forwarding entry of a vxlan link (`bridge fdb ... self permanent`): frames for
 * `lladdr` are encapsulated to the VTEP at `dst`.
 */
export interface FdbSpec {
  dev: string;
  lladdr: string;
  dst: string;
}

/** An FDB entry as listed; `dst` only on tunnel links, `state` lowercase ('permanent', ...). */
export interface FdbInfo {
  dev: string;
  lladdr: string;
  dst?: string;
  state: string;
}

export interface AddressInfo {
  dev: string;
  /** Interface address with its prefix: 10.244.1.1/24. */
  cidr: string;
}

export interface RouteSpec {
  /** 'default', a CIDR, or a bare address (a /32). */
  dst: string;
  via?: string;
  dev?: string;
  /** Preferred source address. */
  src?: string;
  /** Table number; main (254) when not given. */
  table?: number;
  metric?: number;
  /** The gateway is on this link even though no subnet says so. */
  onlink?: boolean;
}

export interface RouteInfo extends RouteSpec {
  table: number;
  /** 'unicast', 'local', 'broadcast', ... */
  type: string;
  protocol?: string;
  scope?: string;
}

/**
 * A permanent neighbour (ARP) entry: `ip` is at `lladdr` on `dev`. kdp makes only permanent
 * entries: they never expire, and on Linux 4.20 and later they do not count against the
 * neighbour table's gc_thresh limits, which every namespace of the host shares.
 */
export interface NeighbourSpec {
  ip: string;
  dev: string;
  lladdr: string;
}

/** What names a neighbour entry: its address on a link. */
export type NeighbourKey = Pick<NeighbourSpec, 'ip' | 'dev'>;

export interface NeighbourInfo {
  ip: string;
  dev: string;
  /** Absent while unresolved (incomplete, failed). */
  lladdr?: string;
  /** The NUD state as iproute2 shows it, lowercase: 'permanent', 'reachable', 'stale', ... */
  state: string;
}

export interface VethSpec {
  /** Namespace the first end is created in. */
  ns: string;
  name: string;
  /** Namespace the peer end is created in (may be the same as `ns`). */
  peerNs: string;
  peerName: string;
  mtu?: number;
}

export interface LinkChange {
  up?: boolean;
  /**
   * A fixed MAC address (aa:bb:cc:dd:ee:ff). A bridge given one keeps it; without one it takes
   * its lowest port's, and changes whenever that port leaves, which strands neighbours' ARP entries.
   */
  address?: string;
  /** A bridge to enslave the link to; null releases it. */
  master?: string | null;
  mtu?: number;
  /**
   * Hairpin mode of a bridge port: frames may leave by the port they came in on (a pod reaching
   * itself through a Service, as the CNI bridge plugin's hairpinMode). Set in a change of its
   * own, once the link is a port of its bridge: the kernel refuses it otherwise.
   */
  hairpin?: boolean;
}

/** One write to a namespace. Every facility method and every plan step is one of these. */
export type NetOp =
  | { kind: 'bridge.add'; ns: string; name: string; mtu?: number }
  | ({ kind: 'veth.add' } & VethSpec)
  | ({ kind: 'vxlan.add' } & VxlanSpec)
  | ({ kind: 'link.set'; ns: string; name: string } & LinkChange)
  | { kind: 'link.move'; ns: string; name: string; targetNs: string }
  | { kind: 'link.delete'; ns: string; name: string }
  | { kind: 'addr.add' | 'addr.delete'; ns: string; dev: string; cidr: string }
  | { kind: 'route.add' | 'route.replace' | 'route.delete'; ns: string; route: RouteSpec }
  | { kind: 'neigh.add' | 'neigh.replace'; ns: string; neigh: NeighbourSpec }
  | { kind: 'neigh.delete'; ns: string; neigh: NeighbourKey }
  | { kind: 'sysctl.set'; ns: string; key: string; value: string };

export interface ExecOptions {
  /** Written to the command's standard input. */
  input?: string;
  signal?: AbortSignal;
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ApplyOptions {
  signal?: AbortSignal;
  /** How many namespaces are programmed at once within a stage (default: CPUs, at least 2). */
  concurrency?: number;
}

/** What applying a plan took: the shape of the work, not its duration. */
export interface ApplyReport {
  namespacesCreated: number;
  operations: number;
  /** Dependency stages after namespace creation (a veth's peer must exist before it is configured). */
  stages: number;
  /** Processes (iproute2) or transactions the plan was carried out in. */
  batches: number;
}
