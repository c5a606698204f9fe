/**
 * One namespace of the fake kernel: its links, addresses, routes, permanent neighbours, FDB entries
 * and sysctls. Plain state, apart from FakeNetworkState (which validates and applies operations)
 * so that the facility files (fake-links.ts, fake-routes.ts, ...) can use it without importing
 * FakeNetworkState back. Also the one namespace check every fake makes (checkFakeNamespace) and
 * the kernel's refusal of a missing link.
 */
import { KERNEL_ERR, kernelError, type KernelErrorCode } from '../errors.ts';
import { assertKdpNamespace } from '../name-checks.ts';
import type { AddressInfo, FdbInfo, NeighbourInfo, RouteInfo, VxlanInfo } from '../types.ts';
import { FakeSysctls } from './fake-sysctls.ts';

export interface FakeLink {
  name: string;
  kind: 'veth' | 'bridge' | 'vxlan' | 'loopback';
  mtu: number;
  up: boolean;
  master?: string;
  /** MAC address; the fake hands out 02:00:00:xx:xx:xx in order, as the kernel hands out random ones. */
  address: string;
  /** The MAC was set explicitly (a bridge then keeps it whatever its ports are). */
  addressSet?: boolean;
  /** Hairpin mode, for a bridge port. */
  hairpin?: boolean;
  /** The other end of a veth, wherever it lives. */
  peer?: { ns: string; name: string };
  vxlan?: VxlanInfo;
}

export class FakeNamespace {
  readonly links = new Map<string, FakeLink>();
  readonly addresses: AddressInfo[] = [];
  /** Routes added by operations; connected routes are derived from addresses (see routesOf). */
  readonly routes: RouteInfo[] = [];
  /** Permanent entries only: the fake has no traffic to resolve dynamic ones. */
  readonly neighbours: NeighbourInfo[] = [];
  /** Static entries of vxlan links (fake-vxlan.ts). */
  readonly fdb: FdbInfo[] = [];
  readonly sysctls: FakeSysctls;

  constructor(
    readonly name: string,
    extraSysctls: Readonly<Record<string, string>>,
  ) {
    this.links.set('lo', {
      name: 'lo',
      kind: 'loopback',
      mtu: 65536,
      up: false,
      address: '00:00:00:00:00:00',
    });
    this.sysctls = new FakeSysctls(extraSysctls);
    this.sysctls.addLink('lo');
  }
}

/** Throws the KdpError the kernel's refusal becomes: its code and wording, the operation, the namespace. */
export function kernelFail(
  code: KernelErrorCode,
  message: string,
  operation: string,
  namespace?: string,
): never {
  throw kernelError(code, message, { operation, namespace });
}

/** The link `name` of the namespace, or the kernel's "Cannot find device". */
export function linkOf(ns: FakeNamespace, name: string, operation: string): FakeLink {
  const link = ns.links.get(name);
  if (!link) kernelFail(KERNEL_ERR.notFound, `Cannot find device "${name}"`, operation, ns.name);
  return link;
}

export interface FakeNamespaceCheck {
  /** The name must carry this prefix, as the real guard checks (assertKdpNamespace); unset: not checked. */
  prefix?: string;
  /** The namespaces that exist; unset: existence is not checked (a fake used without a FakeKernel). */
  namespaces?: ReadonlyMap<string, FakeNamespace>;
  /** Which tool's refusal a missing namespace gets: `ip -n` or nsenter (iptables, conntrack). */
  tool: 'ip' | 'nsenter';
}

/**
 * The one namespace check of every fake: the name's prefix, then that the namespace exists, each
 * refused as the real implementation refuses it. Returns the namespace when `namespaces` is given.
 */
export function checkFakeNamespace(
  name: string,
  operation: string,
  check: FakeNamespaceCheck,
): FakeNamespace | undefined {
  if (check.prefix !== undefined) assertKdpNamespace(name, check.prefix, operation);
  if (!check.namespaces) return undefined;
  const ns = check.namespaces.get(name);
  if (ns) return ns;
  const message =
    check.tool === 'ip'
      ? `Cannot open network namespace "${name}": No such file or directory`
      : `nsenter: cannot open /run/netns/${name}: No such file or directory`;
  return kernelFail(KERNEL_ERR.notFound, message, operation, check.tool === 'ip' ? undefined : name);
}
