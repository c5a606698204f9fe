/**
 * One small interface per kernel facility that the cluster builder and the agents program:
 * namespaces, links, addresses, routes, neighbours, FDB entries, sysctls, and the batched plan path that
 * makes bring-up fast. `Kernel` bundles them; the real one is createIproute2Kernel
 * (iproute2/kernel.ts) and the stateful fake is FakeKernel (testing/fake-kernel.ts). Every
 * namespace argument is required: no operation ever falls back to the host's namespace.
 */
import type { NetworkPlan } from './network-plan.ts';
import type {
  AddressInfo,
  ApplyOptions,
  ApplyReport,
  ExecOptions,
  ExecResult,
  FdbInfo,
  FdbSpec,
  LinkChange,
  LinkInfo,
  NeighbourInfo,
  NeighbourKey,
  NeighbourSpec,
  RouteInfo,
  RouteSpec,
  VethSpec,
  VxlanSpec,
} from './types.ts';

export interface Netns {
  create(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** Deletes several in one go; every name is attempted, then the first failure is thrown. */
  deleteMany(names: readonly string[]): Promise<void>;
  /** Names under /run/netns that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  exists(name: string): Promise<boolean>;
  /** Runs a command inside the namespace and waits; a non-zero exit throws KDP_ERR_KERNEL_COMMAND. */
  exec(name: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** The argv that runs `argv` inside the namespace, for callers that spawn long-running processes. */
  command(name: string, argv: readonly string[]): string[];
  /** /run/netns/<name>: the file to open for setns(2) or IFLA_NET_NS_FD. */
  path(name: string): string;
}

export interface Links {
  addVeth(spec: VethSpec): Promise<void>;
  addBridge(ns: string, name: string, options?: { mtu?: number }): Promise<void>;
  /** A vxlan link without MAC learning (see VxlanSpec); it starts down. */
  addVxlan(spec: VxlanSpec): Promise<void>;
  /** Up/down, master, MTU in one change. */
  set(ns: string, name: string, change: LinkChange): Promise<void>;
  setUp(ns: string, name: string): Promise<void>;
  setMaster(ns: string, name: string, master: string | null): Promise<void>;
  setMtu(ns: string, name: string, mtu: number): Promise<void>;
  /** Moves a link into another namespace; the kernel drops its addresses and routes on the way. */
  moveTo(ns: string, name: string, targetNs: string): Promise<void>;
  /** Deletes a link (a veth takes its peer with it). */
  delete(ns: string, name: string): Promise<void>;
  list(ns: string): Promise<LinkInfo[]>;
}

export interface Addresses {
  add(ns: string, dev: string, cidr: string): Promise<void>;
  delete(ns: string, dev: string, cidr: string): Promise<void>;
  /** IPv4 addresses, of one link or all. */
  list(ns: string, dev?: string): Promise<AddressInfo[]>;
}

export interface Routes {
  add(ns: string, route: RouteSpec): Promise<void>;
  replace(ns: string, route: RouteSpec): Promise<void>;
  delete(ns: string, route: RouteSpec): Promise<void>;
  /** IPv4 routes of one table (main by default) or of all tables. */
  list(ns: string, options?: { table?: number | 'all' }): Promise<RouteInfo[]>;
}

/** Permanent neighbour (ARP) entries; see NeighbourSpec for why kdp uses only those. */
export interface Neighbours {
  /** Throws KDP_ERR_KERNEL_EXISTS when the link has an entry for the address already. */
  add(ns: string, neigh: NeighbourSpec): Promise<void>;
  /** Adds the entry or overwrites the one the link has for the address. */
  replace(ns: string, neigh: NeighbourSpec): Promise<void>;
  delete(ns: string, neigh: NeighbourKey): Promise<void>;
  /** IPv4 entries of one link or all, whatever their state. */
  list(ns: string, dev?: string): Promise<NeighbourInfo[]>;
}

/**
 * Static FDB entries of vxlan links (`bridge fdb ... self permanent`): which VTEP a MAC is
 * behind. One process per call, as there is one entry per peer node.
 */
export interface Fdb {
  /** Throws KDP_ERR_KERNEL_EXISTS when the link has an entry for the MAC already. */
  add(ns: string, entry: FdbSpec): Promise<void>;
  /** Adds another destination for the MAC (flooding lists); an identical entry is left as is. */
  append(ns: string, entry: FdbSpec): Promise<void>;
  /** Adds the entry or points the link's entry for the MAC at `dst`. */
  replace(ns: string, entry: FdbSpec): Promise<void>;
  /** Throws KDP_ERR_KERNEL_NOT_FOUND when there is no such entry. */
  delete(ns: string, entry: FdbSpec): Promise<void>;
  /** The entries of one link, whatever their state. */
  list(ns: string, dev: string): Promise<FdbInfo[]>;
}

/** net.* sysctls of one namespace, as /proc/sys/net shows them from inside it. */
export interface Sysctl {
  get(ns: string, key: string): Promise<string>;
  set(ns: string, key: string, value: string): Promise<void>;
  setMany(ns: string, values: Readonly<Record<string, string>>): Promise<void>;
}

/** Carries out a whole NetworkPlan with as few processes/transactions as its dependencies allow. */
export interface NetworkOps {
  apply(plan: NetworkPlan, options?: ApplyOptions): Promise<ApplyReport>;
}

export interface Kernel {
  /** The prefix every namespace this kernel touches must carry. */
  readonly prefix: string;
  readonly netns: Netns;
  readonly links: Links;
  readonly addresses: Addresses;
  readonly routes: Routes;
  readonly neighbours: Neighbours;
  readonly fdb: Fdb;
  readonly sysctl: Sysctl;
  readonly ops: NetworkOps;
}
