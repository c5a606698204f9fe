/**
 * The FakeKernel's routes: route add/replace/delete with the kernel's rules (a prefix with host
 * bits, a gateway on no connected subnet of an up link, a route over a down device, a duplicate,
 * deleting what is not there), and the routes a namespace lists: the added ones plus the connected
 * and local routes its addresses make.
 */
import { cidrContains, networkOf } from '../cidr.ts';
import { KERNEL_ERR } from '../errors.ts';
import { RT_TABLE, type NetOp, type RouteInfo, type RouteSpec } from '../types.ts';
import { type FakeNamespace, kernelFail, linkOf } from './fake-namespace.ts';

export type RouteOp = Extract<NetOp, { kind: 'route.add' | 'route.replace' | 'route.delete' }>;

export function isRouteOp(op: NetOp): op is RouteOp {
  return op.kind === 'route.add' || op.kind === 'route.replace' || op.kind === 'route.delete';
}

/** 'default' -> 0.0.0.0/0, a bare address -> /32; the network form a route table keys on. */
export function routeKey(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  return dst.includes('/') ? networkOf(dst) : `${dst}/32`;
}

/** The link a gateway is reachable through: an up link with an address whose subnet holds it. */
function gatewayLink(ns: FakeNamespace, gateway: string, dev?: string): string | undefined {
  for (const a of ns.addresses) {
    if (dev !== undefined && a.dev !== dev) continue;
    if (ns.links.get(a.dev)?.up && cidrContains(networkOf(a.cidr), gateway)) return a.dev;
  }
  return undefined;
}

/** The route as the kernel stores it, or its refusal. */
function checkRoute(ns: FakeNamespace, r: RouteSpec, operation: string): RouteInfo {
  const key = routeKey(r.dst);
  if (r.dst !== 'default' && r.dst.includes('/') && key !== r.dst)
    kernelFail(KERNEL_ERR.invalid, 'Invalid prefix for given prefix length', operation, ns.name);
  let dev = r.dev;
  if (dev !== undefined) {
    const link = linkOf(ns, dev, operation);
    if (!link.up && (r.via === undefined || r.onlink))
      kernelFail(KERNEL_ERR.unreachable, 'Nexthop device is not up', operation, ns.name);
  }
  if (r.via !== undefined && !r.onlink) {
    dev = gatewayLink(ns, r.via, r.dev);
    if (dev === undefined)
      kernelFail(KERNEL_ERR.unreachable, 'Nexthop has invalid gateway', operation, ns.name);
  }
  if (r.src !== undefined && !ns.addresses.some((a) => a.cidr.split('/')[0] === r.src))
    kernelFail(KERNEL_ERR.invalid, 'Invalid prefsrc address', operation, ns.name);
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

function findRoute(ns: FakeNamespace, r: RouteSpec): number {
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

/** Validates and applies one route operation in `ns`. */
export function applyRouteOp(ns: FakeNamespace, op: RouteOp, operation: string): void {
  if (op.kind === 'route.delete') {
    const i = findRoute(ns, op.route);
    if (i < 0) kernelFail(KERNEL_ERR.notFound, 'No such process', operation, ns.name);
    ns.routes.splice(i, 1);
    return;
  }
  const route = checkRoute(ns, op.route, operation);
  const i = findRoute(ns, { dst: op.route.dst, table: op.route.table, metric: op.route.metric ?? 0 });
  if (i >= 0 && op.kind === 'route.add') kernelFail(KERNEL_ERR.exists, 'File exists', operation, ns.name);
  if (i >= 0) ns.routes[i] = route;
  else ns.routes.push(route);
}

/** Routes of a namespace as the kernel lists them: the added ones plus connected and local routes. */
export function listRoutes(ns: FakeNamespace, table: number | 'all'): RouteInfo[] {
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
