/**
 * A test fixture: the NetworkPlan of a small host-gw cluster laid out as DESIGN.md describes
 * (fabric bridge, node namespaces with an uplink, forwarding and a cni0 bridge, pod namespaces
 * with eth0, address and default route), built from a Topology's names and address plan. Kernel
 * tests apply it to the fake (unit) and to the real kernel (integration) to exercise the plan
 * path on a realistic shape. It is not the cluster builder, which also records state, starts
 * agents and cleans up.
 */
import { planAddresses, type NodeAddressPlan } from '../topology-addresses.ts';
import {
  CNI_BRIDGE,
  FABRIC_BRIDGE,
  NODE_UPLINK,
  POD_INTERFACE,
  fabricNamespace,
  fabricPortName,
} from '../topology-names.ts';
import type { Topology } from '../topology.ts';
import { NetworkPlan } from '../../kernel/network-plan.ts';

export interface ExampleLayout {
  plan: NetworkPlan;
  fabric: string;
  nodes: NodeAddressPlan[];
  /** Every namespace the plan creates. */
  namespaces: string[];
}

/** Routes on each node to every other node's pod CIDR via that node's underlay address. */
export function hostGwRoutes(plan: NetworkPlan, nodes: readonly NodeAddressPlan[]): NetworkPlan {
  for (const node of nodes) {
    for (const other of nodes) {
      if (other !== node) plan.addRoute(node.netns, { dst: other.podCidr, via: other.underlayIp });
    }
  }
  return plan;
}

export function exampleLayout(topology: Topology, options: { hostGw: boolean }): ExampleLayout {
  const plan = new NetworkPlan();
  const fabric = fabricNamespace(topology.cluster);
  const nodes = planAddresses(topology);
  const mtu = topology.mtu;
  plan.createNamespace(fabric);
  for (const node of nodes) {
    plan.createNamespace(node.netns);
    for (const pod of node.pods) plan.createNamespace(pod.netns);
  }

  plan.addBridge(fabric, FABRIC_BRIDGE, { mtu }).setLink(fabric, FABRIC_BRIDGE, { up: true });
  for (const node of nodes) {
    const port = fabricPortName(node.index);
    plan.addVeth({ ns: fabric, name: port, peerNs: node.netns, peerName: NODE_UPLINK, mtu });
    plan.setLink(fabric, port, { master: FABRIC_BRIDGE, up: true });

    // The sysctl first: it runs as its own process, and first it does not split the ip batch.
    plan.setSysctl(node.netns, 'net.ipv4.ip_forward', '1');
    plan.setLink(node.netns, 'lo', { up: true });
    plan
      .setLink(node.netns, NODE_UPLINK, { up: true })
      .addAddress(node.netns, NODE_UPLINK, node.underlayCidr);
    plan.addBridge(node.netns, CNI_BRIDGE, { mtu }).setLink(node.netns, CNI_BRIDGE, { up: true });
    plan.addAddress(node.netns, CNI_BRIDGE, `${node.gateway}/${topology.nodeCidrMaskSize}`);
    for (const pod of node.pods) {
      plan.addVeth({ ns: node.netns, name: pod.veth, peerNs: pod.netns, peerName: POD_INTERFACE, mtu });
      plan.setLink(node.netns, pod.veth, { master: CNI_BRIDGE, up: true });
      plan.setLink(pod.netns, 'lo', { up: true }).setLink(pod.netns, POD_INTERFACE, { up: true });
      plan.addAddress(pod.netns, POD_INTERFACE, pod.cidr);
      plan.addRoute(pod.netns, { dst: 'default', via: node.gateway });
    }
  }
  if (options.hostGw) hostGwRoutes(plan, nodes);
  return { plan, fabric, nodes, namespaces: [...plan.namespaces] };
}
