/**
 * The state behind FakeKernel: namespaces holding links, addresses, routes, permanent neighbour
 * entries and sysctls, and one `apply(op)` that validates a NetOp as the kernel would and then
 * changes the state. The rules are the ones kdp trips over in practice, each checked against this
 * kernel (see the parity test in test/integration/kernel/), and live with their facility: links in
 * fake-links.ts (vxlan links and FDB entries: fake-vxlan.ts), addresses and neighbours in
 * fake-addresses.ts, routes in fake-routes.ts, sysctls in fake-sysctls.ts. This file holds the
 * namespaces themselves and sends each op to its facility.
 */
import { KERNEL_ERR, kernelError } from '../errors.ts';
import { describeOp } from '../iproute2/commands.ts';
import type { NetOp, RouteInfo } from '../types.ts';
import { applyAddressOp, isAddressOp } from './fake-addresses.ts';
import { applyLinkOp, isLinkOp, type LinkHost, removeLink } from './fake-links.ts';
import { checkFakeNamespace, FakeNamespace, type FakeLink } from './fake-namespace.ts';
import { applyRouteOp, isRouteOp, listRoutes, routeKey } from './fake-routes.ts';

export { FakeNamespace, type FakeLink, routeKey };

export class FakeNetworkState implements LinkHost {
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
    for (const link of [...ns.links.values()]) if (link.peer) removeLink(this, link.peer.ns, link.peer.name);
    this.namespaces.delete(name);
  }

  /** The namespace, or the refusal `ip -n` gives for a missing one. */
  ns(name: string, operation: string): FakeNamespace {
    return checkFakeNamespace(name, operation, { namespaces: this.namespaces, tool: 'ip' })!;
  }

  /** MACs in order, 02:00:00:xx:xx:xx, as the kernel hands out random ones. */
  newMac(): string {
    const n = ++this.macs;
    return `02:00:00:${[n >> 16, n >> 8, n].map((b) => (b & 0xff).toString(16).padStart(2, '0')).join(':')}`;
  }

  /** Validates and applies one op; throws a KdpError with the kernel's code and wording. */
  apply(op: NetOp): void {
    const operation = describeOp(op);
    const ns = this.ns(op.ns, operation);
    if (isLinkOp(op)) applyLinkOp(this, ns, op, operation);
    else if (isAddressOp(op)) applyAddressOp(ns, op, operation);
    else if (isRouteOp(op)) applyRouteOp(ns, op, operation);
    else if (op.kind === 'sysctl.set') ns.sysctls.set(op.key, op.value, operation, ns.name);
    else {
      const unhandled: never = op; // a new kind of op needs its facility here
      throw new Error(`the fake kernel has no facility for ${JSON.stringify(unhandled)}`);
    }
  }

  /** Routes of a namespace as the kernel lists them: the added ones plus connected and local routes. */
  routesOf(nsName: string, table: number | 'all', operation: string): RouteInfo[] {
    return listRoutes(this.ns(nsName, operation), table);
  }
}
