/**
 * A stand-in kubelet for Nodes that have no real agent, in the spirit of KWOK: it makes Pods bound
 * to such a Node look as if they run (phase Running, Ready, a podIP from the Node's pod CIDR,
 * hostIP the Node's InternalIP) and finishes their deletion, and keeps the Node Ready. Nothing
 * runs and no packet moves: it exists so the standalone apiserver and the benchmarks can drive
 * realistic endpoint churn (scale, rollouts, deletions) without network namespaces. A Node is
 * simulated when labelled kdp.dev/simulated=true, or every Node with `allNodes`.
 */
import type { Condition, Node, Pod } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { CidrSet } from './cidr-set.ts';
import { type ControllerOptions, ignoreNotFound, keyOf, QueueController, splitKey } from './controller.ts';
import { ensureIndex } from './informers.ts';
import { OwnWrites } from './own-writes.ts';
import { isPodReady, isTerminal, nowTimestamp } from './pods.ts';

export const LABEL_SIMULATED = 'kdp.dev/simulated';

export interface SimulatedKubeletOptions extends ControllerOptions {
  /** Simulate every Node, not only those labelled kdp.dev/simulated=true. */
  allNodes?: boolean;
  /** How long a bound Pod takes to start and become Ready, ms; default 0 (at once). */
  startupDelayMs?: number;
  /** How long a terminating Pod takes to go away, ms; default 0 (at once). */
  terminationDelayMs?: number;
}

const BY_NODE = 'simulated-kubelet/node';
const POD = 'pod:';
const NODE = 'node:';

function condition(type: string, now: string): Condition {
  return { type, status: 'True', lastProbeTime: null, lastTransitionTime: now };
}

export class SimulatedKubelet extends QueueController {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly ownPods: OwnWrites<Pod>;
  private readonly ownNodes: OwnWrites<Node>;
  private readonly allNodes: boolean;
  private readonly startupDelayMs: number;
  private readonly terminationDelayMs: number;
  /** Pod uid -> when this kubelet first saw it bound to one of its Nodes (ms), for startupDelayMs. */
  private readonly boundAt = new Map<string, number>();
  /** Per Node: its pod CIDR's address pool. */
  private readonly pools = new Map<string, CidrSet>();
  /** Pod uid -> the address it was given (kept across retries, released on delete). */
  private readonly addresses = new Map<string, { node: string; ip: string }>();

  constructor(client: ApiClient, opts: SimulatedKubeletOptions = {}) {
    super('simulated-kubelet', client, opts, 4);
    this.allNodes = opts.allNodes ?? false;
    this.startupDelayMs = Math.max(0, opts.startupDelayMs ?? 0);
    this.terminationDelayMs = Math.max(0, opts.terminationDelayMs ?? 0);
    this.pods = ensureIndex(this.informer<Pod>('pods'), BY_NODE, (p) =>
      p.spec.nodeName ? [p.spec.nodeName] : [],
    );
    this.nodes = this.informer<Node>('nodes');
    this.ownPods = new OwnWrites(this.pods, true);
    this.ownNodes = new OwnWrites(this.nodes, false);
    this.pods.addHandlers({
      onAdd: (p) => this.podEvent(p),
      onUpdate: (_o, p) => this.podEvent(p),
      onDelete: (p) => this.releaseAddress(p),
    });
    this.nodes.addHandlers({
      onAdd: (n) => this.nodeEvent(n),
      onUpdate: (_o, n) => this.nodeEvent(n),
      onDelete: (n) => this.pools.delete(n.metadata.name!),
    });
  }

  protected syncedInformers() {
    return [this.pods, this.nodes];
  }

  private simulated(node: Node | undefined): node is Node {
    return !!node && (this.allNodes || node.metadata.labels?.[LABEL_SIMULATED] === 'true');
  }

  private podEvent(pod: Pod): void {
    if (pod.spec.nodeName && this.simulated(this.nodes.get(pod.spec.nodeName)))
      this.queue.add(POD + keyOf(pod));
  }

  private nodeEvent(node: Node): void {
    if (!this.simulated(node)) return;
    this.queue.add(NODE + node.metadata.name);
    // Pods may have waited for the Node's pod CIDR or its address.
    for (const p of this.pods.byIndex(BY_NODE, node.metadata.name!)) this.queue.add(POD + keyOf(p));
  }

  /** Takes the addresses of Pods that already run before handing out new ones. */
  protected override prepare(): void {
    for (const pod of this.pods.list()) {
      const node = pod.spec.nodeName ? this.nodes.get(pod.spec.nodeName) : undefined;
      const ip = pod.status?.podIP;
      if (!this.simulated(node) || !ip || pod.spec.hostNetwork) continue;
      if (this.pool(node)?.occupy(ip))
        this.addresses.set(pod.metadata.uid!, { node: node.metadata.name!, ip });
    }
  }

  private pool(node: Node): CidrSet | undefined {
    const cidr = node.spec?.podCIDRs?.[0] ?? node.spec?.podCIDR;
    if (!cidr) return undefined;
    let pool = this.pools.get(node.metadata.name!);
    if (!pool || pool.cidr !== cidr) {
      // Network, gateway (.1, the bridge's address, as flannel's cni0) and broadcast are never Pods'.
      pool = new CidrSet(cidr, 32, [0, 1, -1]);
      this.pools.set(node.metadata.name!, pool);
    }
    return pool;
  }

  private releaseAddress(pod: Pod): void {
    this.boundAt.delete(pod.metadata.uid!);
    const a = this.addresses.get(pod.metadata.uid!);
    if (!a) return;
    this.addresses.delete(pod.metadata.uid!);
    this.pools.get(a.node)?.release(a.ip);
  }

  protected async sync(key: string): Promise<void> {
    if (key.startsWith(NODE)) return this.syncNode(key.slice(NODE.length));
    const { namespace, name } = splitKey(key.slice(POD.length));
    const pod = this.ownPods.get(name, namespace);
    if (!pod?.spec.nodeName) return;
    const node = this.nodes.get(pod.spec.nodeName);
    if (!this.simulated(node)) return;
    if (pod.metadata.deletionTimestamp) return this.finishDeletion(key, pod);
    if (isTerminal(pod) || (pod.status?.phase === 'Running' && isPodReady(pod) && pod.status.podIP)) return;
    if (this.startupDelayMs) {
      const uid = pod.metadata.uid!;
      if (!this.boundAt.has(uid)) this.boundAt.set(uid, Date.now());
      const wait = this.boundAt.get(uid)! + this.startupDelayMs - Date.now();
      if (wait > 0) return this.queue.addAfter(key, wait);
    }
    const hostIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    let podIP: string | undefined;
    if (pod.spec.hostNetwork) podIP = hostIP;
    else {
      podIP = this.addresses.get(pod.metadata.uid!)?.ip;
      if (!podIP) {
        const pool = this.pool(node);
        if (!pool) return; // no pod CIDR yet: the Node's update brings the Pod back
        podIP = pool.allocateNext();
        if (!podIP) {
          this.log(
            'error',
            `node ${node.metadata.name}: no free address in ${pool.cidr} for pod ${namespace}/${name}`,
          );
          return;
        }
        this.addresses.set(pod.metadata.uid!, { node: node.metadata.name!, ip: podIP });
      }
    }
    const now = nowTimestamp();
    const status = {
      ...pod.status,
      phase: 'Running' as const,
      conditions: [
        'PodReadyToStartContainers',
        'Initialized',
        'Ready',
        'ContainersReady',
        'PodScheduled',
      ].map((t) => condition(t, now)),
      startTime: pod.status?.startTime ?? now,
      containerStatuses: pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        containerID: `kdp://${pod.metadata.uid}/${c.name}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
      ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
      ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    };
    this.ownPods.wrote(await this.client.resource<Pod>('pods').updateStatus({ ...pod, status }));
  }

  private async finishDeletion(key: string, pod: Pod): Promise<void> {
    const requested =
      Date.parse(pod.metadata.deletionTimestamp!) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    const wait = requested + this.terminationDelayMs - Date.now();
    if (wait > 0) {
      this.queue.addAfter(key, wait);
      return;
    }
    await this.client
      .resource<Pod>('pods')
      .delete(pod.metadata.name!, {
        namespace: pod.metadata.namespace,
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      })
      .catch(ignoreNotFound);
    this.ownPods.removed(pod);
  }

  private async syncNode(name: string): Promise<void> {
    const node = this.ownNodes.get(name);
    if (!this.simulated(node)) return;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return;
    const now = nowTimestamp();
    const conditions: Condition[] = (node.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
    conditions.push({
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      message: 'kdp simulated kubelet is posting ready status',
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    this.ownNodes.wrote(
      await this.client
        .resource<Node>('nodes')
        .updateStatus({ ...node, status: { ...node.status, conditions } }),
    );
  }
}
