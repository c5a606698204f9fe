/**
 * The clusters of a matrix run: one 2-node cluster per (proxy mode, overlay backend), built once
 * with the data workloads' servers (world.ts) and kept up for the whole run, so that trials of all
 * cells can be interleaved. Clusters are built one after another (bring-up is CPU-heavy on a small
 * machine) and closed together by close(), which the runner calls on every exit path; signals are
 * the runner's business (an abort), so no cluster installs its own handlers.
 * Backends are written as the overlay registry names them, or "<backend>:<engine>" for an engine
 * variant (udp:baseline), which becomes the cluster's overlayEngine.
 */
import { Cluster } from '../../dataplane/cluster/cluster.ts';
import type { OverlayBackend, ProxyMode, TopologyInput } from '../../dataplane/cluster/topology.ts';
import { describeError, KdpError } from '../../dataplane/errors.ts';
import { createDataWorld, type DataWorld } from '../workloads/data/world.ts';

export const POOL_CLOSED = 'KDP_ERR_BENCH_CLOSED';

export interface PooledCluster {
  cluster: Cluster;
  world: DataWorld;
}

export interface PoolOptions {
  /** Cluster names are <prefix><n>; default kb<pid>- (at most 20 characters in all). */
  prefix?: string;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/** "udp:baseline" -> { backend: 'udp', engine: 'baseline' }. */
export function splitBackend(name: string): { backend: string; engine?: string } {
  const colon = name.indexOf(':');
  return colon < 0 ? { backend: name } : { backend: name.slice(0, colon), engine: name.slice(colon + 1) };
}

export class ClusterPool {
  private readonly clusters = new Map<string, Promise<PooledCluster>>();
  private readonly open: Cluster[] = [];
  private next = 1;
  private closed = false;

  constructor(private readonly options: PoolOptions = {}) {}

  /** The cluster (and its servers) of one (mode, backend), built on first use. */
  get(mode: string, backend: string): Promise<PooledCluster> {
    const key = `${mode} ${backend}`;
    let entry = this.clusters.get(key);
    if (!entry) {
      // One build at a time: chain after whatever is being built.
      const previous = [...this.clusters.values()].at(-1)?.catch(() => undefined);
      entry = (async () => {
        await previous;
        return this.build(mode, backend);
      })();
      this.clusters.set(key, entry);
    }
    return entry;
  }

  private async build(mode: string, backendName: string): Promise<PooledCluster> {
    if (this.closed) throw new KdpError(POOL_CLOSED, 'the bench run is over: no more clusters are built');
    const name = `${this.options.prefix ?? `kb${process.pid}-`}${this.next++}`;
    const { backend, engine } = splitBackend(backendName);
    const topology: TopologyInput = {
      cluster: name,
      nodes: 2,
      podsPerNode: 0,
      // Unknown names are rejected by the topology's own validation, with the valid ones listed.
      proxyMode: mode as ProxyMode,
      overlay: backend as OverlayBackend,
      ...(engine ? { overlayEngine: engine } : {}),
    };
    this.options.log?.(`building cluster ${name} (${mode}, ${backendName})`);
    const cluster = await Cluster.create(topology, { handleSignals: false, signal: this.options.signal });
    this.open.push(cluster);
    if (this.closed) throw new KdpError(POOL_CLOSED, 'the bench run is over: no more clusters are built');
    const world = await createDataWorld(cluster, this.options.signal);
    return { cluster, world };
  }

  /** Every cluster this pool built. */
  get built(): readonly Cluster[] {
    return this.open;
  }

  /** Closes every cluster (waiting for builds under way); idempotent; reports failures via log. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.clusters.values());
    const results = await Promise.allSettled(this.open.splice(0).map((c) => c.close()));
    for (const r of results)
      if (r.status === 'rejected') this.options.log?.(`closing a cluster failed: ${describeError(r.reason)}`);
  }
}
