/**
 * Subnet leases as flannel's kube subnet manager keeps them: a node's subnet is its Node's
 * spec.podCIDR, and its agent publishes the rest on the Node as flannel's annotations - the
 * underlay address peers tunnel to (public-ip), the backend it runs (backend-type, flannel's
 * spelling) and that backend's data (backend-data, JSON, e.g. vxlan's VtepMAC). Peers read leases
 * back from the Nodes; a malformed annotation is ignored with a reason instead of breaking the
 * node's lease, as flanneld does. Also kdp's own kdp.dev/underlay-mac, which host-gw uses.
 */
import type { Node } from '../api/types.ts';
import { isIpv4, parseIpv4Cidr } from '../kernel/cidr.ts';
import { isUnicastMac } from '../kernel/mac.ts';
import { UNDERLAY_MAC_ANNOTATION, type OverlayNode } from './backend.ts';

const PREFIX = 'flannel.alpha.coreos.com';
export const LEASE_ANNOTATIONS = {
  publicIp: `${PREFIX}/public-ip`,
  backendType: `${PREFIX}/backend-type`,
  backendData: `${PREFIX}/backend-data`,
  kubeSubnetManager: `${PREFIX}/kube-subnet-manager`,
} as const;

/** The backend type as flannel spells it: both udp engines are flannel's "udp". */
export function flannelBackendType(backend: string): string {
  return backend === 'udp-ts' ? 'udp' : backend;
}

/** What an agent publishes about itself once its backend has started. */
export interface OwnLease {
  underlayIp: string;
  backend: string;
  backendData: unknown;
  underlayMac?: string;
}

/** The annotations that publish `lease`, exactly as flanneld writes them (data "null" when none). */
export function leaseAnnotations(lease: OwnLease): Record<string, string> {
  return {
    [LEASE_ANNOTATIONS.publicIp]: lease.underlayIp,
    [LEASE_ANNOTATIONS.backendType]: flannelBackendType(lease.backend),
    [LEASE_ANNOTATIONS.backendData]: JSON.stringify(lease.backendData ?? null),
    [LEASE_ANNOTATIONS.kubeSubnetManager]: 'true',
    ...(lease.underlayMac ? { [UNDERLAY_MAC_ANNOTATION]: lease.underlayMac } : {}),
  };
}

/** The annotations of `wanted` the Node does not carry yet with the same value. */
export function missingAnnotations(
  node: Node | undefined,
  wanted: Record<string, string>,
): Record<string, string> {
  const have = node?.metadata.annotations ?? {};
  return Object.fromEntries(Object.entries(wanted).filter(([k, v]) => have[k] !== v));
}

export interface ParsedLease {
  /** Undefined while the Node lacks a pod CIDR or any underlay address. */
  lease?: OverlayNode;
  /** Annotations that were ignored, and why. */
  ignored: string[];
}

/** A Node's lease: public-ip preferred over the InternalIP; malformed annotations ignored with a reason. */
export function parseLease(node: Node): ParsedLease {
  const ignored: string[] = [];
  const a = node.metadata.annotations ?? {};
  const podCidr = node.spec?.podCIDRs?.[0] ?? node.spec?.podCIDR;
  let publicIp: string | undefined = a[LEASE_ANNOTATIONS.publicIp];
  if (publicIp !== undefined && !isIpv4(publicIp)) {
    ignored.push(`${LEASE_ANNOTATIONS.publicIp} "${publicIp}" is not an IPv4 address`);
    publicIp = undefined;
  }
  const underlayIp = publicIp ?? node.status?.addresses?.find((x) => x.type === 'InternalIP')?.address;
  const name = node.metadata.name;
  if (!name || !podCidr || !underlayIp) return { ignored };
  if (!parseIpv4Cidr(podCidr) || !podCidr.includes('/')) {
    return { ignored: [...ignored, `spec.podCIDR "${podCidr}" is not an IPv4 CIDR`] };
  }
  const lease: OverlayNode = { name, podCidr, underlayIp };
  const mac = a[UNDERLAY_MAC_ANNOTATION]?.toLowerCase();
  if (mac !== undefined) {
    if (isUnicastMac(mac)) lease.underlayMac = mac;
    else ignored.push(`${UNDERLAY_MAC_ANNOTATION} "${mac}" is not a unicast MAC`);
  }
  const type = a[LEASE_ANNOTATIONS.backendType];
  if (type !== undefined) {
    if (/^[a-z][a-z0-9-]{0,31}$/.test(type)) lease.backendType = type;
    else ignored.push(`${LEASE_ANNOTATIONS.backendType} "${type}" is not a backend name`);
  }
  const data = a[LEASE_ANNOTATIONS.backendData];
  if (data !== undefined) {
    try {
      lease.backendData = JSON.parse(data) as unknown;
    } catch {
      ignored.push(`${LEASE_ANNOTATIONS.backendData} is not JSON`);
    }
  }
  return { lease, ignored };
}

/** Whether two leases differ in anything a backend programs from. */
export function leaseChanged(a: OverlayNode | undefined, b: OverlayNode | undefined): boolean {
  return (
    a?.podCidr !== b?.podCidr ||
    a?.underlayIp !== b?.underlayIp ||
    a?.underlayMac !== b?.underlayMac ||
    a?.backendType !== b?.backendType ||
    JSON.stringify(a?.backendData) !== JSON.stringify(b?.backendData)
  );
}
