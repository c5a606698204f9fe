/**
 * FakeKernel: the Kernel interface over FakeNetworkState, for unit tests of everything that
 * programs namespaces (cluster builder, overlay backends, agents) without root. It runs the same
 * argument checks and namespace guard as the real implementation, validates each op as the
 * kernel would, stages plans exactly like the real NetworkOps (so a plan that only works by luck
 * of ordering fails here too), and counts calls so tests can assert that bring-up is batched.
 */
import { checkFdb, checkOp, describeFdb, sysctlPath } from '../check.ts';
import { KERNEL_ERR, kernelError } from '../errors.ts';
import type {
  Addresses,
  Fdb,
  Kernel,
  Links,
  Neighbours,
  Netns,
  NetworkOps,
  Routes,
  Sysctl,
} from '../interfaces.ts';
import { describeOp } from '../iproute2/commands.ts';
import {
  KDP_NAMESPACE_PREFIX,
  assertIfName,
  assertKdpNamespace,
  assertPrefix,
  netnsPath,
} from '../name-checks.ts';
import { stagePlan, toolRuns, type NetworkPlan } from '../network-plan.ts';
import {
  RT_TABLE,
  type AddressInfo,
  type ApplyOptions,
  type ApplyReport,
  type ExecOptions,
  type ExecResult,
  type FdbInfo,
  type LinkChange,
  type LinkInfo,
  type NeighbourInfo,
  type NetOp,
  type RouteInfo,
  type RouteSpec,
  type VethSpec,
} from '../types.ts';
import { applyFdb, type FdbVerb } from './fake-vxlan.ts';
import { checkFakeNamespace } from './fake-namespace.ts';
import { FakeNetworkState } from './fake-state.ts';

export interface FakeKernelOptions {
  prefix?: string;
  /** Extra sysctl keys (and defaults) every fake namespace has, e.g. net.ipv4.vs.conntrack. */
  sysctls?: Readonly<Record<string, string>>;
  /** Answers Netns.exec; by default every command succeeds with empty output. */
  onExec?: (ns: string, argv: readonly string[], options: ExecOptions) => ExecResult | Promise<ExecResult>;
}

export class FakeKernel implements Kernel {
  readonly prefix: string;
  readonly state: FakeNetworkState;
  /** Calls per method, keyed 'netns.create', 'links.addVeth', 'ops.apply', ... */
  readonly calls = new Map<string, number>();
  /** Every op that changed the state, in order, whether it came from a method or a plan. */
  readonly applied: NetOp[] = [];
  /** Commands run with Netns.exec. */
  readonly execs: { ns: string; argv: string[] }[] = [];
  /** Batches the last plans would have taken (processes for iproute2), summed over apply calls. */
  batches = 0;

  readonly netns: Netns;
  readonly links: Links;
  readonly addresses: Addresses;
  readonly routes: Routes;
  readonly neighbours: Neighbours;
  readonly fdb: Fdb;
  readonly sysctl: Sysctl;
  readonly ops: NetworkOps;

  constructor(private readonly options: FakeKernelOptions = {}) {
    this.prefix = options.prefix ?? KDP_NAMESPACE_PREFIX;
    assertPrefix(this.prefix);
    this.state = new FakeNetworkState(options.sysctls);
    this.netns = this.netnsFacility();
    this.links = this.linksFacility();
    this.addresses = this.addressesFacility();
    this.routes = this.routesFacility();
    this.neighbours = this.neighboursFacility();
    this.fdb = this.fdbFacility();
    this.sysctl = this.sysctlFacility();
    this.ops = { apply: (plan, opts) => this.count('ops.apply', () => this.applyPlan(plan, opts)) };
  }

  callCount(name: string): number {
    return this.calls.get(name) ?? 0;
  }

  resetCounts(): void {
    this.calls.clear();
    this.applied.length = 0;
    this.execs.length = 0;
    this.batches = 0;
  }

  private async count<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    this.calls.set(name, this.callCount(name) + 1);
    return fn();
  }

  private runOp(op: NetOp): void {
    checkOp(op, this.prefix, describeOp(op));
    this.state.apply(op);
    this.applied.push(op);
  }

  private guard(ns: string, operation: string) {
    return checkFakeNamespace(ns, operation, {
      prefix: this.prefix,
      namespaces: this.state.namespaces,
      tool: 'ip',
    })!;
  }

  private netnsFacility(): Netns {
    const deleteOne = (name: string) => {
      assertKdpNamespace(name, this.prefix, `ip netns del ${name}`);
      this.state.deleteNamespace(name);
    };
    return {
      create: (name) =>
        this.count('netns.create', () => {
          assertKdpNamespace(name, this.prefix, `ip netns add ${name}`);
          this.state.createNamespace(name);
        }),
      delete: (name) => this.count('netns.delete', () => deleteOne(name)),
      deleteMany: (names) =>
        this.count('netns.deleteMany', () => {
          let first: unknown;
          for (const n of names) {
            try {
              deleteOne(n);
            } catch (e) {
              first ??= e;
            }
          }
          if (first !== undefined) throw first;
        }),
      list: (prefix) =>
        this.count('netns.list', () =>
          [...this.state.namespaces.keys()].filter((n) => n.startsWith(prefix)).sort(),
        ),
      exists: (name) => this.count('netns.exists', () => this.state.namespaces.has(name)),
      exec: (name, argv, opts = {}) =>
        this.count('netns.exec', () => {
          const operation = argv.join(' ');
          this.guard(name, operation);
          if (argv.length === 0)
            throw kernelError(KERNEL_ERR.invalid, 'no command to run', {
              operation: 'ip netns exec',
              namespace: name,
            });
          this.execs.push({ ns: name, argv: [...argv] });
          return this.options.onExec?.(name, argv, opts) ?? { stdout: '', stderr: '' };
        }),
      command: (name, argv) => {
        assertKdpNamespace(name, this.prefix, `ip netns exec ${name} ${argv.join(' ')}`);
        return ['ip', 'netns', 'exec', name, ...argv];
      },
      path: (name) => {
        assertKdpNamespace(name, this.prefix, `open ${netnsPath(name)}`);
        return netnsPath(name);
      },
    };
  }

  private linksFacility(): Links {
    const set = (name: string, ns: string, link: string, change: LinkChange) =>
      this.count(name, () => this.runOp({ kind: 'link.set', ns, name: link, ...change }));
    return {
      addVeth: (spec: VethSpec) =>
        this.count('links.addVeth', () => this.runOp({ kind: 'veth.add', ...spec })),
      addBridge: (ns, name, opts = {}) =>
        this.count('links.addBridge', () => this.runOp({ kind: 'bridge.add', ns, name, mtu: opts.mtu })),
      addVxlan: (spec) => this.count('links.addVxlan', () => this.runOp({ kind: 'vxlan.add', ...spec })),
      set: (ns, name, change) => set('links.set', ns, name, change),
      setUp: (ns, name) => set('links.setUp', ns, name, { up: true }),
      setMaster: (ns, name, master) => set('links.setMaster', ns, name, { master }),
      setMtu: (ns, name, mtu) => set('links.setMtu', ns, name, { mtu }),
      moveTo: (ns, name, targetNs) =>
        this.count('links.moveTo', () => this.runOp({ kind: 'link.move', ns, name, targetNs })),
      delete: (ns, name) => this.count('links.delete', () => this.runOp({ kind: 'link.delete', ns, name })),
      list: (ns) =>
        this.count('links.list', (): LinkInfo[] =>
          [...this.guard(ns, 'ip link show').links.values()].map((l) => {
            const info: LinkInfo = { name: l.name, kind: l.kind, mtu: l.mtu, up: l.up, address: l.address };
            if (l.master) info.master = l.master;
            if (l.vxlan) info.vxlan = { ...l.vxlan };
            return info;
          }),
        ),
    };
  }

  private addressesFacility(): Addresses {
    return {
      add: (ns, dev, cidr) =>
        this.count('addresses.add', () => this.runOp({ kind: 'addr.add', ns, dev, cidr })),
      delete: (ns, dev, cidr) =>
        this.count('addresses.delete', () => this.runOp({ kind: 'addr.delete', ns, dev, cidr })),
      list: (ns, dev) =>
        this.count('addresses.list', (): AddressInfo[] => {
          const state = this.guard(ns, 'ip address show');
          if (dev !== undefined) {
            assertIfName(dev, `ip address show dev ${dev}`, ns);
            if (!state.links.has(dev))
              throw kernelError(KERNEL_ERR.notFound, `Device "${dev}" does not exist.`, {
                operation: 'ip address show',
                namespace: ns,
              });
          }
          return state.addresses.filter((a) => dev === undefined || a.dev === dev).map((a) => ({ ...a }));
        }),
    };
  }

  private routesFacility(): Routes {
    const op = (kind: 'route.add' | 'route.replace' | 'route.delete', ns: string, route: RouteSpec) =>
      this.runOp({ kind, ns, route });
    return {
      add: (ns, route) => this.count('routes.add', () => op('route.add', ns, route)),
      replace: (ns, route) => this.count('routes.replace', () => op('route.replace', ns, route)),
      delete: (ns, route) => this.count('routes.delete', () => op('route.delete', ns, route)),
      list: (ns, opts = {}) =>
        this.count('routes.list', (): RouteInfo[] => {
          assertKdpNamespace(ns, this.prefix, 'ip route show');
          return this.state.routesOf(ns, opts.table ?? RT_TABLE.main, 'ip route show').map((r) => ({ ...r }));
        }),
    };
  }

  private neighboursFacility(): Neighbours {
    return {
      add: (ns, neigh) =>
        this.count('neighbours.add', () => this.runOp({ kind: 'neigh.add', ns, neigh: { ...neigh } })),
      replace: (ns, neigh) =>
        this.count('neighbours.replace', () =>
          this.runOp({ kind: 'neigh.replace', ns, neigh: { ...neigh } }),
        ),
      delete: (ns, neigh) =>
        this.count('neighbours.delete', () =>
          this.runOp({ kind: 'neigh.delete', ns, neigh: { ip: neigh.ip, dev: neigh.dev } }),
        ),
      list: (ns, dev) =>
        this.count('neighbours.list', (): NeighbourInfo[] => {
          const state = this.guard(ns, 'ip neigh show');
          if (dev !== undefined) {
            assertIfName(dev, `ip neigh show dev ${dev}`, ns);
            if (!state.links.has(dev))
              throw kernelError(KERNEL_ERR.notFound, `Cannot find device "${dev}"`, {
                operation: 'ip neigh show',
                namespace: ns,
              });
          }
          return state.neighbours.filter((n) => dev === undefined || n.dev === dev).map((n) => ({ ...n }));
        }),
    };
  }

  private fdbFacility(): Fdb {
    const write = (verb: FdbVerb, ns: string, entry: { dev: string; lladdr: string; dst: string }) => {
      const operation = describeFdb(verb, entry);
      checkFdb(ns, entry, this.prefix, operation);
      applyFdb(this.guard(ns, operation), verb, entry, operation);
    };
    return {
      add: (ns, e) => this.count('fdb.add', () => write('add', ns, e)),
      append: (ns, e) => this.count('fdb.append', () => write('append', ns, e)),
      replace: (ns, e) => this.count('fdb.replace', () => write('replace', ns, e)),
      delete: (ns, e) => this.count('fdb.delete', () => write('del', ns, e)),
      list: (ns, dev) =>
        this.count('fdb.list', (): FdbInfo[] => {
          const operation = `bridge fdb show dev ${dev}`;
          const state = this.guard(ns, operation);
          assertIfName(dev, operation, ns);
          if (!state.links.has(dev))
            throw kernelError(KERNEL_ERR.notFound, `Cannot find device "${dev}"`, {
              operation,
              namespace: ns,
            });
          return state.fdb.filter((f) => f.dev === dev).map((f) => ({ ...f }));
        }),
    };
  }

  private sysctlFacility(): Sysctl {
    const setMany = (ns: string, values: Readonly<Record<string, string>>) => {
      for (const [key, value] of Object.entries(values)) this.runOp({ kind: 'sysctl.set', ns, key, value });
    };
    return {
      get: (ns, key) =>
        this.count('sysctl.get', () => {
          const operation = `sysctl -n ${key}`;
          const state = this.guard(ns, operation);
          sysctlPath(key, operation, ns);
          return state.sysctls.get(key, operation, ns);
        }),
      set: (ns, key, value) => this.count('sysctl.set', () => setMany(ns, { [key]: value })),
      setMany: (ns, values) => this.count('sysctl.setMany', () => setMany(ns, values)),
    };
  }

  /** As the real apply: check all, create namespaces, then stage by stage, group by group. */
  private applyPlan(plan: NetworkPlan, _options: ApplyOptions = {}): ApplyReport {
    for (const ns of plan.namespaces) assertKdpNamespace(ns, this.prefix, `ip netns add ${ns}`);
    for (const op of plan.ops) checkOp(op, this.prefix, describeOp(op));
    const report: ApplyReport = { namespacesCreated: 0, operations: plan.ops.length, stages: 0, batches: 0 };
    if (plan.namespaces.length > 0) {
      report.batches++;
      for (const ns of plan.namespaces) {
        this.state.createNamespace(ns);
        report.namespacesCreated++;
      }
    }
    for (const stage of stagePlan(plan)) {
      report.stages++;
      let first: unknown;
      for (const group of stage) {
        try {
          for (const run of toolRuns(group.ops)) {
            report.batches++;
            for (const op of run) this.runOp(op);
          }
        } catch (e) {
          first ??= e;
        }
      }
      if (first !== undefined) {
        this.batches += report.batches;
        throw first;
      }
    }
    this.batches += report.batches;
    return report;
  }
}
