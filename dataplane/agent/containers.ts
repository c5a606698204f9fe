/**
 * Runs a pod's containers and keeps its record of them true: starts what should run (images.ts
 * says how), notices exits (at once for processes this agent started, by a periodic check for
 * those it adopted after a restart), restarts per restartPolicy with a capped backoff, watches
 * readiness (a built-in is ready when its ports are open, see processes.ts), and stops a pod's
 * processes on deletion: SIGTERM, up to the grace period, then SIGKILL. It changes records and
 * says which pod changed through `onChange`; the kubelet persists records and writes status.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../api/types.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import { describeError, KdpError } from '../errors.ts';
import type { Log } from '../log.ts';
import { restartsAfter } from './pod-status.ts';
import type { AgentState, ContainerRecord, PodRecord } from './state.ts';
import { ApiRelay } from '../dns/api-relay.ts';
import { DNS_IMAGE, imageName, launchFor, type PortSpec } from './workloads/images.ts';
import { type ClusterDns, podResolvConf } from './workloads/resolv-conf.ts';
import { privilegesFor, SECURITY_CONTEXT_ERROR } from './workloads/privileges.ts';
import type { ProcessExit, ProcessRunner } from './workloads/processes.ts';

export interface ContainersOptions {
  runner: ProcessRunner;
  kernel: Kernel;
  state: AgentState;
  cluster: string;
  node: string;
  workloadScript: string;
  nodeBinary: string;
  log: Log;
  /** Called with a pod's key when its record changed or it needs another look. */
  onChange(key: string, afterMs?: number): void;
  /** The cluster DNS pods' resolv.conf names (resolv-conf.ts); none: the host's resolv.conf. */
  dns?: ClusterDns;
  /** The apiserver as the agent reaches it, for kdp/dns containers' read-only relay. */
  api?: { socketPath: string; token?: string };
  /** How often readiness is polled; default 50 ms. */
  readinessPollMs?: number;
  /** First crash backoff; doubles per restart up to maxBackoffMs. Defaults 1 s and 30 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const podKey = (rec: { namespace: string; name: string }) => `${rec.namespace}/${rec.name}`;

export class Containers {
  /** Exit results of processes this agent started, by pid. */
  private readonly exits = new Map<number, ProcessExit>();
  /** Containers waiting to be ready: `<pod key>\0<container>` -> the record. */
  private readonly readiness = new Map<string, { rec: PodRecord; c: ContainerRecord }>();
  private readinessTimer?: NodeJS.Timeout;
  private closed = false;
  /** kdp/dns containers' API relays, by `<pod uid>/<container>`. */
  private readonly relays = new Map<string, Promise<ApiRelay | undefined>>();
  /** The host's resolv.conf, read once: the base of dnsPolicy Default. */
  private readonly hostResolvConf: string;

  constructor(private readonly o: ContainersOptions) {
    try {
      this.hostResolvConf = readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      this.hostResolvConf = '';
    }
  }

  /**
   * The relay a kdp/dns container reads the cluster through (dns/api-relay.ts), started once per
   * container and again for one adopted after an agent restart. A failure is logged: the DNS
   * retries its lists, and the next look at the pod tries again.
   */
  private ensureRelay(pod: Pod, rec: PodRecord, c: ContainerRecord): Promise<ApiRelay | undefined> {
    const key = `${rec.uid}/${c.name}`;
    const spec = pod.spec.containers.find((s) => s.name === c.name);
    if (!this.o.api || !spec || imageName(spec.image) !== DNS_IMAGE || spec.command?.length) {
      return Promise.resolve(undefined);
    }
    let relay = this.relays.get(key);
    if (!relay) {
      const p = privilegesFor(pod, spec);
      relay = ApiRelay.start({
        dir: this.o.state.containerDir(rec.uid, c.name),
        uid: p.uid,
        gid: p.fsGroup ?? p.gid,
        apiSocket: this.o.api.socketPath,
        token: this.o.api.token,
      }).catch((e: unknown) => {
        this.relays.delete(key);
        this.o.log('warn', `cannot start the API relay of ${podKey(rec)}`, { error: describeError(e) });
        return undefined;
      });
      this.relays.set(key, relay);
    }
    return relay;
  }

  private async closeRelays(uid: string): Promise<void> {
    for (const [key, relay] of this.relays) {
      if (!key.startsWith(`${uid}/`)) continue;
      this.relays.delete(key);
      await (await relay)?.close();
    }
  }

  /** Writes the pod's resolv.conf into its record's directory; undefined for the host's own. */
  private async resolvConf(pod: Pod, rec: PodRecord): Promise<string | undefined> {
    const text = podResolvConf(pod, this.o.dns ?? {}, this.hostResolvConf);
    if (text === undefined) return undefined;
    const path = join(this.o.state.podDir(rec.uid), 'resolv.conf');
    await writeFile(path, text, { mode: 0o644 });
    return path;
  }

  /** The records' containers after a fresh sandbox: none started yet. */
  static initial(pod: Pod): ContainerRecord[] {
    return pod.spec.containers.map((c) => ({
      name: c.name,
      image: c.image ?? '',
      restartCount: 0,
      waiting: { reason: 'ContainerCreating' },
    }));
  }

  /**
   * Brings the pod's containers to what should run now; true when the record changed. Exits are
   * looked for here, so calling it for a pod whose process died is how an exit is noticed.
   */
  async ensure(pod: Pod, rec: PodRecord): Promise<boolean> {
    let changed = false;
    for (const c of rec.containers) {
      const spec = pod.spec.containers.find((s) => s.name === c.name);
      if (c.pid !== undefined) {
        if (await this.o.runner.alive(c.pid, c.pidStart ?? -1)) {
          await this.ensureRelay(pod, rec, c);
          if (c.readyAt === undefined) this.watchReadiness(rec, c);
          continue;
        }
        this.exited(pod, c);
        changed = true;
      }
      if (c.lastExitFinal || !spec) continue;
      if (c.startedAt !== undefined && c.waiting === undefined) continue; // kdp/pause runs without a process
      if (c.notBefore !== undefined && c.notBefore > Date.now()) {
        this.o.onChange(podKey(rec), c.notBefore - Date.now());
        continue;
      }
      changed = (await this.startOne(pod, rec, c)) || changed;
    }
    return changed;
  }

  private exited(pod: Pod, c: ContainerRecord): void {
    const result = this.exits.get(c.pid!);
    this.exits.delete(c.pid!);
    this.readiness.delete(`${pod.metadata.namespace}/${pod.metadata.name}\0${c.name}`);
    const exitCode = result ? (result.code ?? 128 + signalNumber(result.signal)) : 255;
    c.lastExit = {
      exitCode,
      reason: !result ? 'Unknown' : exitCode === 0 ? 'Completed' : 'Error',
      ...(result
        ? {}
        : { message: 'the process ended while no agent watched it; its exit status is unknown' }),
      startedAt: c.startedAt,
      finishedAt: nowIso(),
    };
    c.pid = undefined;
    c.pidStart = undefined;
    c.readyAt = undefined;
    if (restartsAfter(pod.spec.restartPolicy, exitCode)) {
      const backoff = Math.min(
        this.o.maxBackoffMs ?? 30_000,
        (this.o.backoffMs ?? 1000) * 2 ** c.restartCount,
      );
      c.notBefore = Date.now() + backoff;
      c.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(backoff / 1000)}s restarting failed container`,
      };
    } else {
      c.lastExitFinal = true;
      c.waiting = undefined;
    }
    this.o.log('info', `container ${c.name} of pod ${pod.metadata.namespace}/${pod.metadata.name} exited`, {
      exitCode,
      restart: !c.lastExitFinal,
    });
  }

  private async startOne(pod: Pod, rec: PodRecord, c: ContainerRecord): Promise<boolean> {
    const spec = pod.spec.containers.find((s) => s.name === c.name)!;
    const key = podKey(rec);
    const title = `kdp:${this.o.cluster}:pod:${key}`;
    let launch;
    let privileges;
    try {
      launch = launchFor(spec, {
        workloadScript: this.o.workloadScript,
        nodeBinary: this.o.nodeBinary,
        title,
      });
      privileges = privilegesFor(pod, spec);
    } catch (e) {
      // As the kubelet: a container its securityContext forbids is a configuration error, with
      // the kubelet's message.
      const config = e instanceof KdpError && e.code === SECURITY_CONTEXT_ERROR;
      const reason = config ? 'CreateContainerConfigError' : 'CreateContainerError';
      const message = config ? e.message : describeError(e);
      if (c.waiting?.reason === reason && c.waiting.message === message) return false;
      c.waiting = { reason, message };
      return true;
    }
    const restarting = c.lastExit !== undefined;
    if (launch.kind === 'none') {
      c.startedAt = nowIso();
      c.readyAt = c.startedAt;
      c.waiting = undefined;
      return true;
    }
    const containerDir = this.o.state.containerDir(rec.uid, c.name);
    try {
      const resolvConf = await this.resolvConf(pod, rec);
      await this.ensureRelay(pod, rec, c);
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: containerDir,
        ...Object.fromEntries((spec.env ?? []).map((e) => [e.name, e.value ?? ''])),
        KDP_CLUSTER: this.o.cluster,
        KDP_NODE_NAME: this.o.node,
        KDP_POD_NAMESPACE: rec.namespace,
        KDP_POD_NAME: rec.name,
        KDP_POD_IP: rec.ip,
        KDP_CONTAINER_NAME: c.name,
      };
      const started = await this.o.runner.start({
        nsPath: this.o.kernel.netns.path(rec.netns),
        argv: launch.argv,
        env,
        logFile: this.o.state.logFile(rec.uid, c.name),
        isolation: {
          privileges,
          containerDir,
          workloadsDir: launch.builtin ? this.o.state.workloadsDir : undefined,
          resolvConf,
          // kdp's state (records, logs, the apiserver's socket) and the namespaces' files.
          hidden: ['/run/kdp', '/run/netns', this.o.state.clusterDir],
        },
      });
      c.pid = started.pid;
      c.pidStart = started.pidStart;
      started.exit.then((r) => {
        // A process stopped on purpose (stop) is no longer the record's: nothing to report.
        if (c.pid !== started.pid) return;
        this.exits.set(started.pid, r);
        this.o.onChange(key);
      });
    } catch (e) {
      c.waiting = { reason: 'CreateContainerError', message: describeError(e) };
      return true;
    }
    if (restarting) c.restartCount++;
    c.startedAt = nowIso();
    c.waiting = undefined;
    c.notBefore = undefined;
    c.readyPorts = launch.readyPorts;
    c.readyAt = launch.readyPorts.length === 0 ? c.startedAt : undefined;
    if (c.readyAt === undefined) this.watchReadiness(rec, c);
    return true;
  }

  private watchReadiness(rec: PodRecord, c: ContainerRecord): void {
    if (this.closed) return;
    this.readiness.set(`${podKey(rec)}\0${c.name}`, { rec, c });
    this.readinessTimer ??= setTimeout(() => void this.pollReadiness(), this.o.readinessPollMs ?? 50);
  }

  private async pollReadiness(): Promise<void> {
    const entries = [...this.readiness];
    await Promise.all(
      entries.map(async ([id, { rec, c }]) => {
        if (c.pid === undefined) return void this.readiness.delete(id);
        const wanted = c.readyPorts ?? [];
        const open = await this.o.runner.openPorts(c.pid, [...new Set(wanted.map((p) => p.protocol))]);
        const has = (p: PortSpec) => open.some((o) => o.protocol === p.protocol && o.port === p.port);
        if (!wanted.every(has)) return;
        this.readiness.delete(id);
        c.readyAt = nowIso();
        this.o.onChange(podKey(rec));
      }),
    ).catch((e) => this.o.log('warn', 'readiness check failed', { error: describeError(e) }));
    this.readinessTimer = undefined;
    if (this.readiness.size > 0 && !this.closed) {
      this.readinessTimer = setTimeout(() => void this.pollReadiness(), this.o.readinessPollMs ?? 50);
    }
  }

  /** Whether some process of the pod still runs (to find exits the agent was not told about). */
  async anyExited(rec: PodRecord): Promise<boolean> {
    for (const c of rec.containers) {
      if (c.pid !== undefined && !(await this.o.runner.alive(c.pid, c.pidStart ?? -1))) return true;
    }
    return false;
  }

  /**
   * Stops the pod's processes: SIGTERM, then SIGKILL once `deadline()` (ms since the epoch, which
   * may move earlier while waiting) has passed. Resolves when none runs (or 5 s after SIGKILL).
   */
  async stop(rec: PodRecord, deadline: () => number): Promise<void> {
    const procs = rec.containers.filter((c) => c.pid !== undefined);
    const alive = async () => {
      const states = await Promise.all(procs.map((c) => this.o.runner.alive(c.pid!, c.pidStart ?? -1)));
      return procs.filter((_, i) => states[i]);
    };
    for (const c of procs) this.readiness.delete(`${podKey(rec)}\0${c.name}`);
    await Promise.all(procs.map((c) => this.o.runner.signal(c.pid!, c.pidStart ?? -1, 'SIGTERM')));
    let running = await alive();
    while (running.length > 0 && Date.now() < deadline()) {
      await sleep(Math.min(50, Math.max(1, deadline() - Date.now())));
      running = await alive();
    }
    if (running.length > 0) {
      await Promise.all(running.map((c) => this.o.runner.signal(c.pid!, c.pidStart ?? -1, 'SIGKILL')));
      const killDeadline = Date.now() + 5000;
      while ((running = await alive()).length > 0 && Date.now() < killDeadline) await sleep(20);
    }
    for (const c of procs) {
      this.exits.delete(c.pid!);
      c.pid = undefined;
      c.pidStart = undefined;
    }
    await this.closeRelays(rec.uid);
  }

  close(): void {
    this.closed = true;
    // The relays end with the agent; a DNS pod keeps answering from its cache until the next one.
    for (const relay of this.relays.values()) void relay.then((r) => r?.close());
    this.relays.clear();
    if (this.readinessTimer) clearTimeout(this.readinessTimer);
    this.readinessTimer = undefined;
    this.readiness.clear();
  }
}

/** The number of a signal, for the 128+n exit code a shell reports. */
function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
