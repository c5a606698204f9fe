/**
 * Argument checks every NetOp passes before it reaches the kernel (real) or the fake's state:
 * the namespace guard, interface names, addresses and CIDRs, MACs, MTUs, sysctl keys. Keeping them in
 * one place means the fake rejects exactly what the real implementation rejects up front.
 */
import { isIpv4, parseIpv4Cidr } from './cidr.ts';
import { KERNEL_ERR, kernelError } from './errors.ts';
import { isUnicastMac } from './mac.ts';
import { assertIfName, assertKdpNamespace } from './name-checks.ts';
import type { FdbSpec, NetOp, RouteSpec } from './types.ts';

export const MIN_MTU = 68;
export const MAX_MTU = 65535;

// Sysctl keys in dotted form; a '/' inside a segment stands for a '.' in the file name
// (net.ipv4.conf.eth0/100.forwarding), as sysctl(8) writes it. No segment can be '..'.
const SYSCTL_KEY_RE = /^net(\.[A-Za-z0-9_@/-]+)+$/;

/** /proc/sys path of a net.* key, after checking the key cannot escape /proc/sys/net. */
export function sysctlPath(key: string, operation: string, namespace?: string): string {
  if (!SYSCTL_KEY_RE.test(key)) {
    throw kernelError(KERNEL_ERR.invalid, `"${key}" is not a net.* sysctl key`, { operation, namespace });
  }
  return (
    '/proc/sys/' +
    key
      .split('.')
      .map((s) => s.replaceAll('/', '.'))
      .join('/')
  );
}

function invalid(message: string, op: NetOp, operation: string): never {
  throw kernelError(KERNEL_ERR.invalid, message, { operation, namespace: op.ns });
}

function checkMtu(mtu: number | undefined, op: NetOp, operation: string): void {
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU))
    invalid(`MTU must be an integer from ${MIN_MTU} to ${MAX_MTU}, got ${mtu}`, op, operation);
}

function checkRoute(route: RouteSpec, op: NetOp, operation: string): void {
  if (route.dst !== 'default' && !parseIpv4Cidr(route.dst))
    invalid(`route destination must be "default" or an IPv4 CIDR, got "${route.dst}"`, op, operation);
  if (route.via !== undefined && !isIpv4(route.via))
    invalid(`gateway "${route.via}" is not an IPv4 address`, op, operation);
  if (route.src !== undefined && !isIpv4(route.src))
    invalid(`source "${route.src}" is not an IPv4 address`, op, operation);
  if (route.dev !== undefined) assertIfName(route.dev, operation, op.ns);
  if (route.via === undefined && route.dev === undefined && op.kind !== 'route.delete')
    invalid('a route needs a gateway (via) or a device (dev)', op, operation);
  if (route.onlink && route.via === undefined) invalid('onlink needs a gateway', op, operation);
  if (
    route.table !== undefined &&
    (!Number.isInteger(route.table) || route.table < 1 || route.table > 0xfffffffe)
  )
    invalid(`table must be an integer from 1 to ${0xfffffffe}, got ${route.table}`, op, operation);
  if (route.metric !== undefined && (!Number.isInteger(route.metric) || route.metric < 0))
    invalid(`metric must be a non-negative integer, got ${route.metric}`, op, operation);
}

/** Throws KDP_ERR_KERNEL_HOST_NAMESPACE or KDP_ERR_KERNEL_INVALID; `operation` names the op in messages. */
export function checkOp(op: NetOp, prefix: string, operation: string): void {
  assertKdpNamespace(op.ns, prefix, operation);
  switch (op.kind) {
    case 'bridge.add':
      assertIfName(op.name, operation, op.ns);
      checkMtu(op.mtu, op, operation);
      return;
    case 'veth.add':
      assertKdpNamespace(op.peerNs, prefix, operation);
      assertIfName(op.name, operation, op.ns);
      assertIfName(op.peerName, operation, op.peerNs);
      if (op.ns === op.peerNs && op.name === op.peerName)
        invalid(`a veth's two ends cannot share the name "${op.name}" in one namespace`, op, operation);
      checkMtu(op.mtu, op, operation);
      return;
    case 'vxlan.add':
      assertIfName(op.name, operation, op.ns);
      assertIfName(op.dev, operation, op.ns);
      if (!Number.isInteger(op.vni) || op.vni < 1 || op.vni > 0xffffff)
        invalid(`VNI must be an integer from 1 to ${0xffffff}, got ${op.vni}`, op, operation);
      if (!isIpv4(op.local)) invalid(`local "${op.local}" is not an IPv4 address`, op, operation);
      if (!Number.isInteger(op.port) || op.port < 1 || op.port > 65535)
        invalid(`port must be an integer from 1 to 65535, got ${op.port}`, op, operation);
      checkMtu(op.mtu, op, operation);
      if (op.address !== undefined && !isUnicastMac(op.address))
        invalid(`address must be a unicast MAC like 02:00:00:00:00:01, got "${op.address}"`, op, operation);
      return;
    case 'link.set':
      assertIfName(op.name, operation, op.ns);
      if (op.master) assertIfName(op.master, operation, op.ns);
      if (op.master === op.name) invalid(`link "${op.name}" cannot be its own master`, op, operation);
      checkMtu(op.mtu, op, operation);
      if (op.address !== undefined && !isUnicastMac(op.address))
        invalid(`address must be a unicast MAC like 02:00:00:00:00:01, got "${op.address}"`, op, operation);
      if (
        op.up === undefined &&
        op.master === undefined &&
        op.mtu === undefined &&
        op.address === undefined &&
        op.hairpin === undefined
      )
        invalid('link change sets nothing', op, operation);
      if (
        op.hairpin !== undefined &&
        (op.up !== undefined || op.master !== undefined || op.mtu !== undefined || op.address !== undefined)
      )
        invalid('hairpin is set in a change of its own, once the link is a bridge port', op, operation);
      return;
    case 'link.move':
      assertKdpNamespace(op.targetNs, prefix, operation);
      assertIfName(op.name, operation, op.ns);
      return;
    case 'link.delete':
      assertIfName(op.name, operation, op.ns);
      return;
    case 'addr.add':
    case 'addr.delete': {
      assertIfName(op.dev, operation, op.ns);
      const c = parseIpv4Cidr(op.cidr);
      if (!c || !op.cidr.includes('/'))
        invalid(`address must be an IPv4 CIDR like 10.0.0.1/24, got "${op.cidr}"`, op, operation);
      return;
    }
    case 'route.add':
    case 'route.replace':
    case 'route.delete':
      checkRoute(op.route, op, operation);
      return;
    case 'neigh.add':
    case 'neigh.replace':
    case 'neigh.delete':
      assertIfName(op.neigh.dev, operation, op.ns);
      if (!isIpv4(op.neigh.ip)) invalid(`neighbour "${op.neigh.ip}" is not an IPv4 address`, op, operation);
      if (op.kind !== 'neigh.delete' && !isUnicastMac(op.neigh.lladdr))
        invalid(
          `lladdr must be a unicast MAC like 0a:58:0a:f4:00:02, got "${op.neigh.lladdr}"`,
          op,
          operation,
        );
      return;
    case 'sysctl.set':
      sysctlPath(op.key, operation, op.ns);
      if (/[\n\0]/.test(op.value))
        invalid(`sysctl value for ${op.key} holds a newline or NUL`, op, operation);
      return;
  }
}

/** `bridge fdb ...` as a person would type it inside the namespace. */
export function describeFdb(verb: 'add' | 'append' | 'replace' | 'del', e: FdbSpec): string {
  return `bridge fdb ${verb} ${e.lladdr} dev ${e.dev} dst ${e.dst} self${verb === 'del' ? '' : ' permanent'}`;
}

/** The checks of an FDB entry before `bridge` (or the fake) sees it. */
export function checkFdb(ns: string, e: FdbSpec, prefix: string, operation: string): void {
  assertKdpNamespace(ns, prefix, operation);
  assertIfName(e.dev, operation, ns);
  const fail = (message: string) => {
    throw kernelError(KERNEL_ERR.invalid, message, { operation, namespace: ns });
  };
  if (!isUnicastMac(e.lladdr)) fail(`lladdr must be a unicast MAC like 0a:58:0a:f4:01:00, got "${e.lladdr}"`);
  if (!isIpv4(e.dst)) fail(`dst "${e.dst}" is not an IPv4 address`);
}
