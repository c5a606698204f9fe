/**
 * The detached process behind `kdp up`: it runs Cluster.create, holds the cluster (apiserver,
 * controllers, supervised agents) until SIGTERM or SIGINT (`kdp down`), then closes it and
 * removes its own files. Its title is `kdp:<cluster>:supervisor`, its pid is in supervisor.pid,
 * its output (JSON log lines) goes to supervisor.log. While `kdp up` waits it reports progress on
 * file descriptor 3 as JSON lines (progress, then ready or failed) and closes it once the cluster
 * is ready, so `kdp up` can return and leave it running.
 */
import { closeSync, rmdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import type { Log } from '../log.ts';
import { describeError } from '../errors.ts';
import type { AgentStatus } from './builder-agents.ts';
import type { BuildProgress } from './builder.ts';
import { clusterPaths, writeJsonAtomic } from './builder-state.ts';
import { Cluster } from './cluster.ts';
import { toTopology } from './builder.ts';
import type { TopologyInput } from './topology.ts';

/** What the supervisor tells `kdp up` on fd 3, one JSON object per line. */
export type SupervisorMessage =
  | { type: 'progress'; progress: BuildProgress }
  | {
      type: 'ready';
      cluster: string;
      kubeconfig: string;
      socket: string;
      url?: string;
      nodes: number;
      pods: number;
      elapsedMs: number;
    }
  | { type: 'failed'; message: string };

/** supervisor.json: the agents as the supervisor sees them, for `kdp status`. */
export interface SupervisorStatus {
  pid: number;
  cluster: string;
  state: 'starting' | 'running' | 'stopping';
  startedAt: string;
  agents: AgentStatus[];
}

export const CHANNEL_FD = 3;

export interface SupervisorArgs {
  topology: TopologyInput;
  stateDir?: string;
}

const jsonLogger: Log = (level, message, fields) => {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n');
};

/** Runs until stopped; resolves with the exit code. */
export async function runSupervisor(args: SupervisorArgs): Promise<number> {
  const topology = toTopology(args.topology);
  const { cluster } = topology;
  const paths = clusterPaths(cluster, args.stateDir);
  process.title = `kdp:${cluster}:supervisor`;
  writeFileSync(paths.supervisorPid, `${process.pid}\n`, { mode: 0o600 });

  let channelOpen = true;
  const tell = (m: SupervisorMessage) => {
    if (!channelOpen) return;
    try {
      writeSync(CHANNEL_FD, JSON.stringify(m) + '\n');
    } catch {
      channelOpen = false; // `kdp up` went away (Ctrl-C): carry on, the log has it all
    }
  };
  const closeChannel = () => {
    if (!channelOpen) return;
    channelOpen = false;
    try {
      closeSync(CHANNEL_FD);
    } catch {
      // not open: started by hand
    }
  };

  const agents = new Map<string, AgentStatus>();
  const status: SupervisorStatus = {
    pid: process.pid,
    cluster,
    state: 'starting',
    startedAt: new Date().toISOString(),
    agents: [],
  };
  const writeStatus = () => {
    status.agents = [...agents.values()].sort((a, b) => a.node.localeCompare(b.node));
    try {
      writeJsonAtomic(paths.supervisorStatus, status);
    } catch (e) {
      jsonLogger('warn', `cannot write ${paths.supervisorStatus}`, { error: describeError(e) });
    }
  };

  const abort = new AbortController();
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    jsonLogger('info', `${signal}: stopping cluster ${cluster}`);
    abort.abort(new Error(`stopped by ${signal}`));
    stopRequested?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {}); // detached from any terminal; never stop because one closed

  const removeOwnFiles = (keepLog: boolean) => {
    for (const f of [
      paths.supervisorPid,
      paths.supervisorStatus,
      ...(keepLog ? [] : [paths.supervisorLog]),
    ]) {
      rmSync(f, { force: true });
    }
    try {
      rmdirSync(paths.dir);
    } catch {
      // not empty (the log is kept) or gone
    }
  };

  writeStatus();
  let readyAfterMs = 0;
  let c: Cluster;
  try {
    c = await Cluster.create(topology, {
      signal: abort.signal,
      stateDir: args.stateDir,
      handleSignals: false,
      log: jsonLogger,
      onProgress: (progress) => {
        readyAfterMs = progress.elapsedMs;
        jsonLogger('info', progress.message, { phase: progress.phase, elapsedMs: progress.elapsedMs });
        tell({ type: 'progress', progress });
      },
      onAgentChange: (s) => {
        agents.set(s.node, s);
        writeStatus();
      },
    });
  } catch (e) {
    const message = describeError(e);
    jsonLogger('error', `cluster ${cluster} did not come up: ${message}`);
    tell({ type: 'failed', message });
    closeChannel();
    removeOwnFiles(true);
    return 1;
  }
  const pods = topology.nodes.reduce((n, node) => n + node.pods.length, 0);
  status.state = 'running';
  writeStatus();
  tell({
    type: 'ready',
    cluster,
    kubeconfig: c.kubeconfigPath,
    socket: c.socketPath,
    url: c.url,
    nodes: topology.nodes.length,
    pods,
    elapsedMs: readyAfterMs,
  });
  closeChannel();
  await stopped;
  status.state = 'stopping';
  writeStatus();
  let code = 0;
  try {
    await c.close();
    jsonLogger('info', `cluster ${cluster} stopped`);
  } catch (e) {
    jsonLogger('error', `stopping cluster ${cluster}: ${describeError(e)}`);
    code = 1;
  }
  removeOwnFiles(code !== 0);
  return code;
}
