/**
 * The real Kernel: links, addresses, routes and neighbours through `ip -n NS ...`, FDB entries through
 * `bridge -n NS fdb ...` (one process per call;
 * use NetworkOps.apply with a NetworkPlan when there are many), namespaces, sysctls and plans
 * from the sibling files. Every call passes the same checks as the fake (check.ts), including
 * the guard that refuses any namespace without the configured kdp prefix, before a process runs.
 */
import { checkFdb, checkOp, describeFdb } from '../check.ts';
import type { Addresses, Fdb, Kernel, Links, Neighbours, Routes } from '../interfaces.ts';
import { KDP_NAMESPACE_PREFIX, assertIfName, assertKdpNamespace, assertPrefix } from '../name-checks.ts';
import {
  RT_TABLE,
  type AddressInfo,
  type FdbInfo,
  type FdbSpec,
  type LinkChange,
  type LinkInfo,
  type NeighbourInfo,
  type NeighbourKey,
  type NeighbourSpec,
  type NetOp,
  type RouteInfo,
  type RouteSpec,
  type VethSpec,
  type VxlanSpec,
} from '../types.ts';
import { Iproute2NetworkOps } from './apply-plan.ts';
import { describeOp, ipArgs } from './commands.ts';
import { Iproute2Netns } from './netns.ts';
import { parseAddresses, parseFdb, parseLinks, parseNeighbours, parseRoutes } from './parse.ts';
import { runCommand, runIp, toKernelError } from './run-command.ts';
import { Iproute2Sysctl } from './sysctl.ts';

export interface Iproute2KernelOptions {
  /** Only namespaces starting with this are ever touched; default 'kdp-'. Tests narrow it. */
  prefix?: string;
}

/** Runs one NetOp as one `ip -n NS` process after the shared checks. */
class OpRunner {
  constructor(readonly prefix: string) {}

  async run(op: NetOp): Promise<void> {
    const operation = describeOp(op);
    checkOp(op, this.prefix, operation);
    const args = ipArgs(op);
    if (args === undefined) throw new TypeError(`${op.kind} is not an iproute2 operation`);
    await runIp(['-n', op.ns, ...args], { namespace: op.ns, operation });
  }

  async read(ns: string, args: string[]): Promise<string> {
    const operation = `ip ${args.join(' ')}`;
    assertKdpNamespace(ns, this.prefix, operation);
    return (await runIp(['-j', '-n', ns, ...args], { namespace: ns, operation })).stdout;
  }
}

class Iproute2Links implements Links {
  constructor(private readonly r: OpRunner) {}

  addVeth(spec: VethSpec): Promise<void> {
    return this.r.run({ kind: 'veth.add', ...spec });
  }
  addBridge(ns: string, name: string, options: { mtu?: number } = {}): Promise<void> {
    return this.r.run({ kind: 'bridge.add', ns, name, mtu: options.mtu });
  }
  addVxlan(spec: VxlanSpec): Promise<void> {
    return this.r.run({ kind: 'vxlan.add', ...spec });
  }
  set(ns: string, name: string, change: LinkChange): Promise<void> {
    return this.r.run({ kind: 'link.set', ns, name, ...change });
  }
  setUp(ns: string, name: string): Promise<void> {
    return this.set(ns, name, { up: true });
  }
  setMaster(ns: string, name: string, master: string | null): Promise<void> {
    return this.set(ns, name, { master });
  }
  setMtu(ns: string, name: string, mtu: number): Promise<void> {
    return this.set(ns, name, { mtu });
  }
  moveTo(ns: string, name: string, targetNs: string): Promise<void> {
    return this.r.run({ kind: 'link.move', ns, name, targetNs });
  }
  delete(ns: string, name: string): Promise<void> {
    return this.r.run({ kind: 'link.delete', ns, name });
  }
  async list(ns: string): Promise<LinkInfo[]> {
    return parseLinks(await this.r.read(ns, ['-d', 'link', 'show']));
  }
}

class Iproute2Addresses implements Addresses {
  constructor(private readonly r: OpRunner) {}

  add(ns: string, dev: string, cidr: string): Promise<void> {
    return this.r.run({ kind: 'addr.add', ns, dev, cidr });
  }
  delete(ns: string, dev: string, cidr: string): Promise<void> {
    return this.r.run({ kind: 'addr.delete', ns, dev, cidr });
  }
  async list(ns: string, dev?: string): Promise<AddressInfo[]> {
    if (dev !== undefined) assertIfName(dev, `ip address show dev ${dev}`, ns);
    return parseAddresses(await this.r.read(ns, ['-4', 'address', 'show', ...(dev ? ['dev', dev] : [])]));
  }
}

class Iproute2Routes implements Routes {
  constructor(private readonly r: OpRunner) {}

  add(ns: string, route: RouteSpec): Promise<void> {
    return this.r.run({ kind: 'route.add', ns, route });
  }
  replace(ns: string, route: RouteSpec): Promise<void> {
    return this.r.run({ kind: 'route.replace', ns, route });
  }
  delete(ns: string, route: RouteSpec): Promise<void> {
    return this.r.run({ kind: 'route.delete', ns, route });
  }
  async list(ns: string, options: { table?: number | 'all' } = {}): Promise<RouteInfo[]> {
    const table = options.table ?? RT_TABLE.main;
    const json = await this.r.read(ns, ['-4', 'route', 'show', 'table', String(table)]);
    return parseRoutes(json, table === 'all' ? RT_TABLE.main : table);
  }
}

class Iproute2Neighbours implements Neighbours {
  constructor(private readonly r: OpRunner) {}

  add(ns: string, neigh: NeighbourSpec): Promise<void> {
    return this.r.run({ kind: 'neigh.add', ns, neigh });
  }
  replace(ns: string, neigh: NeighbourSpec): Promise<void> {
    return this.r.run({ kind: 'neigh.replace', ns, neigh });
  }
  delete(ns: string, neigh: NeighbourKey): Promise<void> {
    return this.r.run({ kind: 'neigh.delete', ns, neigh: { ip: neigh.ip, dev: neigh.dev } });
  }
  async list(ns: string, dev?: string): Promise<NeighbourInfo[]> {
    if (dev !== undefined) assertIfName(dev, `ip neigh show dev ${dev}`, ns);
    const json = await this.r.read(ns, ['-4', 'neigh', 'show', ...(dev ? ['dev', dev] : [])]);
    return parseNeighbours(json, dev);
  }
}

/** `bridge -n NS fdb ...`, one process per call, after the same checks as the fake's. */
class Iproute2Fdb implements Fdb {
  constructor(private readonly prefix: string) {}

  private async bridge(ns: string, args: string[], operation: string): Promise<string> {
    try {
      return (await runCommand(['bridge', '-n', ns, ...args])).stdout;
    } catch (e) {
      throw toKernelError(e, { namespace: ns, operation });
    }
  }

  private async write(ns: string, verb: 'add' | 'append' | 'replace' | 'del', e: FdbSpec): Promise<void> {
    const operation = describeFdb(verb, e);
    checkFdb(ns, e, this.prefix, operation);
    await this.bridge(ns, operation.split(' ').slice(1), operation);
  }

  add(ns: string, entry: FdbSpec): Promise<void> {
    return this.write(ns, 'add', entry);
  }
  append(ns: string, entry: FdbSpec): Promise<void> {
    return this.write(ns, 'append', entry);
  }
  replace(ns: string, entry: FdbSpec): Promise<void> {
    return this.write(ns, 'replace', entry);
  }
  delete(ns: string, entry: FdbSpec): Promise<void> {
    return this.write(ns, 'del', entry);
  }
  async list(ns: string, dev: string): Promise<FdbInfo[]> {
    const operation = `bridge fdb show dev ${dev}`;
    assertKdpNamespace(ns, this.prefix, operation);
    assertIfName(dev, operation, ns);
    return parseFdb(await this.bridge(ns, ['-j', 'fdb', 'show', 'dev', dev], operation), dev);
  }
}

export function createIproute2Kernel(options: Iproute2KernelOptions = {}): Kernel {
  const prefix = options.prefix ?? KDP_NAMESPACE_PREFIX;
  assertPrefix(prefix);
  const runner = new OpRunner(prefix);
  const netns = new Iproute2Netns(prefix);
  const sysctl = new Iproute2Sysctl(prefix);
  return {
    prefix,
    netns,
    links: new Iproute2Links(runner),
    addresses: new Iproute2Addresses(runner),
    routes: new Iproute2Routes(runner),
    neighbours: new Iproute2Neighbours(runner),
    fdb: new Iproute2Fdb(prefix),
    sysctl,
    ops: new Iproute2NetworkOps(prefix, netns),
  };
}
