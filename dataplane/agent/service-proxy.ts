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
import { serveProxyMetrics, type MetricsServer } from '../proxy/metrics-server.ts';
import type { ProxierContext } from '../proxy/mode-spec.ts';
import { cleanupProxyModes, createProxier, resolveModeFlags } from '../proxy/modes.ts';
import type { Proxier } from '../proxy/proxier-contract.ts';
import { runProxier, type RunningProxier } from '../proxy/wire.ts';
import type { Log } from '../log.ts';

export interface ServiceProxySettings {
  /** 'iptables', 'none', ... (proxy/modes.ts). */
  mode: string;
  /** The mode's own flags as given, by name without dashes (`{ 'iptables-backend': 'legacy' }`). */
  modeFlags?: Readonly<Record<string, string | undefined>>;
  /** The pod network, for masquerading traffic from outside it (kube-proxy's --cluster-cidr). */
  clusterCIDR?: string;
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  /** Where /metrics and /healthz are served (inside the node's namespace); null: nowhere. */
  metrics?: { host: string; port: number } | null;
  /** More Prometheus text for /metrics: the node's overlay metrics (overlay/metrics.ts). */
  extraMetrics?: () => Promise<string>;
  /** Tests: makes the node's proxier instead of the mode (e.g. the mode on fake kernel facilities). */
  createProxier?: (ctx: ProxierContext) => Proxier;
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
    const ctx: ProxierContext = {
      nodeName: o.nodeName,
      netns: o.netns,
      clusterCIDR: o.clusterCIDR,
      prefix: clusterPrefix(o.cluster),
      minSyncPeriodMs: o.minSyncPeriodMs,
      syncPeriodMs: o.syncPeriodMs,
      log: o.log,
    };
    const proxier = o.createProxier
      ? o.createProxier(ctx)
      : createProxier(o.mode, ctx, { flags: o.modeFlags });
    if (!proxier) {
      o.log('info', `proxy mode ${o.mode}: no service proxy on this node`);
      return undefined;
    }
    if (!o.createProxier) {
      // As kube-proxy at start: another mode's rules left on this node (it ran that mode before)
      // would catch Services first, so they go before this mode programs anything.
      const removed = await cleanupProxyModes(o.netns, { prefix: ctx.prefix, except: o.mode });
      if (removed.length) o.log('info', "removed another proxy mode's rules", { removed });
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
      ...(o.createProxier ? {} : { flags: resolveModeFlags(o.mode, o.modeFlags) }),
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
