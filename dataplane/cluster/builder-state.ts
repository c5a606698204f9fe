/**
 * The files a running cluster keeps in its state directory (/run/kdp/<cluster>/ by default), named
 * in one place so that the builder, the detached supervisor, the CLI (`kdp status`, `kdp
 * kubeconfig`, `kdp down`) and `kdp cleanup` agree on them. cluster.json records what the builder
 * made (namespaces, node addresses, agent pids) so other processes can read it without the
 * apiserver; it is rewritten whole on every change (write to a temp file, then rename).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from './topology-names.ts';
import type { Topology } from './topology.ts';

/** /run/kdp: the parent of every cluster's state directory. */
export const STATE_ROOT = '/run/kdp';

export interface ClusterPaths {
  dir: string;
  socket: string;
  /** The apiserver's local bearer token (0600), which agents and kdp's commands present on the socket. */
  token: string;
  kubeconfig: string;
  /** What the builder made; see ClusterRecord. */
  record: string;
  supervisorPid: string;
  supervisorLog: string;
  /** The supervisor's view of its agents, for `kdp status`. */
  supervisorStatus: string;
  /** The agent's own state directory (its --state-dir). */
  nodeDir(node: string): string;
  agentLog(node: string): string;
  agentPid(node: string): string;
}

export function clusterPaths(cluster: string, dir = stateDir(cluster)): ClusterPaths {
  return {
    dir,
    socket: join(dir, 'apiserver.sock'),
    token: join(dir, 'apiserver.token'),
    kubeconfig: join(dir, 'kubeconfig'),
    record: join(dir, 'cluster.json'),
    supervisorPid: join(dir, 'supervisor.pid'),
    supervisorLog: join(dir, 'supervisor.log'),
    supervisorStatus: join(dir, 'supervisor.json'),
    nodeDir: (node) => join(dir, 'nodes', node),
    agentLog: (node) => join(dir, 'nodes', node, 'agent.log'),
    agentPid: (node) => join(dir, 'nodes', node, 'agent.pid'),
  };
}

export interface NodeRecord {
  name: string;
  index: number;
  netns: string;
  underlayIp: string;
  podCidr: string;
  gateway: string;
}

export interface ClusterRecord {
  cluster: string;
  /** The process that holds the apiserver and supervises the agents. */
  pid: number;
  createdAt: string;
  topology: Topology;
  fabricNetns: string;
  apiserverUrl?: string;
  nodes: NodeRecord[];
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}
