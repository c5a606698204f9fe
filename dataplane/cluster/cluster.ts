/**
 * The library API scenario scripts use: `await using cluster = await Cluster.create({ nodes: 2 })`
 * brings a cluster up in this process (see builder.ts for the steps) and disposing of it takes it
 * all down again. In between: an API client, the kubeconfig, the nodes, nodes added and removed
 * while it runs (builder-nodes.ts), helpers to add, delete and scale pods and wait for them,
 * exec of a command in a pod's network namespace, and clients outside the cluster on the underlay
 * (external-client.ts). While a cluster is open, SIGINT and SIGTERM
 * close it before the process exits, so a Ctrl-C during a scenario leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import type { Deployment, Pod } from '../api/types.ts';
import type { ApiClient } from '../client/interface.ts';
import { KdpError } from '../errors.ts';
import type { AgentStatus } from './builder-agents.ts';
import {
  addNode,
  type AddNodeOptions,
  NO_SUCH_NODE,
  removeNode,
  type RemoveNodeOptions,
} from './builder-nodes.ts';
import { isPodReady, podObject, type PodOptions } from './builder-objects.ts';
import {
  addExternalClient,
  type ExternalClientOptions,
  type ExternalClientRecord,
} from './external-client.ts';
import type { NodeRecord } from './builder-state.ts';
import { someNames, waitForObjects, waitForPodsReady } from './builder-wait.ts';
import { ClusterBpf } from './cluster-bpf.ts';
import { buildCluster, type BuildOptions, type ClusterParts, teardown } from './builder.ts';
import { podNamespace, TOPOLOGY_POD_NAMESPACE } from './topology-names.ts';
import type { Topology, TopologyInput } from './topology.ts';

export interface ClusterOptions extends BuildOptions {
  /** Close the cluster on SIGINT/SIGTERM, then exit (default true). The supervisor handles its own. */
  handleSignals?: boolean;
}

export interface ClusterNode extends NodeRecord {
  agent: AgentStatus;
}

export interface PodExecResult {
  stdout: string;
  stderr: string;
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ExecOptions {
  input?: string;
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A machine outside the cluster on the underlay, and a way to run commands on it. */
export interface ExternalClient extends ExternalClientRecord {
  exec(argv: readonly string[], options?: ExecOptions): Promise<PodExecResult>;
}

/** A pod as `name`, `namespace/name` or the Pod object. */
export type PodRef = string | Pod;

export const POD_NOT_RUNNING = 'KDP_ERR_POD_NOT_RUNNING';

function splitRef(ref: PodRef): { namespace: string; name: string } {
  if (typeof ref !== 'string') {
    return { namespace: ref.metadata.namespace ?? TOPOLOGY_POD_NAMESPACE, name: ref.metadata.name! };
  }
  const slash = ref.indexOf('/');
  return slash < 0
    ? { namespace: TOPOLOGY_POD_NAMESPACE, name: ref }
    : { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

export class Cluster implements AsyncDisposable {
  private closing?: Promise<void>;
  /** Node additions and removals, one at a time: each picks an index from what the last left. */
  private nodeChanges: Promise<unknown> = Promise.resolve();
  private readonly externalClients: ExternalClientRecord[] = [];
  private readonly onSignal?: (signal: NodeJS.Signals) => void;
  private bpfHandle?: ClusterBpf;

  private constructor(
    private readonly parts: ClusterParts,
    handleSignals: boolean,
  ) {
    if (handleSignals) {
      this.onSignal = (signal) => {
        const code = signal === 'SIGINT' ? 130 : 143;
        void this.close().finally(() => process.exit(code));
      };
      process.once('SIGINT', this.onSignal);
      process.once('SIGTERM', this.onSignal);
    }
  }

  static async create(
    topology: TopologyInput | Topology = {},
    options: ClusterOptions = {},
  ): Promise<Cluster> {
    const parts = await buildCluster(topology, options);
    return new Cluster(parts, options.handleSignals ?? true);
  }

  get name(): string {
    return this.parts.topology.cluster;
  }

  get topology(): Topology {
    return this.parts.topology;
  }

  /** A client of this cluster's apiserver (in-process: no sockets in between). */
  get client(): ApiClient {
    return this.parts.client!;
  }

  /** For kubectl: `kubectl --kubeconfig <this> get pods -o wide`. */
  get kubeconfigPath(): string {
    return this.parts.paths.kubeconfig;
  }

  /** The apiserver's loopback URL (the kubeconfig's server). */
  get url(): string | undefined {
    return this.parts.server?.url;
  }

  get socketPath(): string {
    return this.parts.paths.socket;
  }

  get stateDir(): string {
    return this.parts.paths.dir;
  }

  get nodes(): ClusterNode[] {
    return this.parts.nodes.map((n) => ({
      ...n,
      agent: this.parts.agents.get(n.name)?.snapshot ?? { node: n.name, state: 'stopped', restarts: 0 },
    }));
  }

  /** The node's agent process: for tests that kill it and watch it come back. */
  agent(node: string): AgentStatus {
    const agent = this.parts.agents.get(node);
    if (!agent) throw new KdpError(NO_SUCH_NODE, `no node "${node}" in cluster "${this.name}"`);
    return agent.snapshot;
  }

  /**
   * Adds a node while the cluster runs (Node object, pod CIDR, namespace, agent) and resolves with
   * it once its agent reports it Ready. Its name defaults to node-<i>, i the lowest free index.
   */
  addNode(options: AddNodeOptions = {}): Promise<ClusterNode> {
    return this.serialise(async () => {
      const record = await addNode(this.parts, options);
      return this.nodes.find((n) => n.name === record.name)!;
    });
  }

  /**
   * Drains a node (cordon, delete its pods, wait until its agent has stopped them), stops its
   * agent, deletes its Node object (the other nodes' routes to it follow) and removes its
   * namespaces, processes and state.
   */
  removeNode(name: string, options: RemoveNodeOptions = {}): Promise<void> {
    return this.serialise(() => removeNode(this.parts, name, options));
  }

  /**
   * Attaches a client outside the cluster to the underlay (its own namespace on the fabric
   * bridge, an underlay address, no agent): for NodePorts and external traffic. With `via` it
   * routes the pod and service CIDRs through that node. It goes with the cluster.
   */
  addExternalClient(options: ExternalClientOptions = {}): Promise<ExternalClient> {
    return this.serialise(async () => {
      const { kernel, topology, nodes } = this.parts;
      const record = await addExternalClient(kernel, topology, nodes, this.externalClients, options);
      this.externalClients.push(record);
      return { ...record, exec: (argv, o) => runIn(kernel.netns.path(record.netns), argv, o) };
    });
  }

  private serialise<T>(change: () => Promise<T>): Promise<T> {
    const run = this.nodeChanges.then(() => {
      if (this.closing) throw new KdpError('KDP_ERR_CLUSTER_CLOSED', `cluster "${this.name}" is closed`);
      return change();
    });
    this.nodeChanges = run.catch(() => {});
    return run;
  }

  async pods(options: { namespace?: string; labelSelector?: string } = {}): Promise<Pod[]> {
    return (await this.client.resource<Pod>('pods').listAll(options)).items;
  }

  /** The network namespace a pod runs in (the agent creates it once the pod is bound). */
  podNetns(ref: PodRef): string {
    const { namespace, name } = splitRef(ref);
    return podNamespace(this.name, namespace, name);
  }

  /** Creates a pod (kdp/http by default) and, unless `wait` is false, waits until it is Ready. */
  async addPod(
    name: string,
    options: PodOptions & { wait?: boolean; timeoutMs?: number } = {},
  ): Promise<Pod> {
    const created = await this.client.resource<Pod>('pods').create(podObject(name, options));
    if (options.wait === false) return created;
    const [ready] = await waitForPodsReady(this.client, [`${created.metadata.namespace}/${name}`], {
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    return ready;
  }

  /** Deletes a pod gracefully (the agent stops it, then it is gone); waits for that unless told not to. */
  async deletePod(
    ref: PodRef,
    options: { wait?: boolean; gracePeriodSeconds?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    const { namespace, name } = splitRef(ref);
    await this.client.resource<Pod>('pods').delete(name, {
      namespace,
      gracePeriodSeconds: options.gracePeriodSeconds,
    });
    if (options.wait === false) return;
    await waitForObjects<Pod, true>(
      this.client,
      'pods',
      `pod ${namespace}/${name} to be gone`,
      (list) => ({ done: list.some((p) => p.metadata.name === name) ? undefined : true }),
      { namespace, timeoutMs: options.timeoutMs ?? 60_000 },
    );
  }

  /**
   * Waits until `count` pods matching `labelSelector` are Ready (and no others match that are
   * not terminating), e.g. after applying a Deployment. Returns the Ready pods.
   */
  waitForPods(
    labelSelector: string,
    count: number,
    options: { namespace?: string; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Pod[]> {
    const namespace = options.namespace ?? TOPOLOGY_POD_NAMESPACE;
    return waitForObjects<Pod, Pod[]>(
      this.client,
      'pods',
      `${count} Ready pods with ${labelSelector} in ${namespace}`,
      (list) => {
        const live = list.filter((p) => !p.metadata.deletionTimestamp);
        const ready = live.filter(isPodReady);
        const notReady = live.filter((p) => !isPodReady(p)).map((p) => p.metadata.name!);
        const ok = ready.length === count && live.length === count;
        return {
          done: ok ? ready : undefined,
          pending: `${ready.length} of ${live.length} Ready${notReady.length ? ` (waiting: ${someNames(notReady)})` : ''}`,
        };
      },
      { namespace, labelSelector, timeoutMs: options.timeoutMs ?? 60_000, signal: options.signal },
    );
  }

  /** Sets a Deployment's replicas and waits until exactly that many of its pods are Ready. */
  async scale(
    deployment: string,
    replicas: number,
    options: { namespace?: string; wait?: boolean; timeoutMs?: number } = {},
  ): Promise<Pod[]> {
    const namespace = options.namespace ?? TOPOLOGY_POD_NAMESPACE;
    const api = this.client.resource<Deployment>('apps/deployments');
    const d = await api.patch(deployment, { spec: { replicas } }, { namespace, type: 'merge' });
    if (options.wait === false) return [];
    const match = d.spec.selector.matchLabels ?? {};
    const selector = Object.entries(match)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return this.waitForPods(selector, replicas, { namespace, timeoutMs: options.timeoutMs });
  }

  /** Runs argv inside the pod's network namespace (the host's filesystem and programs). */
  exec(ref: PodRef, argv: readonly string[], options: ExecOptions = {}): Promise<PodExecResult> {
    if (argv.length === 0) return Promise.reject(new KdpError('KDP_ERR_USAGE', 'exec needs a command'));
    const netns = this.podNetns(ref);
    return this.parts.kernel.netns.exists(netns).then((exists) => {
      if (!exists) {
        const { namespace, name } = splitRef(ref);
        throw new KdpError(
          POD_NOT_RUNNING,
          `pod ${namespace}/${name} has no network namespace ${netns}: it does not exist or its node has not started it yet`,
        );
      }
      return runIn(this.parts.kernel.netns.path(netns), argv, options);
    });
  }

  /** eBPF: load your own objects and attach them to pods and nodes (dataplane/ebpf/README.md). */
  get bpf(): ClusterBpf {
    this.bpfHandle ??= new ClusterBpf({
      name: this.name,
      podNetns: (ref) => this.podNetns(ref),
      nodes: () => this.nodes,
    });
    return this.bpfHandle;
  }

  /** Stops the agents and removes every pod, namespace, process and state file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.onSignal) {
        process.off('SIGINT', this.onSignal);
        process.off('SIGTERM', this.onSignal);
      }
      // A node being added or removed finishes first, so teardown sees what it made.
      await this.nodeChanges;
      try {
        await this.bpfHandle?.close(); // links out before their namespaces go
      } finally {
        await teardown(this.parts);
      }
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** nsenter into a network namespace file and run argv, collecting output and the exit status. */
export function runIn(
  netnsFile: string,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<PodExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netnsFile}`, '--', ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
      signal: options.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {});
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        signal,
      }),
    );
    child.stdin.end(options.input ?? '');
  });
}
