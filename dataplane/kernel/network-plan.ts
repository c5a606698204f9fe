/**
 * A NetworkPlan collects the writes of a whole bring-up (namespaces to create, then NetOps in
 * each namespace) so that NetworkOps.apply can carry them out in few processes: one batch per
 * namespace per dependency stage instead of one process per operation.
 *
 * Staging: an op that uses a link created by another namespace's op (a veth's peer end, a link
 * moved in) must wait until that namespace's batch has run. stagePlan puts each op in a stage
 * that respects this, keeps each namespace's ops in the order they were added, and keeps a
 * namespace in one stage where it can. A cluster comes out as three stages and one batch per
 * namespace: fabric (bridge, node uplinks), nodes (uplink address, bridge, pod veths), pods.
 */
import type {
  LinkChange,
  NeighbourKey,
  NeighbourSpec,
  NetOp,
  RouteSpec,
  VethSpec,
  VxlanSpec,
} from './types.ts';

export class NetworkPlan {
  /** Namespaces to create before any op runs, in order. */
  readonly namespaces: string[] = [];
  readonly ops: NetOp[] = [];

  createNamespace(name: string): this {
    this.namespaces.push(name);
    return this;
  }

  addBridge(ns: string, name: string, options: { mtu?: number } = {}): this {
    return this.push({ kind: 'bridge.add', ns, name, mtu: options.mtu });
  }

  addVeth(spec: VethSpec): this {
    return this.push({ kind: 'veth.add', ...spec });
  }

  addVxlan(spec: VxlanSpec): this {
    return this.push({ kind: 'vxlan.add', ...spec });
  }

  setLink(ns: string, name: string, change: LinkChange): this {
    return this.push({ kind: 'link.set', ns, name, ...change });
  }

  moveLink(ns: string, name: string, targetNs: string): this {
    return this.push({ kind: 'link.move', ns, name, targetNs });
  }

  deleteLink(ns: string, name: string): this {
    return this.push({ kind: 'link.delete', ns, name });
  }

  addAddress(ns: string, dev: string, cidr: string): this {
    return this.push({ kind: 'addr.add', ns, dev, cidr });
  }

  deleteAddress(ns: string, dev: string, cidr: string): this {
    return this.push({ kind: 'addr.delete', ns, dev, cidr });
  }

  addRoute(ns: string, route: RouteSpec): this {
    return this.push({ kind: 'route.add', ns, route });
  }

  replaceRoute(ns: string, route: RouteSpec): this {
    return this.push({ kind: 'route.replace', ns, route });
  }

  deleteRoute(ns: string, route: RouteSpec): this {
    return this.push({ kind: 'route.delete', ns, route });
  }

  addNeighbour(ns: string, neigh: NeighbourSpec): this {
    return this.push({ kind: 'neigh.add', ns, neigh });
  }

  replaceNeighbour(ns: string, neigh: NeighbourSpec): this {
    return this.push({ kind: 'neigh.replace', ns, neigh });
  }

  deleteNeighbour(ns: string, neigh: NeighbourKey): this {
    return this.push({ kind: 'neigh.delete', ns, neigh: { ip: neigh.ip, dev: neigh.dev } });
  }

  setSysctl(ns: string, key: string, value: string): this {
    return this.push({ kind: 'sysctl.set', ns, key, value });
  }

  push(op: NetOp): this {
    this.ops.push(op);
    return this;
  }

  get size(): number {
    return this.namespaces.length + this.ops.length;
  }
}

/** The ops of one namespace that run together (one batch) within a stage, in plan order. */
export interface PlanGroup {
  ns: string;
  ops: NetOp[];
}

/** Stages run one after another; the groups of a stage may run concurrently. */
export type PlanStage = PlanGroup[];

/** Links an op needs to exist in its own namespace before it can run. */
function linksUsed(op: NetOp): string[] {
  switch (op.kind) {
    case 'link.set':
      return op.master ? [op.name, op.master] : [op.name];
    case 'link.move':
    case 'link.delete':
      return [op.name];
    case 'vxlan.add':
      return [op.dev];
    case 'addr.add':
    case 'addr.delete':
      return [op.dev];
    case 'route.add':
    case 'route.replace':
    case 'route.delete':
      return op.route.dev ? [op.route.dev] : [];
    case 'neigh.add':
    case 'neigh.replace':
    case 'neigh.delete':
      return [op.neigh.dev];
    case 'sysctl.set': {
      // net.ipv4.conf.<link>.x and net.ipv6.conf.<link>.x exist only once the link does.
      const m = /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\./.exec(op.key);
      return m && m[1] !== 'all' && m[1] !== 'default' ? [m[1].replaceAll('/', '.')] : [];
    }
    default:
      return [];
  }
}

/** Links an op brings into existence, with the namespace each appears in. */
function linksMade(op: NetOp): [ns: string, name: string][] {
  switch (op.kind) {
    case 'bridge.add':
    case 'vxlan.add':
      return [[op.ns, op.name]];
    case 'veth.add':
      return [
        [op.ns, op.name],
        [op.peerNs, op.peerName],
      ];
    case 'link.move':
      return [[op.targetNs, op.name]];
    default:
      return [];
  }
}

export function stagePlan(plan: NetworkPlan): PlanStage[] {
  const ops = plan.ops;
  // Pass 1: the earliest stage of each op, and which op made each link it uses elsewhere.
  const stageOf: number[] = [];
  const madeBy = new Map<string, number>();
  const lastStage = new Map<string, number>();
  const crossDependents: number[][] = ops.map(() => []);
  ops.forEach((op, i) => {
    let stage = lastStage.get(op.ns) ?? 0;
    for (const name of linksUsed(op)) {
      const maker = madeBy.get(`${op.ns}/${name}`);
      if (maker === undefined) continue;
      const crossNs = ops[maker].ns !== op.ns;
      stage = Math.max(stage, stageOf[maker] + (crossNs ? 1 : 0));
      if (crossNs) crossDependents[maker].push(i);
    }
    stageOf.push(stage);
    lastStage.set(op.ns, stage);
    for (const [ns, name] of linksMade(op)) madeBy.set(`${ns}/${name}`, i);
  });
  // Pass 2: move ops as late as their namespace's last stage allows, so a namespace runs as one
  // batch (a pod's `lo up` waits to join its eth0 setup) unless another namespace needs its
  // links earlier. Walking each namespace backwards keeps its ops in order.
  const finalStage = [...stageOf];
  const nextInNs = new Map<string, number>();
  for (let i = ops.length - 1; i >= 0; i--) {
    const ns = ops[i].ns;
    let latest = nextInNs.get(ns) ?? lastStage.get(ns)!;
    for (const d of crossDependents[i]) latest = Math.min(latest, stageOf[d] - 1);
    finalStage[i] = Math.max(stageOf[i], latest);
    nextInNs.set(ns, finalStage[i]);
  }
  const stages: Map<string, NetOp[]>[] = [];
  ops.forEach((op, i) => {
    while (stages.length <= finalStage[i]) stages.push(new Map());
    const groups = stages[finalStage[i]];
    const list = groups.get(op.ns);
    if (list) list.push(op);
    else groups.set(op.ns, [op]);
  });
  return stages
    .filter((g) => g.size > 0)
    .map((groups) => [...groups].map(([ns, list]) => ({ ns, ops: list })));
}

/**
 * Splits a group's ops into runs that go to the same tool, in order: iproute2 batches and
 * sysctl writes. Each run is one process (real) or one counted batch (fake).
 */
export function toolRuns(ops: readonly NetOp[]): NetOp[][] {
  const out: NetOp[][] = [];
  for (const op of ops) {
    const last = out.at(-1);
    if (last && (last[0].kind === 'sysctl.set') === (op.kind === 'sysctl.set')) last.push(op);
    else out.push([op]);
  }
  return out;
}
