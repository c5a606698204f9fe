/**
 * A client outside the cluster: a network namespace attached to the fabric bridge (the underlay)
 * like a node, but with no Node object, no agent and no pods: a machine on the same network as
 * the nodes, for what only an outsider can test (NodePorts, external IPs, load balancer IPs,
 * externalTrafficPolicy). Its namespace is kdp-<cluster>-ext-<name>, under the cluster's prefix,
 * so teardown and `kdp cleanup` remove it with the rest. Its address counts down from the top of
 * the underlay CIDR (198.18.255.254 first), far from the nodes' (which count up from .0.1).
 * With `via` it also routes the pod and service networks through that node, as a router in
 * front of a cluster would, so ClusterIPs and pod IPs are reachable from it as well.
 */
import { nthAddress, parseIpv4Cidr } from '../kernel/cidr.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import { macFromIpv4 } from '../kernel/mac.ts';
import { NetworkPlan } from '../kernel/network-plan.ts';
import { KdpError } from '../errors.ts';
import type { NodeRecord } from './builder-state.ts';
import { clusterPrefix, FABRIC_BRIDGE, fabricNamespace } from './topology-names.ts';
import type { Topology } from './topology.ts';

/** Interface of the client inside its namespace. */
export const EXTERNAL_CLIENT_INTERFACE = 'eth0';
/** At most this many at once: their fabric ports are fab-ext-<1..99>. */
export const MAX_EXTERNAL_CLIENTS = 99;

export interface ExternalClientOptions {
  /** A DNS label; default client-<index>. */
  name?: string;
  /** A node to route the cluster's pod and service CIDRs through (a router in front of the cluster). */
  via?: string;
}

export interface ExternalClientRecord {
  name: string;
  index: number;
  netns: string;
  /** Its underlay address. */
  ip: string;
  /** The node it routes the cluster's networks through, if any. */
  via?: string;
}

export function externalClientNamespace(cluster: string, name: string): string {
  return `${clusterPrefix(cluster)}ext-${name}`;
}

function fabricPort(index: number): string {
  return `fab-ext-${index}`;
}

/** Address number `index` counted down from the top of the underlay. */
export function externalClientIp(topology: Topology, index: number): string {
  const prefix = parseIpv4Cidr(topology.underlayCidr)!.prefix;
  return nthAddress(topology.underlayCidr, 2 ** (32 - prefix) - 1 - index);
}

/** The plan that attaches client `index` to the fabric. Pure. */
export function externalClientPlan(
  topology: Topology,
  client: ExternalClientRecord,
  via?: NodeRecord,
): NetworkPlan {
  const fabric = fabricNamespace(topology.cluster);
  const port = fabricPort(client.index);
  const prefix = parseIpv4Cidr(topology.underlayCidr)!.prefix;
  const dev = EXTERNAL_CLIENT_INTERFACE;
  const plan = new NetworkPlan()
    .createNamespace(client.netns)
    .addVeth({ ns: fabric, name: port, peerNs: client.netns, peerName: dev, mtu: topology.mtu })
    .setLink(fabric, port, { master: FABRIC_BRIDGE, up: true })
    .setLink(client.netns, 'lo', { up: true })
    .setLink(client.netns, dev, { address: macFromIpv4(client.ip), up: true })
    .addAddress(client.netns, dev, `${client.ip}/${prefix}`);
  if (via) {
    for (const dst of [topology.podCidr, topology.serviceCidr])
      plan.addRoute(client.netns, { dst, via: via.underlayIp, dev });
  }
  return plan;
}

/** Creates an external client; `taken` are the clients that exist. */
export async function addExternalClient(
  kernel: Kernel,
  topology: Topology,
  nodes: readonly NodeRecord[],
  taken: readonly ExternalClientRecord[],
  options: ExternalClientOptions = {},
): Promise<ExternalClientRecord> {
  const used = new Set(taken.map((c) => c.index));
  let index = 1;
  while (used.has(index)) index++;
  if (index > MAX_EXTERNAL_CLIENTS)
    throw new KdpError(
      'KDP_ERR_CLUSTER_FULL',
      `cluster "${topology.cluster}" has ${taken.length} external clients already`,
    );
  const name = options.name ?? `client-${index}`;
  if (!/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(name))
    throw new KdpError(
      'KDP_ERR_USAGE',
      `external client name "${name}": a DNS label of at most 32 characters`,
    );
  if (taken.some((c) => c.name === name))
    throw new KdpError('KDP_ERR_USAGE', `an external client named "${name}" exists already`);
  const via = options.via === undefined ? undefined : nodes.find((n) => n.name === options.via);
  if (options.via !== undefined && !via)
    throw new KdpError('KDP_ERR_NO_SUCH_NODE', `no node "${options.via}" in cluster "${topology.cluster}"`);
  const record: ExternalClientRecord = {
    name,
    index,
    netns: externalClientNamespace(topology.cluster, name),
    ip: externalClientIp(topology, index),
    via: via?.name,
  };
  try {
    await kernel.ops.apply(externalClientPlan(topology, record, via));
  } catch (e) {
    await kernel.netns.delete(record.netns).catch(() => {});
    throw e;
  }
  return record;
}
