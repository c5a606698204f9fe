/**
 * Pod sandboxes: a pod's network namespace with eth0 (the far end of a veth whose near end is a
 * port of the node's cni0 bridge), its address from the node's pod CIDR, a default route via the
 * bridge's address and loopback up. Many pods are set up by one NetworkPlan: one `ip netns add`
 * batch for all namespaces, one batch in the node namespace for all veths, one small batch per
 * pod namespace (see dataplane/kernel/README.md). A plan is not atomic and says only which
 * operation failed first, so after a failure each pod of the batch is cleaned and set up again on
 * its own, which tells exactly which pods failed and why. Teardown deletes the namespaces; a
 * leftover veth of a name that is needed again is removed before the set-up that needs it.
 *
 * ARP between a pod and its node is static: eth0 gets the MAC that follows from the pod's address
 * (macFromIpv4), the pod has a permanent entry for its gateway (cni0's fixed MAC) and the node one
 * for the pod on cni0. Every namespace shares the kernel's one neighbour table, whose gc_thresh3
 * (1024 by default, settable only in the host's root namespace) a thousand pods would exceed with
 * dynamic entries; permanent ones do not count against it. The node's entry lives on cni0, so it
 * outlives the pod's veth and is deleted with the pod.
 */
import { describeError } from '../errors.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import { cidrContains } from '../kernel/cidr.ts';
import { macFromIpv4 } from '../kernel/mac.ts';
import { NetworkPlan } from '../kernel/network-plan.ts';
import { POD_INTERFACE } from '../cluster/topology-names.ts';

/** The node side every pod of the node shares. */
export interface NodeNetwork {
  netns: string;
  bridge: string;
  /** cni0's MAC, fixed: the pods' permanent neighbour entry for their gateway points at it. */
  bridgeMac: string;
  mtu: number;
  /** cni0's address, the pods' default gateway. */
  gateway: string;
  /** Prefix length of the node's pod CIDR, the pods' addresses carry it. */
  prefixLength: number;
}

export interface SandboxSpec {
  netns: string;
  veth: string;
  ip: string;
}

/** Adds the set-up of `pods` to `plan`. */
export function sandboxPlan(
  node: NodeNetwork,
  pods: readonly SandboxSpec[],
  plan = new NetworkPlan(),
): NetworkPlan {
  for (const pod of pods) plan.createNamespace(pod.netns);
  for (const pod of pods) {
    plan.addVeth({
      ns: node.netns,
      name: pod.veth,
      peerNs: pod.netns,
      peerName: POD_INTERFACE,
      mtu: node.mtu,
    });
    plan.setLink(node.netns, pod.veth, { master: node.bridge, up: true });
    // As flannel's CNI config (bridge plugin, hairpinMode): with br_netfilter a pod reaching itself
    // through a Service is DNATed back to the port it came from, which the bridge refuses otherwise.
    plan.setLink(node.netns, pod.veth, { hairpin: true });
    const mac = macFromIpv4(pod.ip);
    // Replace, not add: an entry left by an earlier attempt for this address has the same MAC.
    plan.replaceNeighbour(node.netns, { ip: pod.ip, dev: node.bridge, lladdr: mac });
    // Containers run unprivileged (workloads/privileges.ts): as container runtimes do, any user
    // may bind the pod's low ports (kdp/echo's 7), in the pod's own namespace only.
    plan.setSysctl(pod.netns, 'net.ipv4.ip_unprivileged_port_start', '0');
    plan.setLink(pod.netns, 'lo', { up: true });
    plan.setLink(pod.netns, POD_INTERFACE, { address: mac, up: true });
    plan.addAddress(pod.netns, POD_INTERFACE, `${pod.ip}/${node.prefixLength}`);
    plan.replaceNeighbour(pod.netns, { ip: node.gateway, dev: POD_INTERFACE, lladdr: node.bridgeMac });
    plan.addRoute(pod.netns, { dst: 'default', via: node.gateway });
  }
  return plan;
}

/** The permanent entries on cni0 that pod set-up made: the MAC follows from the address. */
async function podNeighbours(kernel: Kernel, node: Pick<NodeNetwork, 'netns' | 'bridge'>) {
  return (await kernel.neighbours.list(node.netns, node.bridge)).filter(
    (n) => n.state === 'permanent' && n.lladdr === macFromIpv4(n.ip),
  );
}

/**
 * Deletes the node's entries on cni0 for pod addresses in the pod CIDR that no pod holds (`keep`):
 * what a pod removed while its record was lost would leave behind. For a restarted agent.
 */
export async function removeStrayNeighbours(
  kernel: Kernel,
  node: Pick<NodeNetwork, 'netns' | 'bridge' | 'gateway' | 'prefixLength'>,
  keep: ReadonlySet<string>,
): Promise<number> {
  const podCidr = `${node.gateway}/${node.prefixLength}`;
  const plan = new NetworkPlan();
  for (const n of await podNeighbours(kernel, node)) {
    if (n.ip !== node.gateway && cidrContains(podCidr, n.ip) && !keep.has(n.ip))
      plan.deleteNeighbour(node.netns, n);
  }
  if (plan.ops.length > 0) await kernel.ops.apply(plan);
  return plan.ops.length;
}

/**
 * Removes sandboxes: the node's neighbour entries for their addresses (cni0 keeps them otherwise),
 * then the namespaces. Deleting a namespace takes its eth0 and so the veth pair with it, but the
 * kernel finishes that asynchronously; with `freeNames` the node-side veths are deleted first
 * (synchronously, about 20 ms each), so that the names can be used again at once.
 */
export async function removeSandboxes(
  kernel: Kernel,
  node: Pick<NodeNetwork, 'netns' | 'bridge'>,
  pods: readonly (Pick<SandboxSpec, 'netns' | 'veth'> & { ip?: string })[],
  options: { freeNames: boolean },
): Promise<void> {
  if (pods.length === 0) return;
  const plan = new NetworkPlan();
  const ips = new Set(pods.map((p) => p.ip).filter((ip) => ip));
  if (ips.size > 0) {
    for (const n of await podNeighbours(kernel, node)) if (ips.has(n.ip)) plan.deleteNeighbour(node.netns, n);
  }
  if (options.freeNames) {
    const links = new Set((await kernel.links.list(node.netns)).map((l) => l.name));
    for (const pod of pods) if (links.has(pod.veth)) plan.deleteLink(node.netns, pod.veth);
  }
  if (plan.ops.length > 0) await kernel.ops.apply(plan);
  const existing = new Set(await kernel.netns.list(kernel.prefix));
  await kernel.netns.deleteMany(pods.map((p) => p.netns).filter((ns) => existing.has(ns)));
}

/**
 * Sets up `pods`; resolves with the error of each pod that could not be set up (none: all done).
 * Leftovers of an earlier attempt (a namespace or veth with the same name) are removed first.
 */
export async function createSandboxes(
  kernel: Kernel,
  node: NodeNetwork,
  pods: readonly SandboxSpec[],
  concurrency = 4,
): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  if (pods.length === 0) return failures;
  const existing = new Set(await kernel.netns.list(kernel.prefix));
  const links = new Set((await kernel.links.list(node.netns)).map((l) => l.name));
  const stale = pods.filter((p) => existing.has(p.netns) || links.has(p.veth));
  if (stale.length > 0) await removeSandboxes(kernel, node, stale, { freeNames: true });
  try {
    await kernel.ops.apply(sandboxPlan(node, pods));
    return failures;
  } catch {
    // Which pods are complete is unknown: redo each alone, a few at a time.
  }
  const queue = [...pods];
  const worker = async () => {
    for (let pod = queue.shift(); pod; pod = queue.shift()) {
      try {
        await removeSandboxes(kernel, node, [pod], { freeNames: true });
        await kernel.ops.apply(sandboxPlan(node, [pod]));
      } catch (e) {
        failures.set(pod.netns, describeError(e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pods.length) }, worker));
  return failures;
}
