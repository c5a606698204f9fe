/**
 * The `kdp up` side of the supervisor: checks that the cluster does not exist, starts the
 * supervisor detached (its own session, output to /run/kdp/<cluster>/supervisor.log) and follows
 * its progress on a pipe until it says ready (resolve) or failed (reject with the log's last
 * lines; then nothing of the cluster is left, the log included). Aborting the wait stops the
 * supervisor, which tears down what it had built. Also: finding and stopping a running supervisor
 * for `kdp down`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../errors.ts';
import { assertClusterAbsent, CLUSTER_EXISTS, type BuildProgress } from './builder.ts';
import { clusterPaths, ensureDir } from './builder-state.ts';
import { isGone, processTitle } from './cleanup-processes.ts';
import type { SupervisorMessage } from './supervisor.ts';
import { resolveTopology, type TopologyInput } from './topology.ts';

export const UP_FAILED = 'KDP_ERR_UP_FAILED';
export const NOT_RUNNING = 'KDP_ERR_CLUSTER_NOT_RUNNING';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUPERVISOR_MAIN = fileURLToPath(new URL('./supervisor-main.ts', import.meta.url));

export interface LaunchOptions {
  stateDir?: string;
  signal?: AbortSignal;
  onProgress?(progress: BuildProgress): void;
}

export type LaunchResult = Extract<SupervisorMessage, { type: 'ready' }> & { pid: number };

/** The last `n` lines of a file, or nothing. */
export function tail(path: string, n: number): string[] {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n);
  } catch {
    return [];
  }
}

/** The pid of the cluster's running supervisor, checked against its process title. */
export function runningSupervisor(cluster: string, stateDir?: string): number | undefined {
  const paths = clusterPaths(cluster, stateDir);
  let pid: number;
  try {
    pid = Number(readFileSync(paths.supervisorPid, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || isGone(pid)) return undefined;
  return processTitle(pid)?.startsWith(`kdp:${cluster}:supervisor`) ? pid : undefined;
}

function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      if (isGone(pid)) return resolve(true);
      if (Date.now() > deadline) return resolve(false);
      setTimeout(check, 20);
    };
    check();
  });
}

export async function launchSupervisor(
  input: TopologyInput,
  options: LaunchOptions = {},
): Promise<LaunchResult> {
  const topology = resolveTopology(input);
  const { cluster } = topology;
  const paths = clusterPaths(cluster, options.stateDir);
  if (runningSupervisor(cluster, options.stateDir) !== undefined) {
    throw new KdpError(
      CLUSTER_EXISTS,
      `cluster "${cluster}" is already running; \`kdp down --name ${cluster}\` stops it`,
    );
  }
  await assertClusterAbsent(cluster, { stateDir: options.stateDir });
  ensureDir(paths.dir);
  const log = openSync(paths.supervisorLog, 'w', 0o600);
  const args = ['--import', import.meta.resolve('tsx'), SUPERVISOR_MAIN, '--topology', JSON.stringify(input)];
  if (options.stateDir) args.push('--state-dir', options.stateDir);
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', log, log, 'pipe'],
  });
  closeSync(log);
  const pid = child.pid!;
  writeFileSync(paths.supervisorPid, `${pid}\n`, { mode: 0o600 });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const channel = child.stdio[3] as Readable;

  const fail = async (why: string): Promise<never> => {
    if (!(await waitGone(pid, 30_000))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    const lines = tail(paths.supervisorLog, 20);
    // The supervisor removed what it built; the log is the last thing of the cluster.
    rmSync(paths.dir, { recursive: true, force: true });
    throw new KdpError(UP_FAILED, `cluster "${cluster}" did not come up: ${why}`, {
      details: { log: lines },
    });
  };

  const onAbort = () => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of createInterface({ input: channel })) {
      let m: SupervisorMessage;
      try {
        m = JSON.parse(line) as SupervisorMessage;
      } catch {
        continue;
      }
      if (m.type === 'progress') options.onProgress?.(m.progress);
      else if (m.type === 'failed') return await fail(m.message);
      else if (m.type === 'ready') {
        channel.destroy();
        child.unref();
        return { ...m, pid };
      }
    }
    const code = await exited;
    return await fail(
      options.signal?.aborted
        ? 'interrupted'
        : `the supervisor exited (status ${code}) before the cluster was ready`,
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** `kdp down`: SIGTERM to the supervisor, then wait (bounded) until it has taken everything down. */
export async function stopSupervisor(
  cluster: string,
  options: { stateDir?: string; timeoutMs?: number } = {},
): Promise<{ pid: number }> {
  const pid = runningSupervisor(cluster, options.stateDir);
  if (pid === undefined) {
    const paths = clusterPaths(cluster, options.stateDir);
    const leftovers = existsSync(paths.dir)
      ? ` (${paths.dir} is left over: \`kdp cleanup --name ${cluster}\`)`
      : '';
    throw new KdpError(NOT_RUNNING, `cluster "${cluster}" is not running${leftovers}`);
  }
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, options.timeoutMs ?? 60_000))) {
    throw new KdpError(
      'KDP_ERR_DOWN_TIMEOUT',
      `the supervisor of cluster "${cluster}" (pid ${pid}) is still stopping; \`kdp cleanup --name ${cluster}\` forces it`,
    );
  }
  return { pid };
}
