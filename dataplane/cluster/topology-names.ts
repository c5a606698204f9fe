/**
 * Every name kdp derives for a cluster, in one place so that the builder, the agents and
 * `kdp cleanup` agree: namespace names (all under `kdp-<cluster>-`, which cleanup relies on),
 * the state directory, and interface names that fit the kernel's 15 characters however long the
 * pod names are (a pod's node-side veth is named from a hash of its namespace/name).
 */
import { createHash } from 'node:crypto';

/** The bridge in the fabric namespace that every node's uplink is a port of (the underlay). */
export const FABRIC_BRIDGE = 'fabric0';
/** The bridge in each node namespace that its pods' veths are ports of. */
export const CNI_BRIDGE = 'cni0';
/** A node's uplink to the fabric, inside the node namespace. */
export const NODE_UPLINK = 'eth0';
/** A pod's interface, inside the pod namespace. */
export const POD_INTERFACE = 'eth0';
/** Kubernetes namespace of the pods a topology declares. */
export const TOPOLOGY_POD_NAMESPACE = 'default';

// Namespace file names stay well under NAME_MAX (255); longer pod names are shortened with a hash.
const MAX_POD_NAMESPACE_LENGTH = 128;

function shortHash(text: string, hexChars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

/** `kdp-<cluster>-`: every namespace of the cluster starts with it; cleanup finds them by it. */
export function clusterPrefix(cluster: string): string {
  return `kdp-${cluster}-`;
}

export function fabricNamespace(cluster: string): string {
  return `${clusterPrefix(cluster)}fabric`;
}

export function nodeNamespace(cluster: string, nodeIndex: number): string {
  return `${clusterPrefix(cluster)}node-${nodeIndex}`;
}

/**
 * `kdp-<cluster>-pod-<namespace>.<name>`: Kubernetes namespaces are DNS labels (no dots), so
 * the first dot separates them unambiguously. Too long a name keeps its start and gets a hash.
 */
export function podNamespace(cluster: string, podNs: string, podName: string): string {
  const full = `${clusterPrefix(cluster)}pod-${podNs}.${podName}`;
  if (full.length <= MAX_POD_NAMESPACE_LENGTH) return full;
  const hash = shortHash(`${podNs}/${podName}`, 12);
  return `${full.slice(0, MAX_POD_NAMESPACE_LENGTH - hash.length - 1)}-${hash}`;
}

/** The fabric-side end of node `nodeIndex`'s uplink: fab-node-250 at most (12 characters). */
export function fabricPortName(nodeIndex: number): string {
  return `fab-node-${nodeIndex}`;
}

/** The node-side end of a pod's veth: `veth` + 8 hex digits of the pod's identity (12 characters). */
export function podVethName(podNs: string, podName: string): string {
  return `veth${shortHash(`${podNs}/${podName}`, 8)}`;
}

/** /run/kdp/<cluster>: pid files, sockets, leases of a running cluster. */
export function stateDir(cluster: string): string {
  return `/run/kdp/${cluster}`;
}
