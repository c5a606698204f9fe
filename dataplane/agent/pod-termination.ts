/**
 * How the kubelet (kubelet.ts) ends a pod: its processes are stopped in the background (SIGTERM,
 * the grace period, SIGKILL; a shorter grace period or the Pod removed outright brings the SIGKILL
 * forward), then the sandboxes of all pods stopped since the last round are removed in one batched
 * teardown, their addresses freed, their records dropped, and their Pod objects deleted with grace
 * period 0 (a Pod is only deleted here once its processes are gone).
 */
import { isApiError } from '../api/errors.ts';
import type { Pod } from '../api/types.ts';
import type { ApiClient } from '../client/interface.ts';
import { describeError } from '../errors.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import type { KeyBatcher } from './batcher.ts';
import { type Containers, podKey } from './containers.ts';
import type { HostLocalIpam } from './ipam.ts';
import type { Log } from './log.ts';
import { removeSandboxes, type NodeNetwork } from './sandboxes.ts';
import type { AgentState, PodRecord } from './state.ts';

/** What terminations use of the kubelet: its parts, its records, and how to drop a pod's memory. */
export interface TerminationContext {
  client: ApiClient;
  kernel: Kernel;
  state: AgentState;
  ipam: HostLocalIpam;
  network: NodeNetwork;
  log: Log;
  batcher: KeyBatcher;
  containers: Containers;
  /** The kubelet's pod records by key; finished pods are removed from it. */
  records: Map<string, PodRecord>;
  /** The Pod in the informer's cache for a key. */
  podOf(key: string): Pod | undefined;
  /** Forgets what the kubelet keeps about a removed pod beyond its record (status, saved JSON). */
  forget(rec: PodRecord): void;
}

/** How long a failed teardown or Pod delete waits before it is tried again. */
export const RETRY_MS = 2000;

export class PodTerminations {
  /** Pods whose processes are being stopped: key -> the uid and when to SIGKILL. */
  private readonly terminating = new Map<string, { uid: string; deadline: number }>();
  /** Terminations whose processes are gone: sandboxes to remove, Pods to delete. */
  private readonly finished = new Set<string>();

  constructor(private readonly c: TerminationContext) {}

  /** Whether the pod of `key` is being stopped. */
  has(key: string): boolean {
    return this.terminating.has(key);
  }

  /**
   * For a pod being stopped, applies what its Pod now says (a shorter grace period, or the Pod gone
   * or replaced: SIGKILL now) and returns true; false when the pod is not being stopped.
   */
  update(key: string, pod: Pod | undefined): boolean {
    const t = this.terminating.get(key);
    if (!t) return false;
    const gone = pod?.metadata.uid !== t.uid;
    if (gone || pod?.metadata.deletionTimestamp)
      t.deadline = Math.min(t.deadline, gone ? Date.now() : deadlineOf(pod!));
    return true;
  }

  /** Stops the pod's processes in the background; then it is finished (see finishPending). */
  start(rec: PodRecord, deadline: number): void {
    const key = podKey(rec);
    this.terminating.set(key, { uid: rec.uid, deadline });
    this.c.log('info', `stopping pod ${key}`, { graceMs: Math.max(0, deadline - Date.now()) });
    void (async () => {
      try {
        await this.c.containers.stop(rec, () => this.terminating.get(key)?.deadline ?? 0);
      } catch (e) {
        this.c.log('warn', `pod ${key}: stopping its processes failed`, { error: describeError(e) });
      }
      this.finished.add(key);
      this.c.batcher.add(key);
    })();
  }

  /** Finishes the terminations whose processes are gone since the last call (see finish). */
  async finishPending(): Promise<void> {
    if (this.finished.size === 0) return;
    const done = [...this.finished];
    this.finished.clear();
    await this.finish(done);
  }

  /** Removes the sandboxes of stopped pods in one go, frees their addresses, deletes their Pods. */
  private async finish(keys: string[]): Promise<void> {
    const c = this.c;
    const recs = keys.map((k) => c.records.get(k)).filter((r): r is PodRecord => r !== undefined);
    try {
      await removeSandboxes(
        c.kernel,
        c.network,
        recs.filter((r) => !r.hostNetwork).map((r) => ({ netns: r.netns, veth: r.veth!, ip: r.ip })),
        { freeNames: false },
      );
    } catch (e) {
      c.log('warn', 'removing pod sandboxes failed, retrying', { error: describeError(e) });
      for (const k of keys) {
        this.finished.add(k);
        c.batcher.addAfter(k, RETRY_MS);
      }
      return;
    }
    for (const rec of recs) {
      const key = podKey(rec);
      c.ipam.release(rec.uid);
      c.records.delete(key);
      this.terminating.delete(key);
      c.forget(rec);
    }
    await c.ipam.save();
    // Pods that found no free address can have one now.
    for (const [key, rec] of c.records) if (!rec.ip) c.batcher.add(key);
    await Promise.all(recs.map((r) => c.state.removePod(r.uid)));
    c.log('info', 'pods removed', { pods: recs.length });
    await Promise.all(
      recs.map(async (rec) => {
        const pod = c.podOf(podKey(rec));
        if (pod?.metadata.uid === rec.uid) await this.deletePod(pod);
        // A Pod of the same name may have waited for this one's namespace.
        c.batcher.add(podKey(rec));
      }),
    );
  }

  /** Deletes the Pod object at once: its processes are gone (or it never had any here). */
  async deletePod(pod: Pod): Promise<void> {
    try {
      await this.c.client.resource<Pod>('pods').delete(pod.metadata.name!, {
        namespace: pod.metadata.namespace,
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      if (isApiError(e, 'NotFound') || isApiError(e, 'Conflict')) return;
      this.c.log('warn', `deleting pod ${pod.metadata.namespace}/${pod.metadata.name} failed, retrying`, {
        error: describeError(e),
      });
      this.c.batcher.addAfter(`${pod.metadata.namespace}/${pod.metadata.name}`, RETRY_MS);
    }
  }
}

/** When a terminating pod's processes are killed: its grace period from now, at most. */
export function deadlineOf(pod: Pod): number {
  const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
  return Date.now() + Math.max(0, grace) * 1000;
}
