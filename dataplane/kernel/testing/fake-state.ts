/**
 * The state behind FakeKernel: namespaces holding links, addresses, routes, permanent neighbour
 * entries and sysctls, and one `apply(op)` that validates a NetOp as the kernel would and then
 * changes the state. The rules are the ones kdp trips over in practice, each checked against this
 * kernel (see the parity test in test/integration/kernel/): a link name taken in the namespace, a
 * veth peer into a missing namespace, a master that is not a bridge, a gateway on no connected
 * subnet of an up link, a route over a down device, a duplicate address, route or neighbour
 * entry, deleting what is not there, a link going down or away taking its neighbour entries with
 * it, and a bridge whose MAC was never set taking its lowest port's. vxlan links and FDB entries: fake-vxlan.ts.
 */
import { cidrContains, networkOf } from '../cidr.ts';
import { KERNEL_ERR, kernelError, type KernelErrorCode } from '../errors.ts';
import { describeOp } from '../iproute2/commands.ts';
import { RT_TABLE, type NetOp, type RouteInfo, type RouteSpec } from '../types.ts';
import { FakeNamespace, type FakeLink } from './fake-namespace.ts';
import { vxlanLink } from './fake-vxlan.ts';

export { FakeNamespace, type FakeLink };

/** 'default' -> 0.0.0.0/0, a bare address -> /32; the network form a route table keys on. */
export function routeKey(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  return dst.includes('/') ? networkOf(dst) : `${dst}/32`;
}

export class FakeNetworkState {
  readonly namespaces = new Map<string, FakeNamespace>();
  private macs = 0;

  constructor(private readonly extraSysctls: Readonly<Record<string, string>> = {}) {}

  createNamespace(name: string): void {
    if (this.namespaces.has(name)) {
      throw kernelError(KERNEL_ERR.exists, `Cannot create namespace file "/run/netns/${name}": File exists`, {
        operation: `ip netns add ${name}`,
      });
    }
    this.namespaces.set(name, new FakeNamespace(name, this.extraSysctls));
  }

  deleteNamespace(name: string): void {
    const ns = this.namespaces.get(name);
    if (!ns) {
      throw kernelError(
        KERNEL_ERR.notFound,
        `Cannot remove namespace file "/run/netns/${name}": No such file or directory`,
        {
          operation: `ip netns del ${name}`,
        },
      );
    }
    // Veths die with their namespace, and take their peers elsewhere with them.
    for (const link of [...ns.links.values()]) if (link.peer) this.removeLink(link.peer.ns, link.peer.name);
    this.namespaces.delete(name);
  }

  ns(name: string, operation: string): FakeNamespace {
    const ns = this.namespaces.get(name);
    if (!ns)
      this.fail(
        KERNEL_ERR.notFound,
        `Cannot open network namespace "${name}": No such file or directory`,
        operation,
      );
    return ns;
  }

  private fail(code: KernelErrorCode, message: string, operation: string, namespace?: string): never {
    throw kernelError(code, message, { operation, namespace });
  }

  private link(ns: FakeNamespace, name: string, operation: string): FakeLink {
    const link = ns.links.get(name);
    if (!link) this.fail(KERNEL_ERR.notFound, `Cannot find device "${name}"`, operation, ns.name);
    return link;
  }

  private newMac(): string {
    const n = ++this.macs;
    return `02:00:00:${[n >> 16, n >> 8, n].map((b) => (b & 0xff).toString(16).padStart(2, '0')).join(':')}`;
  }

  private addLink(ns: FakeNamespace, link: Omit<FakeLink, 'address'> & { address?: string }): void {
    ns.links.set(link.name, { ...link, address: link.address ?? this.newMac() });
    ns.sysctls.addLink(link.name);
  }

  /** A bridge whose MAC was never set takes the lowest of its ports' MACs (none: it keeps its own). */
  private refreshBridgeAddress(ns: FakeNamespace, bridge: string | undefined): void {
    const br = bridge === undefined ? undefined : ns.links.get(bridge);
    if (!br || br.kind !== 'bridge' || br.addressSet) return;
    const ports = [...ns.links.values()].filter((l) => l.master === bridge).map((l) => l.address);
    if (ports.length > 0) br.address = ports.sort()[0];
  }

  private flushNeighbours(ns: FakeNamespace, dev: string): void {
    for (let i = ns.neighbours.length - 1; i >= 0; i--)
      if (ns.neighbours[i].dev === dev) ns.neighbours.splice(i, 1);
  }

  /** Removes a link with its addresses, the routes and neighbours on it, and its ports' master. */
  private removeLink(nsName: string, name: string): void {
    const ns = this.namespaces.get(nsName);
    const link = ns?.links.get(name);
    if (!ns || !link) return;
    ns.links.delete(name);
    ns.sysctls.removeLink(name);
    for (let i = ns.addresses.length - 1; i >= 0; i--)
      if (ns.addresses[i].dev === name) ns.addresses.splice(i, 1);
    for (let i = ns.routes.length - 1; i >= 0; i--) if (ns.routes[i].dev === name) ns.routes.splice(i, 1);
    this.flushNeighbours(ns, name);
    for (let i = ns.fdb.length - 1; i >= 0; i--) if (ns.fdb[i].dev === name) ns.fdb.splice(i, 1);
    for (const l of ns.links.values()) if (l.master === name) delete l.master;
    this.refreshBridgeAddress(ns, link.master);
  }

  private findNeighbour(ns: FakeNamespace, ip: string, dev: string): number {
    return ns.neighbours.findIndex((n) => n.ip === ip && n.dev === dev);
  }

  /** The link a gateway is reachable through: an up link with an address whose subnet holds it. */
  private gatewayLink(ns: FakeNamespace, gateway: string, dev?: string): string | undefined {
    for (const a of ns.addresses) {
      if (dev !== undefined && a.dev !== dev) continue;
      if (ns.links.get(a.dev)?.up && cidrContains(networkOf(a.cidr), gateway)) return a.dev;
    }
    return undefined;
  }

  private checkRoute(ns: FakeNamespace, r: RouteSpec, operation: string): RouteInfo {
    const key = routeKey(r.dst);
    if (r.dst !== 'default' && r.dst.includes('/') && key !== r.dst)
      this.fail(KERNEL_ERR.invalid, 'Invalid prefix for given prefix length', operation, ns.name);
    let dev = r.dev;
    if (dev !== undefined) {
      const link = this.link(ns, dev, operation);
      if (!link.up && (r.via === undefined || r.onlink))
        this.fail(KERNEL_ERR.unreachable, 'Nexthop device is not up', operation, ns.name);
    }
    if (r.via !== undefined && !r.onlink) {
      dev = this.gatewayLink(ns, r.via, r.dev);
      if (dev === undefined)
        this.fail(KERNEL_ERR.unreachable, 'Nexthop has invalid gateway', operation, ns.name);
    }
    if (r.src !== undefined && !ns.addresses.some((a) => a.cidr.split('/')[0] === r.src))
      this.fail(KERNEL_ERR.invalid, 'Invalid prefsrc address', operation, ns.name);
    const route: RouteInfo = {
      dst: r.dst === 'default' ? 'default' : r.dst,
      table: r.table ?? RT_TABLE.main,
      type: 'unicast',
    };
    if (r.via !== undefined) route.via = r.via;
    if (dev !== undefined) route.dev = dev;
    if (r.src !== undefined) route.src = r.src;
    if (r.metric !== undefined) route.metric = r.metric;
    if (r.onlink) route.onlink = true;
    // As iproute2 lists them: protocol boot and scope global are its defaults and not shown.
    if (r.via === undefined) route.scope = 'link';
    return route;
  }

  private findRoute(ns: FakeNamespace, r: RouteSpec): number {
    const key = routeKey(r.dst);
    return ns.routes.findIndex(
      (x) =>
        routeKey(x.dst) === key &&
        x.table === (r.table ?? RT_TABLE.main) &&
        (r.metric === undefined || (x.metric ?? 0) === r.metric) &&
        (r.via === undefined || x.via === r.via) &&
        (r.dev === undefined || x.dev === r.dev),
    );
  }

  /** Validates and applies one op; throws a KdpError with the kernel's code and wording. */
  apply(op: NetOp): void {
    const operation = describeOp(op);
    const ns = this.ns(op.ns, operation);
    const exists = (name: string, where: FakeNamespace = ns) => {
      if (where.links.has(name)) this.fail(KERNEL_ERR.exists, 'File exists', operation, where.name);
    };
    switch (op.kind) {
      case 'bridge.add':
        exists(op.name);
        this.addLink(ns, { name: op.name, kind: 'bridge', mtu: op.mtu ?? 1500, up: false });
        return;
      case 'veth.add': {
        const peerNs = this.ns(op.peerNs, operation);
        exists(op.name);
        exists(op.peerName, peerNs);
        const mtu = op.mtu ?? 1500;
        this.addLink(ns, {
          name: op.name,
          kind: 'veth',
          mtu,
          up: false,
          peer: { ns: op.peerNs, name: op.peerName },
        });
        this.addLink(peerNs, {
          name: op.peerName,
          kind: 'veth',
          mtu,
          up: false,
          peer: { ns: op.ns, name: op.name },
        });
        return;
      }
      case 'vxlan.add':
        exists(op.name);
        this.addLink(ns, vxlanLink(ns, op, this.link(ns, op.dev, operation), operation));
        return;
      case 'link.set': {
        const link = this.link(ns, op.name, operation);
        if (op.master) {
          const master = this.link(ns, op.master, operation);
          if (master.kind !== 'bridge')
            this.fail(KERNEL_ERR.invalid, 'Operation not supported', operation, ns.name);
          if (link.kind === 'loopback')
            this.fail(KERNEL_ERR.invalid, 'Operation not supported', operation, ns.name);
        }
        if (op.mtu !== undefined && link.kind !== 'loopback' && op.mtu > 65535)
          this.fail(KERNEL_ERR.invalid, 'mtu greater than device maximum', operation, ns.name);
        // The kernel has bridge port options only for a link that is a port.
        if (op.hairpin !== undefined && !link.master)
          this.fail(KERNEL_ERR.invalid, 'Operation not supported', operation, ns.name);
        if (op.hairpin !== undefined) link.hairpin = op.hairpin;
        const oldMaster = link.master;
        if (op.master === null) delete link.master;
        else if (op.master !== undefined) link.master = op.master;
        if (op.mtu !== undefined) link.mtu = op.mtu;
        if (op.address !== undefined) {
          link.address = op.address;
          link.addressSet = true;
        }
        // Going down flushes the link's neighbour entries, permanent ones included.
        if (op.up === false && link.up) this.flushNeighbours(ns, link.name);
        if (op.up !== undefined) link.up = op.up;
        this.refreshBridgeAddress(ns, oldMaster);
        this.refreshBridgeAddress(ns, link.master);
        return;
      }
      case 'link.move': {
        const link = this.link(ns, op.name, operation);
        const target = this.ns(op.targetNs, operation);
        if (link.kind === 'loopback') this.fail(KERNEL_ERR.invalid, 'Invalid argument', operation, ns.name);
        if (target.links.has(op.name))
          this.fail(
            KERNEL_ERR.exists,
            'An interface with the same name exists in the target netns',
            operation,
            ns.name,
          );
        this.removeLink(ns.name, op.name);
        const moved: FakeLink = { ...link, up: false };
        delete moved.master;
        this.addLink(target, moved);
        if (link.peer) {
          const peer = this.namespaces.get(link.peer.ns)?.links.get(link.peer.name);
          if (peer) peer.peer = { ns: target.name, name: op.name };
        }
        return;
      }
      case 'link.delete': {
        const link = this.link(ns, op.name, operation);
        if (link.kind === 'loopback')
          this.fail(KERNEL_ERR.invalid, 'Operation not supported', operation, ns.name);
        this.removeLink(ns.name, op.name);
        if (link.peer) this.removeLink(link.peer.ns, link.peer.name);
        return;
      }
      case 'addr.add':
        this.link(ns, op.dev, operation);
        if (ns.addresses.some((a) => a.dev === op.dev && a.cidr.split('/')[0] === op.cidr.split('/')[0]))
          this.fail(KERNEL_ERR.exists, 'ipv4: Address already assigned.', operation, ns.name);
        ns.addresses.push({ dev: op.dev, cidr: op.cidr });
        return;
      case 'addr.delete': {
        this.link(ns, op.dev, operation);
        const i = ns.addresses.findIndex((a) => a.dev === op.dev && a.cidr === op.cidr);
        if (i < 0) this.fail(KERNEL_ERR.notFound, 'ipv4: Address not found.', operation, ns.name);
        ns.addresses.splice(i, 1);
        return;
      }
      case 'route.add':
      case 'route.replace': {
        const route = this.checkRoute(ns, op.route, operation);
        const i = this.findRoute(ns, {
          dst: op.route.dst,
          table: op.route.table,
          metric: op.route.metric ?? 0,
        });
        if (i >= 0 && op.kind === 'route.add')
          this.fail(KERNEL_ERR.exists, 'File exists', operation, ns.name);
        if (i >= 0) ns.routes[i] = route;
        else ns.routes.push(route);
        return;
      }
      case 'route.delete': {
        const i = this.findRoute(ns, op.route);
        if (i < 0) this.fail(KERNEL_ERR.notFound, 'No such process', operation, ns.name);
        ns.routes.splice(i, 1);
        return;
      }
      case 'neigh.add':
      case 'neigh.replace': {
        this.link(ns, op.neigh.dev, operation);
        const i = this.findNeighbour(ns, op.neigh.ip, op.neigh.dev);
        if (i >= 0 && op.kind === 'neigh.add')
          this.fail(KERNEL_ERR.exists, 'File exists', operation, ns.name);
        const entry = { ip: op.neigh.ip, dev: op.neigh.dev, lladdr: op.neigh.lladdr, state: 'permanent' };
        if (i >= 0) ns.neighbours[i] = entry;
        else ns.neighbours.push(entry);
        return;
      }
      case 'neigh.delete': {
        this.link(ns, op.neigh.dev, operation);
        const i = this.findNeighbour(ns, op.neigh.ip, op.neigh.dev);
        if (i < 0) this.fail(KERNEL_ERR.notFound, 'No such file or directory', operation, ns.name);
        ns.neighbours.splice(i, 1);
        return;
      }
      case 'sysctl.set':
        ns.sysctls.set(op.key, op.value, operation, ns.name);
        return;
    }
  }

  /** Routes of a namespace as the kernel lists them: the added ones plus connected and local routes. */
  routesOf(nsName: string, table: number | 'all', operation: string): RouteInfo[] {
    const ns = this.ns(nsName, operation);
    const connected: RouteInfo[] = [];
    for (const a of ns.addresses) {
      const ip = a.cidr.split('/')[0];
      // A /32 has no subnet to reach: the kernel adds no prefix route for it (flannel.1's address).
      if (ns.links.get(a.dev)?.up && !a.cidr.endsWith('/32')) {
        const dst = networkOf(a.cidr);
        connected.push({
          dst,
          dev: a.dev,
          table: RT_TABLE.main,
          type: 'unicast',
          protocol: 'kernel',
          scope: 'link',
          src: ip,
        });
      }
      const local = {
        dst: ip,
        dev: a.dev,
        table: RT_TABLE.local,
        type: 'local',
        protocol: 'kernel',
        scope: 'host',
        src: ip,
      };
      connected.push(local);
    }
    // Order is unspecified, as callers of the real list must not rely on the kernel's either.
    return [...connected, ...ns.routes].filter((r) => table === 'all' || r.table === table);
  }
}
