/**
 * A minimal scheduler: binds each Pod without spec.nodeName to a Ready, schedulable Node, the one
 * running the fewest Pods (ties by name), so Pods spread evenly as with the default scheduler's
 * balancing on a uniform cluster. It honours spec.nodeSelector, NoSchedule/NoExecute taints and
 * tolerations, and spec.schedulerName; it has no resource fit, affinity or preemption. Binding is
 * an update of spec.nodeName (kdp's Pod strategy lets nodeName be set once), not the binding
 * subresource. A Pod no Node can take stays Pending and is retried when a Node appears or changes.
 */
import type { Node, Pod } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { type ControllerOptions, keyOf, QueueController, splitKey } from './controller.ts';
import { OwnWrites } from './own-writes.ts';
import { isTerminal } from './pods.ts';

interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
}

export function nodeIsSchedulable(node: Node): boolean {
  if (node.spec?.unschedulable || node.metadata.deletionTimestamp) return false;
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

/** Whether the Pod may run on the Node (ignoring how busy it is). */
export function podFitsNode(pod: Pod, node: Node): boolean {
  if (!nodeIsSchedulable(node)) return false;
  const selector = (pod.spec.nodeSelector ?? {}) as Record<string, string>;
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  const tolerations = (pod.spec.tolerations ?? []) as Toleration[];
  for (const taint of (node.spec?.taints ?? []) as Taint[]) {
    if (taint.effect !== 'PreferNoSchedule' && !tolerates(tolerations, taint)) return false;
  }
  return true;
}

function wantsScheduling(pod: Pod): boolean {
  const name = pod.spec.schedulerName;
  return (
    !pod.spec.nodeName &&
    !pod.metadata.deletionTimestamp &&
    !isTerminal(pod) &&
    (name === undefined || name === '' || name === 'default-scheduler')
  );
}

export class SchedulerController extends QueueController {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly own: OwnWrites<Pod>;
  /** Bound, non-terminal Pods per Node, kept from events (with this scheduler's own bindings). */
  private readonly load = new Map<string, number>();
  private readonly placed = new Map<string, string>();
  /** Pods that found no Node: retried when a Node appears or changes. */
  private readonly waiting = new Set<string>();

  constructor(client: ApiClient, opts: ControllerOptions = {}) {
    super('scheduler', client, opts);
    this.pods = this.informer<Pod>('pods');
    this.nodes = this.informer<Node>('nodes');
    this.own = new OwnWrites(this.pods, true);
    this.pods.addHandlers({
      onAdd: (p) => this.observe(p),
      onUpdate: (_o, p) => this.observe(p),
      onDelete: (p) => {
        this.account(keyOf(p), undefined);
        this.waiting.delete(keyOf(p));
      },
    });
    const retryWaiting = () => {
      for (const k of this.waiting) this.queue.add(k);
    };
    this.nodes.addHandlers({ onAdd: retryWaiting, onUpdate: retryWaiting });
  }

  protected syncedInformers() {
    return [this.pods, this.nodes];
  }

  /** Pods (namespace/name) no Node can take right now. */
  get waitingPods(): string[] {
    return [...this.waiting];
  }

  private observe(pod: Pod): void {
    const key = keyOf(pod);
    this.account(key, pod.spec.nodeName && !isTerminal(pod) ? pod.spec.nodeName : undefined);
    if (wantsScheduling(pod)) this.queue.add(key);
  }

  /** Moves a Pod's share of load to `node` (or off every Node). */
  private account(key: string, node: string | undefined): void {
    const prev = this.placed.get(key);
    if (prev === node) return;
    if (prev !== undefined) this.load.set(prev, (this.load.get(prev) ?? 1) - 1);
    if (node === undefined) this.placed.delete(key);
    else {
      this.placed.set(key, node);
      this.load.set(node, (this.load.get(node) ?? 0) + 1);
    }
  }

  protected async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.own.get(name, namespace);
    if (!pod || !wantsScheduling(pod)) {
      this.waiting.delete(key);
      return;
    }
    let best: Node | undefined;
    let bestLoad = Infinity;
    for (const node of this.nodes.list()) {
      if (!podFitsNode(pod, node)) continue;
      const n = this.load.get(node.metadata.name!) ?? 0;
      if (n < bestLoad || (n === bestLoad && node.metadata.name! < best!.metadata.name!)) {
        best = node;
        bestLoad = n;
      }
    }
    if (!best) {
      if (!this.waiting.has(key)) this.log('info', `pod ${key} waits: no ready, schedulable node fits it`);
      this.waiting.add(key);
      return;
    }
    this.waiting.delete(key);
    const nodeName = best.metadata.name!;
    const bound = await this.client.resource<Pod>('pods').update({ ...pod, spec: { ...pod.spec, nodeName } });
    this.own.wrote(bound);
    this.account(key, nodeName);
  }
}
