/**
 * The ReplicaSet controller (apps/v1): keeps spec.replicas Pods of each ReplicaSet, as upstream's
 * replica set controller does. It creates Pods from the template (generateName `<rs>-`, the
 * template's labels, a controller ownerReference), in slow-start batches (1, 2, 4, ...) so a bad
 * template fails fast; deletes the surplus, unscheduled first, then pending, not ready, and
 * newest; adopts orphan Pods its selector matches and releases owned Pods it no longer matches;
 * and reports status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas after
 * minReadySeconds, observedGeneration).
 */
import { findResource } from '../api/resources.ts';
import type { Pod, ReplicaSet } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import {
  type ControllerOptions,
  ignoreNotFound,
  keyOf,
  QueueController,
  sameJSON,
  splitKey,
} from './controller.ts';
import { OwnWrites } from './own-writes.ts';
import { claimChildren, ownerKeysOf } from './claims.ts';
import { isActive, isPodReady, ownerRef, podReadyCondition } from './pods.ts';

const REPLICASETS = findResource('apps', 'replicasets')!;
const MAX_BURST = 500;

/** Deletion preference, lower goes first: unscheduled, pending, not ready, ready for less time, newest. */
export function deletionRank(a: Pod, b: Pod): number {
  const cmp = (x: number, y: number) => (x === y ? 0 : x < y ? -1 : 1);
  const phase = (p: Pod) => ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase as string] ?? 0;
  return (
    cmp(a.spec.nodeName ? 1 : 0, b.spec.nodeName ? 1 : 0) ||
    cmp(phase(a), phase(b)) ||
    cmp(isPodReady(a) ? 1 : 0, isPodReady(b) ? 1 : 0) ||
    // Ready more recently (later transition) goes first.
    -cmp(
      Date.parse(podReadyCondition(a)?.lastTransitionTime ?? '') || 0,
      Date.parse(podReadyCondition(b)?.lastTransitionTime ?? '') || 0,
    ) ||
    -cmp(
      Date.parse(a.metadata.creationTimestamp ?? '') || 0,
      Date.parse(b.metadata.creationTimestamp ?? '') || 0,
    )
  );
}

/** Ready for at least minReadySeconds; returns the ms still to wait otherwise (0 when available). */
function availableIn(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  if (!isPodReady(pod)) return undefined;
  if (!minReadySeconds) return 0;
  const since = Date.parse(podReadyCondition(pod)?.lastTransitionTime ?? '');
  if (Number.isNaN(since)) return 0;
  return Math.max(0, since + minReadySeconds * 1000 - now);
}

export class ReplicaSetController extends QueueController {
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly ownPods: OwnWrites<Pod>;
  private readonly ownSets: OwnWrites<ReplicaSet>;

  constructor(client: ApiClient, opts: ControllerOptions = {}) {
    super('replicaset-controller', client, opts, 2);
    this.sets = this.informer<ReplicaSet>(REPLICASETS);
    this.pods = this.informer<Pod>('pods');
    this.ownPods = new OwnWrites(this.pods, true);
    this.ownSets = new OwnWrites(this.sets, true);
    this.sets.addHandlers({
      onAdd: (rs) => this.queue.add(keyOf(rs)),
      onUpdate: (_o, rs) => this.queue.add(keyOf(rs)),
    });
    this.pods.addHandlers({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (old, p) => this.podChanged(p, old),
      onDelete: (p) => this.podChanged(p),
    });
  }

  protected syncedInformers() {
    return [this.sets, this.pods];
  }

  /** Queues the owner, or for an orphan every ReplicaSet that might adopt it. */
  private podChanged(pod: Pod, old?: Pod): void {
    for (const p of old ? [old, pod] : [pod]) {
      for (const key of ownerKeysOf(p, 'ReplicaSet', this.sets)) this.queue.add(key);
    }
  }

  protected async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const rs = this.ownSets.get(name, namespace);
    if (!rs) return;
    const mine = await claimChildren(rs, this.ownPods.list(namespace), {
      kind: 'ReplicaSet',
      adoptable: isActive,
      release: true,
      write: async (pod) => {
        const stored = await this.client.resource<Pod>('pods').update(pod);
        this.ownPods.wrote(stored);
        return stored;
      },
    });
    const active = mine.filter(isActive);
    if (!rs.metadata.deletionTimestamp) await this.scale(rs, active);
    await this.updateStatus(key, rs, active);
  }

  private async scale(rs: ReplicaSet, active: Pod[]): Promise<void> {
    const want = rs.spec.replicas ?? 1;
    const diff = want - active.length;
    if (diff > 0) {
      let left = Math.min(diff, MAX_BURST);
      for (let batch = 1; left > 0; batch *= 2) {
        const n = Math.min(batch, left);
        left -= n;
        const created = await Promise.all(Array.from({ length: n }, () => this.createPod(rs)));
        for (const p of created) this.ownPods.wrote(p);
      }
    } else if (diff < 0) {
      const victims = [...active].sort(deletionRank).slice(0, -diff);
      await Promise.all(victims.map((p) => this.deletePod(p)));
    }
  }

  private createPod(rs: ReplicaSet): Promise<Pod> {
    const t = rs.spec.template;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}) },
        ownerReferences: [ownerRef(rs, 'apps/v1', 'ReplicaSet')],
      },
      spec: structuredClone(t.spec),
    };
    if (t.metadata?.annotations) pod.metadata.annotations = { ...t.metadata.annotations };
    return this.client.resource<Pod>('pods').create(pod);
  }

  private async deletePod(pod: Pod): Promise<void> {
    const res = await this.client
      .resource<Pod>('pods')
      .delete(pod.metadata.name!, {
        namespace: pod.metadata.namespace,
        preconditions: { uid: pod.metadata.uid },
      })
      .catch(ignoreNotFound);
    // A graceful delete answers with the Pod marked for deletion; an immediate one removed it.
    if (res?.metadata.deletionTimestamp) this.ownPods.wrote(res);
    else this.ownPods.removed(pod);
  }

  private async updateStatus(key: string, rs: ReplicaSet, active: Pod[]): Promise<void> {
    const now = Date.now();
    const minReady = rs.spec.minReadySeconds ?? 0;
    const templateLabels = rs.spec.template.metadata?.labels ?? {};
    let ready = 0;
    let available = 0;
    let recheck = Infinity;
    for (const p of active) {
      if (isPodReady(p)) ready++;
      const wait = availableIn(p, minReady, now);
      if (wait === 0) available++;
      else if (wait !== undefined) recheck = Math.min(recheck, wait);
    }
    const status = {
      ...(rs.status ?? {}),
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) =>
        Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v),
      ).length,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 0,
    };
    if (recheck !== Infinity) this.queue.addAfter(key, recheck + 1);
    if (sameJSON(status, rs.status ?? {})) return;
    this.ownSets.wrote(await this.client.resource<ReplicaSet>(REPLICASETS).updateStatus({ ...rs, status }));
  }
}
