/**
 * What the agent keeps on disk in its state dir (/run/kdp/<cluster>/nodes/<node>/), so that a
 * restarted agent finds every pod it realised, with its address and processes, and adopts them
 * instead of starting over:
 *
 *   ipam.json                      host-local IPAM (ipam.ts)
 *   pods/<uid>/pod.json            the pod's record: names, network namespace, address, containers
 *   pods/<uid>/<container>.pid     the container's process id (for people and `kdp cleanup`)
 *   pods/<uid>/<container>.log     the container's stdout and stderr
 *   workloads/kdp-workload.mjs     the built-in servers, bundled at start (workloads/bundle.ts)
 *   subnet.env                     the node's lease as flannel's /run/flannel/subnet.env (overlay/subnet-env.ts)
 *
 * and, next to the nodes' directories, each container's own writable directory (the only place
 * it may write besides its private /tmp, see workloads/isolation.ts):
 *
 *   <cluster dir>/pods/<uid>/<container>/     (a state dir not in `<cluster dir>/nodes/`:
 *                                              <state dir>/containers/<uid>/<container>/)
 *
 * A pod's record is written before its namespace is created (an intent log): a namespace never
 * exists without a record that names it, so a crash at any point leaves nothing unaccounted for.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { KdpError } from '../errors.ts';
import type { PortSpec } from './workloads/images.ts';

export interface ContainerExit {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt: string;
}

export interface ContainerRecord {
  name: string;
  image: string;
  /** The running process; absent for kdp/pause and while not running. */
  pid?: number;
  /** The process's start time (/proc/<pid>/stat field 22), so a reused pid is not taken for it. */
  pidStart?: number;
  startedAt?: string;
  /** When it was last seen ready (listening on its ports, or started). */
  readyAt?: string;
  restartCount: number;
  lastExit?: ContainerExit;
  /** The last exit ends the container: its restartPolicy does not start it again. */
  lastExitFinal?: boolean;
  /** Ports that must be open before it is ready (images.ts); none: ready once started. */
  readyPorts?: PortSpec[];
  /** Why it is not running (no process yet, bad image, crash backoff). */
  waiting?: { reason: string; message?: string };
  /** Not started again before this time, ms since the epoch (crash backoff). */
  notBefore?: number;
}

export interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  hostNetwork: boolean;
  /** The pod's network namespace; the node's own for hostNetwork pods. */
  netns: string;
  /** Node-side veth (absent for hostNetwork pods). */
  veth?: string;
  ip: string;
  /** When the agent took the pod on: its status.startTime. */
  createdAt: string;
  /** Whether the namespace, veth, address and routes are known to be complete. */
  sandboxReady: boolean;
  /** Why the sandbox is not ready, when its set-up failed. */
  sandboxError?: string;
  containers: ContainerRecord[];
}

export class AgentState {
  readonly podsDir: string;
  readonly ipamFile: string;
  readonly workloadsDir: string;
  readonly subnetEnvFile: string;
  /** The cluster's directory (`/run/kdp/<cluster>`), or the state dir alone: containers never see it. */
  readonly clusterDir: string;
  /** Containers' own directories, by pod uid. */
  readonly containerDirs: string;

  constructor(readonly dir: string) {
    const inCluster = basename(dirname(resolve(dir))) === 'nodes';
    this.clusterDir = inCluster ? dirname(dirname(resolve(dir))) : resolve(dir);
    this.containerDirs = join(this.clusterDir, inCluster ? 'pods' : 'containers');
    this.podsDir = join(dir, 'pods');
    this.ipamFile = join(dir, 'ipam.json');
    this.workloadsDir = join(dir, 'workloads');
    this.subnetEnvFile = join(dir, 'subnet.env');
  }

  async init(): Promise<void> {
    try {
      await mkdir(this.podsDir, { recursive: true, mode: 0o700 });
      // Readable by all: containers run the built-in servers from it as their own user.
      await mkdir(this.workloadsDir, { recursive: true, mode: 0o755 });
      await chmod(this.workloadsDir, 0o755);
    } catch (e) {
      throw new KdpError('KDP_ERR_AGENT_STATE', `cannot create the agent's state dir ${this.dir}`, {
        cause: e,
      });
    }
  }

  podDir(uid: string): string {
    return join(this.podsDir, uid);
  }

  logFile(uid: string, container: string): string {
    return join(this.podDir(uid), `${container}.log`);
  }

  /** The container's own writable directory (made by the process runner when it starts). */
  containerDir(uid: string, container: string): string {
    return join(this.containerDirs, uid, container);
  }

  pidFile(uid: string, container: string): string {
    return join(this.podDir(uid), `${container}.pid`);
  }

  /** Every pod record; an unreadable one is reported through `onBad` and skipped. */
  async loadPods(onBad: (dir: string, err: unknown) => void): Promise<PodRecord[]> {
    const out: PodRecord[] = [];
    for (const uid of await readdir(this.podsDir)) {
      try {
        const rec = JSON.parse(await readFile(join(this.podDir(uid), 'pod.json'), 'utf8')) as PodRecord;
        if (rec.uid !== uid || !rec.netns || !Array.isArray(rec.containers))
          throw new Error('malformed record');
        out.push(rec);
      } catch (e) {
        onBad(this.podDir(uid), e);
      }
    }
    return out;
  }

  /** Writes the record and the pid files of its running containers. */
  async savePod(rec: PodRecord): Promise<void> {
    const dir = this.podDir(rec.uid);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, 'pod.json.tmp');
    await writeFile(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, join(dir, 'pod.json'));
    await Promise.all(
      rec.containers.map((c) =>
        c.pid !== undefined
          ? writeFile(this.pidFile(rec.uid, c.name), `${c.pid}\n`)
          : rm(this.pidFile(rec.uid, c.name), { force: true }),
      ),
    );
  }

  async removePod(uid: string): Promise<void> {
    await rm(this.podDir(uid), { recursive: true, force: true });
    await rm(join(this.containerDirs, uid), { recursive: true, force: true });
  }
}
