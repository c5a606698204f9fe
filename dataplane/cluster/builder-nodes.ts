/**
 * Nodes joining and leaving a running cluster. Joining is what bring-up does for one node: a Node
 * object (labels, InternalIP), a pod CIDR from node IPAM, the node namespace in one kernel plan
 * (uplink on the fabric bridge, forwarding, cni0), a supervised agent, and then a wait until that
 * agent reports the Node Ready; a node that fails to join is removed again. Leaving is `kubectl
 * drain` and more: cordon (the scheduler places nothing new there), delete its pods and wait for
 * its agent to stop them, stop the agent, delete the Node (every other agent's host-gw drops its
 * route and neighbour entry for it, following the Node watch), then remove its namespaces, the
 * processes in them and its state. A drain that does not finish in time is forced: whatever the
 * agent left is removed all the same.
 */
import { rmSync } from 'node:fs';
import { AgentState } from '../agent/state.ts';
import { isApiError } from '../api/errors.ts';
import type { Node, Pod } from '../api/types.ts';
import type { ApiClient } from '../client/interface.ts';
import { CleanupSteps, describeError, KdpError } from '../errors.ts';
import { parseIpv4Cidr, subnetCount } from '../kernel/cidr.ts';
import { NetworkPlan } from '../kernel/network-plan.ts';
import { addNodeToPlan } from './builder-plan.ts';
import type { NodeRecord } from './builder-state.ts';
import { someNames, waitForNodesReady, waitForObjects } from './builder-wait.ts';
import { type ClusterParts, createNodes, startAgent, writeRecord } from './builder.ts';
import { findKdpProcesses, killAll } from './cleanup-processes.ts';
import { fabricNamespace, fabricPortName } from './topology-names.ts';
import { isDnsSubdomain, MAX_NODES, topologyError, type Topology, type TopologyNode } from './topology.ts';

export const NO_SUCH_NODE = 'KDP_ERR_NO_SUCH_NODE';
export const CLUSTER_FULL = 'KDP_ERR_CLUSTER_FULL';

export interface AddNodeOptions {
  /** The Node's name; default node-<index>, the index being the lowest free one. */
  name?: string;
  /** For the pod CIDR and for the agent to report the Node Ready; default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RemoveNodeOptions {
  /** For the drain: the node's pods to be stopped and gone; default 60 s, then it is forced. */
  timeoutMs?: number;
  /** Grace period of the drained pods; default each pod's own. */
  gracePeriodSeconds?: number;
  signal?: AbortSignal;
}

/** The lowest index with no node, so that names and addresses stay as compact as at bring-up. */
function freeIndex(t: Topology): number {
  const subnets = subnetCount(t.podCidr, t.nodeCidrMaskSize);
  if (t.nodes.length >= subnets) {
    throw new KdpError(
      CLUSTER_FULL,
      `cluster "${t.cluster}" has ${t.nodes.length} nodes: podCidr ${t.podCidr} has no free /${t.nodeCidrMaskSize} for another`,
    );
  }
  const hosts = 2 ** (32 - parseIpv4Cidr(t.underlayCidr)!.prefix) - 2;
  const used = new Set(t.nodes.map((n) => n.index));
  for (let i = 1; i <= Math.min(MAX_NODES, hosts); i++) if (!used.has(i)) return i;
  throw new KdpError(
    CLUSTER_FULL,
    `cluster "${t.cluster}" has ${t.nodes.length} nodes, the most that ${MAX_NODES} and underlayCidr ${t.underlayCidr} allow`,
  );
}

/** Adds a node to a running cluster; resolves once its agent reports it Ready. */
export async function addNode(parts: ClusterParts, options: AddNodeOptions = {}): Promise<NodeRecord> {
  const client = parts.client!;
  const t = parts.topology;
  const index = freeIndex(t);
  const name = options.name ?? `node-${index}`;
  if (!isDnsSubdomain(name))
    throw topologyError([{ field: 'name', message: `must be a DNS subdomain, got "${name}"` }]);
  if (t.nodes.some((n) => n.name === name) || (await client.resource<Node>('nodes').tryGet(name)))
    throw topologyError([{ field: 'name', message: `a node named "${name}" exists already` }]);
  const node: TopologyNode = { index, name, pods: [] };
  let record: NodeRecord | undefined;
  try {
    [record] = await createNodes(parts, client, [node], options.signal);
    await parts.kernel.ops.apply(addNodeToPlan(new NetworkPlan(), t, record), { signal: options.signal });
    parts.nodes = [...parts.nodes, record];
    parts.topology = { ...t, nodes: [...t.nodes, node].sort((a, b) => a.index - b.index) };
    writeRecord(parts);
    startAgent(parts, record);
    await waitForNodesReady(
      client,
      { ...parts.topology, nodes: [node] },
      { signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 },
    );
    return record;
  } catch (e) {
    await dismantle(parts, name, record).catch((de: unknown) =>
      parts.log('error', `removing node ${name} after it failed to join: ${describeError(de)}`),
    );
    throw e;
  }
}

/** Drains a node, stops its agent, deletes its Node object and removes its namespaces and state. */
export async function removeNode(
  parts: ClusterParts,
  name: string,
  options: RemoveNodeOptions = {},
): Promise<void> {
  const record = parts.nodes.find((n) => n.name === name);
  if (!record) throw new KdpError(NO_SUCH_NODE, `no node "${name}" in cluster "${parts.topology.cluster}"`);
  const client = parts.client!;
  try {
    await client
      .resource<Node>('nodes')
      .patch(name, { spec: { unschedulable: true } }, { type: 'merge' })
      .catch(ignoreNotFound);
    await drain(client, name, options);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    parts.log('warn', `node ${name} did not drain cleanly, removing what is left: ${describeError(e)}`);
  }
  await dismantle(parts, name, record);
}

function ignoreNotFound(e: unknown): undefined {
  if (isApiError(e, 'NotFound')) return undefined;
  throw e;
}

/** Deletes the node's pods and waits until its agent has stopped them and they are gone. */
async function drain(client: ApiClient, node: string, options: RemoveNodeOptions): Promise<void> {
  const api = client.resource<Pod>('pods');
  const fieldSelector = `spec.nodeName=${node}`;
  const { items } = await api.listAll({ fieldSelector });
  await Promise.all(
    items.map((p) =>
      api
        .delete(p.metadata.name!, {
          namespace: p.metadata.namespace,
          gracePeriodSeconds: options.gracePeriodSeconds,
        })
        .catch(ignoreNotFound),
    ),
  );
  await waitForObjects<Pod, true>(
    client,
    'pods',
    `the pods of node ${node} to be gone`,
    (list) => ({
      done: list.length === 0 ? true : undefined,
      pending: `${list.length} left: ${someNames(list.map((p) => `${p.metadata.namespace}/${p.metadata.name}`))}`,
    }),
    { fieldSelector, timeoutMs: options.timeoutMs ?? 60_000, signal: options.signal },
  );
}

/**
 * Removes all there is of a node, whatever state it is in: its agent, the processes and namespaces
 * of its pods (from its agent's records) and its own, its fabric port, any Pod objects still bound
 * to it, its Node object and state directory; then the cluster forgets it. `record` is absent when
 * the node never got as far as a pod CIDR. Every step is attempted; the first failure is thrown.
 */
async function dismantle(parts: ClusterParts, name: string, record: NodeRecord | undefined): Promise<void> {
  const steps = new CleanupSteps();
  const attempt = (fn: () => unknown) => steps.attempt(fn);
  const { kernel, paths, topology } = parts;
  const client = parts.client!;
  const agent = parts.agents.get(name);
  await attempt(() => agent?.stop());
  parts.agents.delete(name);
  const records = await new AgentState(paths.nodeDir(name)).loadPods(() => {}).catch(() => []);
  const namespaces = [
    ...(record ? [record.netns] : []),
    ...records.map((r) => r.netns).filter((ns) => ns !== record?.netns),
  ];
  await attempt(async () => {
    const agentTitle = `kdp:${topology.cluster}:agent:${name}`;
    const found = findKdpProcesses({ titlePrefix: agentTitle, namespaces, pidDirs: [paths.nodeDir(name)] });
    // The title is a prefix match: node-1's must not take node-10's agent along.
    const left = await killAll(found.filter((p) => p.reason !== 'title' || p.title === agentTitle));
    if (left.length) throw new KdpError('KDP_ERR_CLEANUP', `processes ${left.join(', ')} would not exit`);
  });
  const pods = client.resource<Pod>('pods');
  await attempt(async () => {
    const { items } = await pods.listAll({ fieldSelector: `spec.nodeName=${name}` });
    await Promise.all(
      items.map((p) =>
        pods
          .delete(p.metadata.name!, { namespace: p.metadata.namespace, gracePeriodSeconds: 0 })
          .catch(ignoreNotFound),
      ),
    );
  });
  await attempt(() => client.resource<Node>('nodes').delete(name).catch(ignoreNotFound));
  if (record) {
    // The fabric port first and at once: the kernel takes a deleted namespace's veths down
    // asynchronously, and a node added next with this index needs the port's name.
    await attempt(async () => {
      const fabric = fabricNamespace(topology.cluster);
      const port = fabricPortName(record.index);
      if ((await kernel.links.list(fabric)).some((l) => l.name === port))
        await kernel.links.delete(fabric, port);
    });
  }
  await attempt(async () => {
    const existing = new Set(await kernel.netns.list(kernel.prefix));
    await kernel.netns.deleteMany(namespaces.filter((ns) => existing.has(ns)));
  });
  rmSync(paths.nodeDir(name), { recursive: true, force: true });
  parts.nodes = parts.nodes.filter((n) => n.name !== name);
  parts.topology = { ...topology, nodes: topology.nodes.filter((n) => n.name !== name) };
  await attempt(() => writeRecord(parts));
  steps.finish(`removing node ${name}`);
}
