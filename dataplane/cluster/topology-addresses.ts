/**
 * The address plan of a Topology: node i (1-based) has underlay address number i of the
 * underlay CIDR (198.18.0.1 for node 1) and, when node IPAM is not involved, the i-th pod subnet
 * in order (10.244.0.0/24 for node 1, as an allocator that hands out the first free subnet would);
 * inside a pod subnet the node's bridge has the first address and pods follow from the second.
 */
import { nthAddress, nthSubnet, parseIpv4Cidr } from '../kernel/cidr.ts';
import { TOPOLOGY_POD_NAMESPACE, nodeNamespace, podNamespace, podVethName } from './topology-names.ts';
import type { Topology } from './topology.ts';

export interface PodAddressPlan {
  name: string;
  /** Kubernetes namespace. */
  podNamespace: string;
  /** Network namespace. */
  netns: string;
  ip: string;
  /** The pod interface's address with the node subnet's prefix: 10.244.0.2/24. */
  cidr: string;
  /** Node-side veth name. */
  veth: string;
}

export interface NodeAddressPlan {
  index: number;
  name: string;
  netns: string;
  underlayIp: string;
  /** Underlay address with the underlay's prefix: 198.18.0.1/16. */
  underlayCidr: string;
  podCidr: string;
  /** The node bridge's address and its pods' default gateway: 10.244.0.1. */
  gateway: string;
  pods: PodAddressPlan[];
}

export function nodeUnderlayIp(topology: Topology, nodeIndex: number): string {
  return nthAddress(topology.underlayCidr, nodeIndex);
}

export function nodePodCidr(topology: Topology, nodeIndex: number): string {
  return nthSubnet(topology.podCidr, topology.nodeCidrMaskSize, nodeIndex - 1);
}

/** Address of the `podNumber`-th pod (1-based) in a node's pod CIDR: .2 for the first. */
export function podIp(nodePodCidr: string, podNumber: number): string {
  return nthAddress(nodePodCidr, podNumber + 1);
}

export function planAddresses(topology: Topology): NodeAddressPlan[] {
  const underlayPrefix = parseIpv4Cidr(topology.underlayCidr)!.prefix;
  return topology.nodes.map((node) => {
    const podCidr = nodePodCidr(topology, node.index);
    const underlayIp = nodeUnderlayIp(topology, node.index);
    return {
      index: node.index,
      name: node.name,
      netns: nodeNamespace(topology.cluster, node.index),
      underlayIp,
      underlayCidr: `${underlayIp}/${underlayPrefix}`,
      podCidr,
      gateway: nthAddress(podCidr, 1),
      pods: node.pods.map((name, j) => {
        const ip = podIp(podCidr, j + 1);
        return {
          name,
          podNamespace: TOPOLOGY_POD_NAMESPACE,
          netns: podNamespace(topology.cluster, TOPOLOGY_POD_NAMESPACE, name),
          ip,
          cidr: `${ip}/${topology.nodeCidrMaskSize}`,
          veth: podVethName(TOPOLOGY_POD_NAMESPACE, name),
        };
      }),
    };
  });
}
