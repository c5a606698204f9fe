/**
 * What the cluster commands share: the --name option (which cluster; "default" unless given),
 * the check that kdp runs as root where namespaces are involved, and a client of a running
 * cluster's apiserver over its unix socket, with a clear error when the cluster is not running.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { clusterPaths, type ClusterPaths } from '../cluster/builder-state.ts';
import { NOT_RUNNING } from '../cluster/supervisor-launch.ts';
import { MAX_CLUSTER_NAME_LENGTH, TOPOLOGY_DEFAULTS } from '../cluster/topology.ts';
import { connect } from '../client/index.ts';
import type { ApiClient } from '../client/interface.ts';
import { KdpError } from '../errors.ts';
import { usageError } from './usage.ts';

export const DEFAULT_CLUSTER = TOPOLOGY_DEFAULTS.cluster;

export function withNameOption(cmd: Command): Command {
  return cmd.option('--name <cluster>', `cluster name (default "${DEFAULT_CLUSTER}")`);
}

/** The cluster a command is about; a bad name is a usage error naming --name. */
export function clusterName(opts: { name?: string }): string {
  const name = opts.name ?? DEFAULT_CLUSTER;
  if (name.length > MAX_CLUSTER_NAME_LENGTH || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    throw usageError(
      `--name "${name}": a cluster name is a DNS label (lowercase letters, digits, '-') of at most ${MAX_CLUSTER_NAME_LENGTH} characters`,
    );
  }
  return name;
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new KdpError(
      'KDP_ERR_NOT_ROOT',
      `${what} needs root (it creates network namespaces); run it with sudo`,
    );
  }
}

/** Paths of a running cluster; throws KDP_ERR_CLUSTER_NOT_RUNNING when it has no apiserver socket. */
export function runningClusterPaths(cluster: string): ClusterPaths {
  const paths = clusterPaths(cluster);
  if (!existsSync(paths.socket)) {
    throw new KdpError(
      NOT_RUNNING,
      `cluster "${cluster}" is not running (no ${paths.socket}); start it with \`kdp up${cluster === DEFAULT_CLUSTER ? '' : ` --name ${cluster}`}\``,
    );
  }
  return paths;
}

export function clusterClient(cluster: string): ApiClient {
  const paths = runningClusterPaths(cluster);
  return connect({ socketPath: paths.socket, tokenFile: paths.token, requestTimeoutMs: 30_000 });
}
