/**
 * The agent's kube-proxy: the proxier of the node's proxy mode (proxy/modes.ts), fed by the
 * agent's shared informers through runProxier, programming the node's own namespace, with its
 * metrics, /healthz and /proxyMode served on 127.0.0.1:10249 inside that namespace as kube-proxy
 * serves them. Stopping it stops the sync loop and leaves the rules in place, as kube-proxy does
 * on exit: traffic keeps flowing while the agent restarts, and the next agent's first (full)
 * sync rewrites them. Removing the rules is cleanup's job (the namespace goes with the cluster).
 */
import type { InformerFactory } from '../client/informer-factory.ts';
import { clusterPrefix } from '../cluster/topology-names.ts';
import { describeError } from '../errors.ts';
import type { Conntrack } from '../kernel/conntrack/interface.ts';
import type { Iptables } from '../kernel/iptables/interface.ts';
import type { IptablesBackend } from '../kernel/iptables/types.ts';
import { serveProxyMetrics, type MetricsServer } from '../proxy/metrics-server.ts';
import { createProxier } from '../proxy/modes.ts';
import type { Proxier } from '../proxy/proxier.ts';
import { runProxier, type RunningProxier } from '../proxy/wire.ts';
import type { Log } from '../log.ts';

export interface ServiceProxySettings {
  /** 'iptables', 'none', ... (proxy/modes.ts). */
  mode: string;
  /** The pod network, for masquerading traffic from outside it (kube-proxy's --cluster-cidr). */
  clusterCIDR?: string;
  iptablesBackend?: IptablesBackend;
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  /** Where /metrics and /healthz are served (inside the node's namespace); null: nowhere. */
  metrics?: { host: string; port: number } | null;
  /** More Prometheus text for /metrics: the node's overlay metrics (overlay/metrics.ts). */
  extraMetrics?: () => Promise<string>;
  /** Tests: kernel facilities for the proxier instead of the real tools. */
  iptables?: Iptables;
  conntrack?: Conntrack;
  /** Tests: this proxier instead of the mode's. */
  proxier?: Proxier;
}

export interface ServiceProxyOptions extends ServiceProxySettings {
  informers: InformerFactory;
  cluster: string;
  nodeName: string;
  netns: string;
  log: Log;
  signal?: AbortSignal;
}

export class ServiceProxy {
  private closing?: Promise<void>;

  private constructor(
    private readonly running: RunningProxier,
    readonly metricsServer: MetricsServer | undefined,
  ) {}

  get proxier(): Proxier {
    return this.running.proxier;
  }

  /** Starts the node's proxier; undefined when the mode runs none. Resolves once the initial lists are in. */
  static async start(o: ServiceProxyOptions): Promise<ServiceProxy | undefined> {
    const proxier =
      o.proxier ??
      createProxier(o.mode, {
        nodeName: o.nodeName,
        netns: o.netns,
        clusterCIDR: o.clusterCIDR,
        iptablesBackend: o.iptablesBackend,
        prefix: clusterPrefix(o.cluster),
        minSyncPeriodMs: o.minSyncPeriodMs,
        syncPeriodMs: o.syncPeriodMs,
        log: o.log,
        iptables: o.iptables,
        conntrack: o.conntrack,
      });
    if (!proxier) {
      o.log('info', `proxy mode ${o.mode}: no service proxy on this node`);
      return undefined;
    }
    const running = await runProxier(proxier, { informers: o.informers, signal: o.signal });
    let server: MetricsServer | undefined;
    try {
      if (o.metrics) {
        server = await serveProxyMetrics(proxier, {
          ...o.metrics,
          extraMetrics: o.extraMetrics,
          healthTimeoutMs: 2 * (o.syncPeriodMs ?? 30_000),
        });
      }
    } catch (e) {
      await running.stop();
      throw e;
    }
    o.log('info', `service proxy running`, {
      mode: proxier.mode,
      backend: proxier.mode === 'iptables' ? (o.iptables?.backend ?? o.iptablesBackend ?? 'nft') : undefined,
      clusterCIDR: o.clusterCIDR,
      metrics: server ? `${server.host}:${server.port}` : undefined,
    });
    return new ServiceProxy(running, server);
  }

  /** Stops syncing; the programmed rules stay. Idempotent. */
  close(log?: Log): Promise<void> {
    this.closing ??= (async () => {
      await this.running
        .stop()
        .catch((e: unknown) => log?.('warn', 'stopping the proxier', { error: describeError(e) }));
      await this.metricsServer?.close();
    })();
    return this.closing;
  }
}
