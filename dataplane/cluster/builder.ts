/**
 * The builder: realises a Topology as a running cluster, step by step, and takes it apart again.
 * Bring-up: refuse if the cluster's namespaces exist; start the apiserver (unix socket in the
 * state directory) and the controllers (no simulated kubelet: the agents are the kubelets);
 * create the Node objects and wait for node IPAM to give each a pod CIDR; build the fabric and
 * every node namespace in one kernel plan; start one supervised agent per node; create the
 * topology's pods bound to their nodes and wait until all are Ready. Every step reports progress.
 * Whatever fails, everything made so far is removed (teardown() is also what close() runs).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { ApiServer } from '../api/apiserver.ts';
import type { Node, Pod } from '../api/types.ts';
import { connect } from '../client/index.ts';
import type { ApiClient } from '../client/interface.ts';
import { stderrLog, type Log } from '../log.ts';
import { type RunningControllers, startControllers } from '../controllers/manager.ts';
import { CleanupSteps, KdpError, describeError } from '../errors.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import { createIproute2Kernel } from '../kernel/iproute2/kernel.ts';
import { ANY_HOST, checkProxyMode } from '../proxy/modes.ts';
import {
  AGENT_MAIN,
  AGENT_MISSING,
  type AgentSpawner,
  type AgentStatus,
  processAgentSpawner,
  SupervisedAgent,
  type SupervisorTuning,
} from './builder-agents.ts';
import { clusterDnsIp, createClusterDns, waitForClusterDns } from './builder-dns.ts';
import { LABEL_CLUSTER, nodeObject, nodeStatus, podKey, topologyPods } from './builder-objects.ts';
import { clusterPlan, nodeRecord } from './builder-plan.ts';
import {
  type ClusterPaths,
  type ClusterRecord,
  clusterPaths,
  ensureDir,
  type NodeRecord,
  writeJsonAtomic,
} from './builder-state.ts';
import { someNames, waitForNodesReady, waitForObjects, waitForPodsReady } from './builder-wait.ts';
import { clusterNamespaces, knownClusters } from './cleanup.ts';
import { findKdpProcesses, killAll } from './cleanup-processes.ts';
import { clusterPrefix, fabricNamespace } from './topology-names.ts';
import { resolveTopology, type Topology, type TopologyInput, type TopologyNode } from './topology.ts';

export const CLUSTER_EXISTS = 'KDP_ERR_CLUSTER_EXISTS';

export type BuildPhase = 'preflight' | 'apiserver' | 'nodes' | 'network' | 'agents' | 'pods' | 'ready';

export interface BuildProgress {
  phase: BuildPhase;
  message: string;
  done?: number;
  total?: number;
  /** Since create() began, ms. */
  elapsedMs: number;
}

export interface BuildOptions {
  signal?: AbortSignal;
  /** State directory; default /run/kdp/<cluster>. */
  stateDir?: string;
  onProgress?(progress: BuildProgress): void;
  /** Warnings (agent restarts, controller trouble); default: warnings and errors to stderr. */
  log?: Log;
  /** How long to wait for every pod to be Ready; default 60 s plus 60 ms per pod. */
  readyTimeoutMs?: number;
  /** Image of the topology's pods (default kdp/http; kdp/pause for network-only pods). */
  podImage?: string;
  /** Tests: the kernel (default iproute2 narrowed to the cluster's prefix). */
  kernel?: Kernel;
  /** Tests: how an agent process is started (default: dataplane/agent/main.ts in the node netns). */
  spawnAgent?: AgentSpawner;
  agentTuning?: SupervisorTuning;
  /** Every change of an agent's state (started, died, restarted, stopped). */
  onAgentChange?(status: AgentStatus): void;
}

/** Everything a cluster holds; filled step by step so a failed create tears down what exists. */
export interface ClusterParts {
  topology: Topology;
  paths: ClusterPaths;
  kernel: Kernel;
  log: Log;
  server?: ApiServer;
  client?: ApiClient;
  controllers?: RunningControllers;
  nodes: NodeRecord[];
  agents: Map<string, SupervisedAgent>;
  spawnAgent: AgentSpawner;
  agentTuning?: SupervisorTuning;
  onAgentChange?(status: AgentStatus): void;
  /** The state directory was made by this cluster (and is removed with it). */
  ownsStateDir: boolean;
}

const quietLogger: Log = stderrLog('kdp');

/** A Topology given back (already resolved) is turned into input again, so both are accepted. */
export function toTopology(input: TopologyInput | Topology): Topology {
  const nodes = (input as { nodes?: unknown }).nodes;
  if (Array.isArray(nodes) && nodes.every((n) => typeof n === 'object' && n && 'index' in n)) {
    const t = input as Topology;
    return resolveTopology({ ...t, nodes: t.nodes.map((n) => ({ name: n.name, pods: n.pods })) });
  }
  return resolveTopology(input);
}

/** Whether something accepts connections on the unix socket. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Throws KDP_ERR_CLUSTER_EXISTS when anything of the cluster is there already: its namespaces, or
 * an apiserver answering on its socket. Nothing is changed.
 */
export async function assertClusterAbsent(
  cluster: string,
  options: { kernel?: Kernel; stateDir?: string } = {},
): Promise<void> {
  const kernel = options.kernel ?? createIproute2Kernel({ prefix: clusterPrefix(cluster) });
  const paths = clusterPaths(cluster, options.stateDir);
  const existing = clusterNamespaces(
    await kernel.netns.list(clusterPrefix(cluster)),
    cluster,
    knownClusters(),
  );
  const live = existsSync(paths.socket) && (await socketAnswers(paths.socket));
  if (existing.length > 0 || live) {
    const what = live
      ? `its apiserver answers on ${paths.socket}`
      : `its namespaces exist (${someNames(existing, 3)})`;
    throw new KdpError(
      CLUSTER_EXISTS,
      `cluster "${cluster}" is already running or was not cleaned up: ${what}; ` +
        `stop it with \`kdp down --name ${cluster}\` or remove it with \`kdp cleanup --name ${cluster}\``,
    );
  }
}

async function preflight(parts: ClusterParts, usingDefaultAgent: boolean): Promise<void> {
  // A proxy mode this host cannot run fails here, before anything exists, not in every agent.
  // Stand-in agents run no proxier: only whether kdp has the mode at all is checked for them.
  const { warnings } = checkProxyMode(parts.topology.proxyMode, {
    flags: parts.topology.proxyModeFlags,
    host: usingDefaultAgent ? undefined : ANY_HOST,
  });
  for (const w of warnings) parts.log('warn', `proxy mode ${parts.topology.proxyMode}: ${w}`);
  await assertClusterAbsent(parts.topology.cluster, { kernel: parts.kernel, stateDir: parts.paths.dir });
  if (usingDefaultAgent && !existsSync(AGENT_MAIN)) {
    throw new KdpError(AGENT_MISSING, `the node agent ${AGENT_MAIN} does not exist in this checkout`);
  }
}

async function startApiserver(parts: ClusterParts, signal?: AbortSignal): Promise<ApiClient> {
  const t = parts.topology;
  parts.server = await ApiServer.start({
    stateDir: parts.paths.dir,
    socketPath: parts.paths.socket,
    kubeconfigPath: parts.paths.kubeconfig,
    serviceCIDR: t.serviceCidr,
    nodePortRange: { first: t.nodePortRange.min, last: t.nodePortRange.max },
    denyServiceExternalIPs: t.denyServiceExternalIPs,
  });
  const client = connect({ dispatcher: parts.server.dispatcher });
  parts.client = client;
  parts.controllers = await startControllers(client, {
    clusterCIDR: t.podCidr,
    nodeCIDRMaskSize: t.nodeCidrMaskSize,
    log: parts.log,
    signal,
  });
  return client;
}

/** Creates Node objects for `nodes` and waits until node IPAM has given each its pod CIDR. */
export async function createNodes(
  parts: ClusterParts,
  client: ApiClient,
  nodes: readonly TopologyNode[],
  signal?: AbortSignal,
): Promise<NodeRecord[]> {
  const t = parts.topology;
  const api = client.resource<Node>('nodes');
  await Promise.all(
    nodes.map(async (n) => {
      const created = await api.create(nodeObject(t, n));
      await api.updateStatus({ ...created, status: nodeStatus(t, n) });
    }),
  );
  const cidrs = await waitForObjects<Node, Map<string, string>>(
    client,
    'nodes',
    'node IPAM to give every node a pod CIDR',
    (list) => {
      const got = new Map(
        list.filter((n) => n.spec?.podCIDR).map((n) => [n.metadata.name!, n.spec!.podCIDR!]),
      );
      const missing = nodes.filter((n) => !got.has(n.name)).map((n) => n.name);
      return { done: missing.length ? undefined : got, pending: `no pod CIDR yet: ${someNames(missing)}` };
    },
    { signal, timeoutMs: 15_000, labelSelector: `${LABEL_CLUSTER}=${t.cluster}` },
  );
  return nodes.map((n) => nodeRecord(t, n, cidrs.get(n.name)!));
}

export function writeRecord(parts: ClusterParts): void {
  const record: ClusterRecord = {
    cluster: parts.topology.cluster,
    pid: process.pid,
    createdAt: new Date().toISOString(),
    topology: parts.topology,
    fabricNetns: fabricNamespace(parts.topology.cluster),
    apiserverUrl: parts.server?.url,
    nodes: parts.nodes,
  };
  writeJsonAtomic(parts.paths.record, record);
}

/** Starts (and from then on supervises) the agent of one node. */
export function startAgent(parts: ClusterParts, node: NodeRecord): SupervisedAgent {
  const { paths, topology } = parts;
  ensureDir(paths.nodeDir(node.name));
  const agent = new SupervisedAgent(
    {
      cluster: topology.cluster,
      node: node.name,
      netns: node.netns,
      socketPath: paths.socket,
      tokenFile: parts.server?.credentials?.tokenPath,
      stateDir: paths.nodeDir(node.name),
      logPath: paths.agentLog(node.name),
      pidPath: paths.agentPid(node.name),
      overlay: topology.overlay,
      overlayEngine: topology.overlayEngine,
      proxyMode: topology.proxyMode,
      proxyModeFlags: topology.proxyModeFlags,
      clusterCidr: topology.podCidr,
      clusterDns: clusterDnsIp(topology),
    },
    parts.spawnAgent,
    (status: AgentStatus, message?: string) => {
      parts.onAgentChange?.(status);
      if (message) parts.log('warn', message, { node: status.node, restarts: status.restarts });
    },
    parts.agentTuning,
  );
  parts.agents.set(node.name, agent);
  agent.start();
  return agent;
}

async function createPods(client: ApiClient, pods: Pod[]): Promise<void> {
  const api = client.resource<Pod>('pods');
  for (let i = 0; i < pods.length; i += 64) {
    await Promise.all(pods.slice(i, i + 64).map((p) => api.create(p)));
  }
}

export async function buildCluster(
  input: TopologyInput | Topology,
  options: BuildOptions = {},
): Promise<ClusterParts> {
  const started = performance.now();
  const progress = (phase: BuildPhase, message: string, done?: number, total?: number) =>
    options.onProgress?.({ phase, message, done, total, elapsedMs: Math.round(performance.now() - started) });
  const topology = toTopology(input);
  const { cluster } = topology;
  const paths = clusterPaths(cluster, options.stateDir);
  const parts: ClusterParts = {
    topology,
    paths,
    kernel: options.kernel ?? createIproute2Kernel({ prefix: clusterPrefix(cluster) }),
    log: options.log ?? quietLogger,
    nodes: [],
    agents: new Map(),
    spawnAgent: options.spawnAgent ?? processAgentSpawner,
    agentTuning: options.agentTuning,
    onAgentChange: options.onAgentChange,
    ownsStateDir: false,
  };
  const signal = options.signal;
  progress('preflight', `checking that cluster "${cluster}" does not exist`);
  await preflight(parts, !options.spawnAgent);
  parts.ownsStateDir = !existsSync(paths.dir);
  try {
    ensureDir(paths.dir);
    signal?.throwIfAborted();
    progress('apiserver', 'starting the apiserver and controllers');
    const client = await startApiserver(parts, signal);
    const nodeCount = topology.nodes.length;
    progress('nodes', `creating ${nodeCount} Node objects`, 0, nodeCount);
    parts.nodes = await createNodes(parts, client, topology.nodes, signal);
    progress('network', `building the fabric and ${nodeCount} node namespaces`);
    await parts.kernel.ops.apply(clusterPlan(topology, parts.nodes), { signal });
    writeRecord(parts);
    signal?.throwIfAborted();
    progress('agents', `starting ${nodeCount} node agents`);
    for (const node of parts.nodes) startAgent(parts, node);
    // The DNS pods start with the topology's: bring-up waits for both at once.
    const withDns = await createClusterDns(client, topology);
    const pods = topologyPods(topology, options.podImage);
    progress('pods', `creating ${pods.length} pods`, 0, pods.length);
    await createPods(client, pods);
    const timeoutMs = options.readyTimeoutMs ?? 60_000 + 60 * pods.length;
    // Ready means every agent reports its Node Ready (so the scheduler uses them all) and every pod is Ready.
    await Promise.all([
      waitForNodesReady(client, topology, { signal, timeoutMs }),
      withDns ? waitForClusterDns(client, { signal, timeoutMs }) : undefined,
      waitForPodsReady(client, pods.map(podKey), {
        signal,
        timeoutMs,
        onCount: (ready, total) => progress('pods', `${ready}/${total} pods Ready`, ready, total),
      }),
    ]).catch((e: unknown) => {
      throw withAgentTrouble(parts, e);
    });
    progress('ready', `cluster "${cluster}" is ready: ${nodeCount} nodes, ${pods.length} pods`);
    return parts;
  } catch (e) {
    await teardown(parts).catch((te: unknown) =>
      parts.log('error', `cleanup after a failed create: ${describeError(te)}`),
    );
    throw e;
  }
}

function logTail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join(' | ') || '(empty)';
  } catch {
    return '(no log)';
  }
}

/** A wait that timed out says which agents were dying, which is usually why. */
function withAgentTrouble(parts: ClusterParts, e: unknown): unknown {
  const troubled = [...parts.agents.values()]
    .map((a) => a.snapshot)
    .filter((s) => s.restarts > 0 || s.state !== 'running');
  if (troubled.length === 0) return e;
  // The logs go with the cluster's state directory: their last lines travel in the error.
  const lines = troubled.map(
    (s) =>
      `${s.node}: ${s.state}, ${s.restarts} restarts; last log lines: ${logTail(parts.paths.agentLog(s.node), 5)}`,
  );
  return new KdpError('KDP_ERR_AGENT_FAILED', `node agents are failing: ${lines.join('; ')}`, { cause: e });
}

/**
 * Removes everything: agents, pod and other kdp processes of the cluster, controllers, the
 * apiserver, the cluster's namespaces and its state files. Safe on a partly built cluster.
 */
export async function teardown(parts: ClusterParts): Promise<void> {
  const steps = new CleanupSteps();
  const attempt = (fn: () => unknown) => steps.attempt(fn);
  await Promise.all([...parts.agents.values()].map((a) => attempt(() => a.stop())));
  const { cluster } = parts.topology;
  const prefix = clusterPrefix(cluster);
  const namespaces = await parts.kernel.netns.list(prefix).catch(() => [] as string[]);
  const mine = clusterNamespaces(namespaces, cluster, knownClusters());
  // With the real kernel the namespaces are under /run/netns and their processes can be found.
  await attempt(async () => {
    const found = findKdpProcesses({
      titlePrefix: `kdp:${cluster}:`,
      namespaces: mine,
      pidDirs: [parts.paths.dir + '/nodes'],
    });
    const left = await killAll(found);
    if (left.length) throw new KdpError('KDP_ERR_CLEANUP', `processes ${left.join(', ')} would not exit`);
  });
  await attempt(() => parts.controllers?.close());
  parts.client?.close();
  await attempt(() => parts.server?.close());
  await attempt(() => parts.kernel.netns.deleteMany(mine));
  const p = parts.paths;
  for (const f of [
    p.socket,
    p.token,
    p.kubeconfig,
    p.record,
    `${p.dir}/nodes`,
    `${p.dir}/pods`,
    `${p.dir}/pki`,
  ])
    rmSync(f, { recursive: true, force: true });
  if (parts.ownsStateDir) rmSync(p.dir, { recursive: true, force: true });
  steps.finish(`tearing down cluster "${cluster}"`);
}
