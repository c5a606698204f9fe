/**
 * The agent as its node's kubelet, for networking: every Pod bound to the node is realised (a
 * sandbox: namespace, veth into cni0, address, default route; then its containers), reported in
 * Pod status, and on deletion stopped gracefully, torn down and removed from the apiserver.
 *
 * Work is driven by pod keys (namespace/name) from the pods informer and from the agent's own
 * watchers (process exits, readiness, retries) through a KeyBatcher, so pods that arrive together
 * are handled in one round: one kernel plan for all new sandboxes, one batched teardown for all
 * finished terminations, statuses written concurrently. The record of each pod (state.ts) is the
 * agent's memory of what it made; it is written before anything is created and lets a restarted
 * agent adopt running pods without touching them. Ending a pod is pod-termination.ts.
 */
import type { Pod } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { podNamespace, podVethName } from '../cluster/topology-names.ts';
import { rvAtLeast } from '../controllers/own-writes.ts';
import { describeError } from '../errors.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import { KeyBatcher } from './batcher.ts';
import { Containers, type ContainersOptions, podKey } from './containers.ts';
import type { HostLocalIpam } from './ipam.ts';
import type { Log } from './log.ts';
import { podStatus, statusSummary } from './pod-status.ts';
import { deadlineOf, PodTerminations, RETRY_MS } from './pod-termination.ts';
import { createSandboxes, removeStrayNeighbours, type NodeNetwork } from './sandboxes.ts';
import type { AgentState, PodRecord } from './state.ts';
import { StatusWriter } from './status-writer.ts';
import type { ProcessRunner } from './workloads/processes.ts';

export interface KubeletOptions {
  client: ApiClient;
  kernel: Kernel;
  state: AgentState;
  ipam: HostLocalIpam;
  runner: ProcessRunner;
  /** Pods bound to this node (fieldSelector spec.nodeName), synced. */
  pods: Informer<Pod>;
  cluster: string;
  nodeName: string;
  /** The node side pods attach to. */
  network: NodeNetwork;
  /** The node's InternalIP, reported as the pods' hostIP. */
  hostIP(): string | undefined;
  workloadScript: string;
  nodeBinary: string;
  log: Log;
  /** Batching of pod keys (batcher.ts); defaults 5 and 50 ms. */
  quietMs?: number;
  maxWaitMs?: number;
  /** How often processes adopted after a restart are checked for exits; default 1 s. */
  livenessMs?: number;
  /** Crash backoff of containers (containers.ts). */
  backoffMs?: number;
  /** Cluster DNS for pods' resolv.conf, and the apiserver for kdp/dns pods' relay (containers.ts). */
  dns?: ContainersOptions['dns'];
  api?: ContainersOptions['api'];
}

/** How long a first status waits for a starting server to listen. */
const READY_WAIT_MS = 1000;
const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const keyOf = (pod: Pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

export class Kubelet {
  private readonly records = new Map<string, PodRecord>();
  private readonly terminations: PodTerminations;
  /** The status this agent last wrote per pod, and the resourceVersion that write produced. */
  private readonly ownStatus = new Map<string, { summary: string; rv?: string }>();
  /** The record as last written to the state dir, by uid. */
  private readonly saved = new Map<string, string>();
  private readonly batcher: KeyBatcher;
  private readonly containers: Containers;
  private readonly writer: StatusWriter;
  private livenessTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly o: KubeletOptions) {
    this.batcher = new KeyBatcher((keys) => this.round(keys), {
      quietMs: o.quietMs,
      maxWaitMs: o.maxWaitMs,
      onError: (err, keys) =>
        o.log('error', 'pod round failed, retrying', { error: describeError(err), pods: keys.length }),
    });
    this.containers = new Containers({
      runner: o.runner,
      kernel: o.kernel,
      state: o.state,
      cluster: o.cluster,
      node: o.nodeName,
      workloadScript: o.workloadScript,
      nodeBinary: o.nodeBinary,
      log: o.log,
      backoffMs: o.backoffMs,
      dns: o.dns,
      api: o.api,
      onChange: (key, afterMs) => (afterMs ? this.batcher.addAfter(key, afterMs) : this.batcher.add(key)),
    });
    this.writer = new StatusWriter(o.client, o.log, {
      onWritten: (pod, sent) => {
        const own = this.ownStatus.get(keyOf(pod));
        if (own && own.summary === statusSummary(sent)) own.rv = pod.metadata.resourceVersion;
      },
    });
    this.terminations = new PodTerminations({
      ...o,
      batcher: this.batcher,
      containers: this.containers,
      records: this.records,
      podOf: (key) => this.podOf(key),
      forget: (rec) => {
        this.ownStatus.delete(podKey(rec));
        this.saved.delete(rec.uid);
      },
    });
  }

  /** Adopts what the state dir and the kernel hold, then starts reconciling. */
  async start(): Promise<void> {
    await this.adopt();
    const add = (p: Pod) => this.batcher.add(keyOf(p));
    this.o.pods.addHandlers({ onAdd: add, onUpdate: (_old, p) => add(p), onDelete: add });
    for (const key of this.records.keys()) this.batcher.add(key);
    this.batcher.start();
    const every = this.o.livenessMs ?? 1000;
    const tick = async () => {
      for (const [key, rec] of this.records) {
        if (!this.terminations.has(key) && (await this.containers.anyExited(rec))) this.batcher.add(key);
      }
      if (!this.closed) this.livenessTimer = setTimeout(tick, every);
    };
    this.livenessTimer = setTimeout(tick, every);
  }

  /** Stops reconciling; pods, processes and namespaces stay as they are. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.livenessTimer) clearTimeout(this.livenessTimer);
    await this.batcher.close();
    this.containers.close();
    this.writer.close();
  }

  /** Resolves once the statuses queued so far have been written (for tests). */
  idle(): Promise<void> {
    return this.writer.idle();
  }

  /** Records from the state dir, checked against the namespaces that exist and the IPAM. */
  private async adopt(): Promise<void> {
    const loaded = await this.o.state.loadPods((dir, err) =>
      this.o.log('warn', `ignoring unreadable pod record in ${dir}`, { error: describeError(err) }),
    );
    // Newest first: of two records for one name (a crash while it was replaced) the newer is true.
    loaded.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    for (const rec of loaded) {
      const key = podKey(rec);
      if (this.records.has(key)) {
        await this.o.state.removePod(rec.uid);
        continue;
      }
      this.records.set(key, rec);
      this.saved.set(rec.uid, JSON.stringify(rec));
    }
    const existing = new Set(await this.o.kernel.netns.list(this.o.kernel.prefix));
    const owners = new Set<string>();
    for (const rec of this.records.values()) {
      owners.add(rec.uid);
      if (!rec.hostNetwork && rec.sandboxReady && !existing.has(rec.netns)) {
        this.o.log('warn', `pod ${podKey(rec)}: its namespace ${rec.netns} is gone; setting it up again`);
        rec.sandboxReady = false;
      }
      if (!rec.hostNetwork && rec.ip && !this.o.ipam.restore(rec.ip, rec.uid)) {
        this.o.log(
          'warn',
          `pod ${podKey(rec)}: its address ${rec.ip} is not available to it; giving it a new one`,
        );
        rec.ip = '';
        rec.sandboxReady = false;
      }
    }
    for (const owner of this.o.ipam.owners()) if (!owners.has(owner)) this.o.ipam.release(owner);
    await this.o.ipam.save();
    const held = new Set([...this.records.values()].filter((r) => !r.hostNetwork && r.ip).map((r) => r.ip));
    const strays = await removeStrayNeighbours(this.o.kernel, this.o.network, held);
    if (strays > 0)
      this.o.log('info', 'removed neighbour entries of pods that are gone', { entries: strays });
    this.o.log('info', 'adopted pods from the state dir', {
      pods: this.records.size,
      ready: [...this.records.values()].filter((r) => r.sandboxReady).length,
    });
  }

  private podOf(key: string): Pod | undefined {
    const slash = key.indexOf('/');
    return this.o.pods.get(key.slice(slash + 1), key.slice(0, slash));
  }

  private async round(keys: string[]): Promise<void> {
    await this.terminations.finishPending();
    const creates: Pod[] = [];
    const checks: [Pod, PodRecord][] = [];
    for (const key of keys) {
      const pod = this.podOf(key);
      const rec = this.records.get(key);
      if (this.terminations.update(key, pod)) continue;
      if (rec && (!pod || pod.metadata.uid !== rec.uid)) {
        // Its Pod is gone (deleted with no grace, or replaced by one of the same name).
        this.terminations.start(rec, Date.now());
      } else if (pod?.metadata.deletionTimestamp) {
        if (rec) this.terminations.start(rec, deadlineOf(pod));
        else void this.terminations.deletePod(pod);
      } else if (pod && (!rec || !rec.sandboxReady)) {
        if (rec || !isTerminal(pod)) creates.push(pod);
      } else if (pod && rec) {
        checks.push([pod, rec]);
      }
    }
    if (creates.length > 0) checks.push(...(await this.createPods(creates)));
    await Promise.all(checks.map(([pod, rec]) => this.check(pod, rec)));
  }

  /** Sets up the sandboxes of `pods` in one plan; returns the pods to check (start containers, status). */
  private async createPods(pods: Pod[]): Promise<[Pod, PodRecord][]> {
    const net = this.o.network;
    const out: [Pod, PodRecord][] = [];
    for (const pod of pods) {
      const key = keyOf(pod);
      let rec = this.records.get(key);
      if (!rec) {
        const { namespace, name, uid } = pod.metadata as { namespace: string; name: string; uid: string };
        const hostNetwork = pod.spec.hostNetwork === true;
        rec = {
          uid,
          namespace,
          name,
          hostNetwork,
          netns: hostNetwork ? net.netns : podNamespace(this.o.cluster, namespace, name),
          ...(hostNetwork ? {} : { veth: podVethName(namespace, name) }),
          ip: '',
          createdAt: nowIso(),
          sandboxReady: false,
          containers: Containers.initial(pod),
        };
        this.records.set(key, rec);
      }
      // A sandbox set up again (its namespace vanished) must not keep processes of the old one.
      if (rec.containers.some((c) => c.pid !== undefined)) await this.containers.stop(rec, () => 0);
      if (!rec.ip) {
        try {
          rec.ip = rec.hostNetwork ? (this.o.hostIP() ?? '') : this.o.ipam.allocate(rec.uid);
        } catch (e) {
          rec.sandboxError = describeError(e);
          this.batcher.addAfter(key, RETRY_MS);
        }
      }
      out.push([pod, rec]);
    }
    const ready = out.filter(([, r]) => r.ip);
    // The intent is on disk before the kernel is touched (see state.ts).
    await this.o.ipam.save();
    await Promise.all(out.map(([, r]) => this.persist(r)));
    const sandboxes = ready
      .filter(([, r]) => !r.hostNetwork)
      .map(([, r]) => ({ netns: r.netns, veth: r.veth!, ip: r.ip }));
    const failures = await createSandboxes(this.o.kernel, net, sandboxes);
    for (const [, rec] of ready) {
      const failure = rec.hostNetwork ? undefined : failures.get(rec.netns);
      rec.sandboxReady = failure === undefined;
      rec.sandboxError = failure;
      if (failure) {
        this.o.log('warn', `pod ${podKey(rec)}: sandbox not set up, retrying`, { error: failure });
        this.batcher.addAfter(podKey(rec), RETRY_MS);
      }
    }
    await Promise.all(ready.map(([, r]) => this.persist(r)));
    if (sandboxes.length > 0) {
      this.o.log('info', 'pod sandboxes set up', {
        pods: sandboxes.length - failures.size,
        failed: failures.size,
      });
    }
    return out;
  }

  /** Starts or restarts containers as needed and writes the status if it changed. */
  private async check(pod: Pod, rec: PodRecord): Promise<void> {
    const key = podKey(rec);
    if (rec.sandboxReady) await this.containers.ensure(pod, rec);
    await this.persist(rec);
    if (this.closed) return;
    // A server just started listens within moments: report the pod once, Ready, rather than twice.
    const wait = readinessWait(rec);
    if (wait > 0 && pod.status?.phase !== 'Running') return this.batcher.addAfter(key, wait);
    const status = podStatus(rec, this.o.hostIP(), pod.status, nowIso());
    const summary = statusSummary(status);
    const own = this.ownStatus.get(key);
    // Until the cache has caught up with this agent's last write, compare with that write.
    const cacheCurrent = !own || (own.rv !== undefined && rvAtLeast(pod.metadata.resourceVersion, own.rv));
    if (summary === (cacheCurrent ? statusSummary(pod.status) : own.summary)) return;
    this.ownStatus.set(key, { summary });
    this.writer.write(rec.namespace, rec.name, status);
  }

  /** Writes the record if it changed since it was last written. */
  private async persist(rec: PodRecord): Promise<void> {
    const json = JSON.stringify(rec);
    if (this.saved.get(rec.uid) === json) return;
    await this.o.state.savePod(rec);
    this.saved.set(rec.uid, json);
  }
}

/** Ms left to wait for a container that started but does not listen yet; 0 when none. */
function readinessWait(rec: PodRecord): number {
  let wait = 0;
  for (const c of rec.containers) {
    if (c.pid === undefined || c.readyAt !== undefined || !c.startedAt) continue;
    wait = Math.max(wait, Date.parse(c.startedAt) + READY_WAIT_MS - Date.now());
  }
  return wait;
}
