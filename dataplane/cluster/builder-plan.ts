/**
 * The one kernel plan the builder applies at bring-up: the fabric namespace with its bridge (the
 * underlay), and per node a namespace with its uplink on that bridge (the node's underlay
 * address), IP forwarding, loopback up, a route for the service CIDR onto the uplink, and the cni0
 * bridge holding the first address of the node's pod CIDR as its pods' gateway. Both MACs are fixed (see the comments below). Pods and
 * the host-gw routes and neighbour entries between nodes are not here: the node agents make them
 * (they are the kubelet and the overlay). Pure: builds data only.
 */
import { nthAddress, parseIpv4Cidr } from '../kernel/cidr.ts';
import { macFromIpv4 } from '../kernel/mac.ts';
import { NetworkPlan } from '../kernel/network-plan.ts';
import type { NodeRecord } from './builder-state.ts';
import { nodeUnderlayIp } from './topology-addresses.ts';
import {
  CNI_BRIDGE,
  FABRIC_BRIDGE,
  NODE_UPLINK,
  fabricNamespace,
  fabricPortName,
  nodeNamespace,
} from './topology-names.ts';
import type { Topology, TopologyNode } from './topology.ts';

/** A node's addresses once node IPAM has given it a pod CIDR. */
export function nodeRecord(topology: Topology, node: TopologyNode, podCidr: string): NodeRecord {
  return {
    name: node.name,
    index: node.index,
    netns: nodeNamespace(topology.cluster, node.index),
    underlayIp: nodeUnderlayIp(topology, node.index),
    podCidr,
    gateway: nthAddress(podCidr, 1),
  };
}

/** A locally administered unicast MAC for node `index`'s cni0: 02:6b:64:70:HH:LL. */
export function bridgeMac(index: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `02:6b:64:70:${hex((index >> 8) & 0xff)}:${hex(index & 0xff)}`;
}

/** Adds one node's namespace, uplink and bridge to `plan` (also used when a node joins later). */
export function addNodeToPlan(plan: NetworkPlan, topology: Topology, node: NodeRecord): NetworkPlan {
  const fabric = fabricNamespace(topology.cluster);
  const mtu = topology.mtu;
  const underlayPrefix = parseIpv4Cidr(topology.underlayCidr)!.prefix;
  const podPrefix = parseIpv4Cidr(node.podCidr)!.prefix;
  const port = fabricPortName(node.index);
  plan.createNamespace(node.netns);
  plan.addVeth({ ns: fabric, name: port, peerNs: node.netns, peerName: NODE_UPLINK, mtu });
  plan.setLink(fabric, port, { master: FABRIC_BRIDGE, up: true });
  // The sysctl first: it runs as its own process, and first it does not split the node's ip batch.
  plan.setSysctl(node.netns, 'net.ipv4.ip_forward', '1');
  plan.setLink(node.netns, 'lo', { up: true });
  // The MAC follows from the underlay address, so a node that is removed and added again with the
  // same address has the same MAC, and peers' permanent entries for it (host-gw) stay right.
  plan.setLink(node.netns, NODE_UPLINK, { address: macFromIpv4(node.underlayIp), up: true });
  plan.addAddress(node.netns, NODE_UPLINK, `${node.underlayIp}/${underlayPrefix}`);
  // A real node's default route carries traffic for Service IPs into FORWARD and OUTPUT, where the
  // proxy DNATs or REJECTs it. The fabric has no router to be a default gateway, so the service
  // CIDR is routed onto the uplink instead: without a route, a connection to a ClusterIP without
  // endpoints ends "network unreachable" instead of refused, and the node cannot reach ClusterIPs.
  plan.addRoute(node.netns, { dst: topology.serviceCidr, dev: NODE_UPLINK });
  // A fixed MAC: otherwise cni0 takes its lowest port's and changes when that pod goes, and the
  // other pods' ARP entries for their gateway point at a MAC that is gone for seconds.
  plan.addBridge(node.netns, CNI_BRIDGE, { mtu });
  plan.setLink(node.netns, CNI_BRIDGE, { address: bridgeMac(node.index), up: true });
  plan.addAddress(node.netns, CNI_BRIDGE, `${node.gateway}/${podPrefix}`);
  return plan;
}

/** Fabric plus every node, in one plan: namespaces in one batch, then one batch per namespace. */
export function clusterPlan(topology: Topology, nodes: readonly NodeRecord[]): NetworkPlan {
  const plan = new NetworkPlan();
  const fabric = fabricNamespace(topology.cluster);
  plan.createNamespace(fabric);
  plan.setLink(fabric, 'lo', { up: true });
  plan.addBridge(fabric, FABRIC_BRIDGE, { mtu: topology.mtu }).setLink(fabric, FABRIC_BRIDGE, { up: true });
  for (const node of nodes) addNodeToPlan(plan, topology, node);
  return plan;
}
