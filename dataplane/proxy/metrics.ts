/**
 * A proxier's Prometheus metrics under kube-proxy's names (kubeproxy_...), so dashboards and
 * queries written for kube-proxy read kdp's agents unchanged. Each proxier has its own prom-client
 * Registry (never the global one: several agents may share a process in tests), which the agent
 * serves as text. A mode registers its own metrics (the iptables mode's
 * kubeproxy_sync_proxy_rules_iptables_...) into the same registry, as upstream registers them per
 * mode. kdp's additions, which kube-proxy lacks, are named kdp_proxy_....
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Exponential buckets as Prometheus' ExponentialBuckets(start, factor, count). */
function exponential(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

function linear(start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + width * i);
}

/** Sync durations: 1 ms .. 16 s, as upstream. */
const SYNC_BUCKETS = exponential(0.001, 2, 15);

/**
 * Network programming latency: upstream's buckets (0.25 s .. 5 min) with finer ones below 0.25 s
 * added, because kdp programs one change in tens of milliseconds and the metric should show it.
 */
const PROGRAMMING_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  ...linear(0.25, 0.25, 2),
  ...linear(1, 1, 59),
  ...linear(60, 5, 12),
  ...linear(120, 30, 7),
];

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly syncDuration: Histogram;
  readonly syncFullDuration: Histogram;
  readonly syncPartialDuration: Histogram;
  readonly networkProgramming: Histogram;
  readonly lastSyncTimestamp: Gauge;
  readonly lastQueuedTimestamp: Gauge;
  readonly endpointChangesPending: Gauge;
  readonly endpointChangesTotal: Counter;
  readonly serviceChangesPending: Gauge;
  readonly serviceChangesTotal: Counter;
  /** Services with a Local policy and no local endpoint, by traffic_policy internal / external. */
  readonly noLocalEndpoints: Gauge<'traffic_policy'>;
  /** kdp: failed syncs, any mode (the iptables mode also counts its restore failures upstream's way). */
  readonly syncFailures: Counter;
  /** kdp: service ports and endpoints the last successful sync programmed from. */
  readonly servicePorts: Gauge;
  readonly endpoints: Gauge;
  /** kdp: full syncs forced because the periodic check found the mode's hooks or top-level objects gone. */
  readonly kernelStateRepairs: Counter;
  /** kdp: time one check of the mode's kernel state took. */
  readonly kernelCheckDuration: Histogram;
  constructor() {
    const registers = [this.registry];
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, registers });
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });

    this.syncDuration = histogram(
      'kubeproxy_sync_proxy_rules_duration_seconds',
      'Time one sync of the proxy rules took, in seconds.',
      SYNC_BUCKETS,
    );
    this.syncFullDuration = histogram(
      'kubeproxy_sync_full_proxy_rules_duration_seconds',
      'Time one full sync of the proxy rules took, in seconds.',
      SYNC_BUCKETS,
    );
    this.syncPartialDuration = histogram(
      'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      'Time one partial sync (changed services only) of the proxy rules took, in seconds.',
      SYNC_BUCKETS,
    );
    this.networkProgramming = histogram(
      'kubeproxy_network_programming_duration_seconds',
      'Time from an endpoint change (its EndpointSlice last-change-trigger-time) to the rules for it being programmed, in seconds.',
      PROGRAMMING_BUCKETS,
    );
    this.lastSyncTimestamp = gauge(
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'When the proxy rules were last synced successfully, in seconds since the epoch.',
    );
    this.lastQueuedTimestamp = gauge(
      'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      'When a sync of the proxy rules was last requested, in seconds since the epoch.',
    );
    this.endpointChangesPending = gauge(
      'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      'Services with endpoint changes not synced yet.',
    );
    this.endpointChangesTotal = counter(
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'EndpointSlice events seen.',
    );
    this.serviceChangesPending = gauge(
      'kubeproxy_sync_proxy_rules_service_changes_pending',
      'Services with changes not synced yet.',
    );
    this.serviceChangesTotal = counter(
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'Service events seen.',
    );
    this.noLocalEndpoints = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Services with a Local traffic policy and no endpoint on this node, after the last sync.',
      labelNames: ['traffic_policy'],
      registers,
    });
    this.syncFailures = counter('kdp_proxy_sync_failures_total', 'Syncs of the proxy rules that failed.');
    this.servicePorts = gauge('kdp_proxy_service_ports', 'Service ports known at the last successful sync.');
    this.endpoints = gauge(
      'kdp_proxy_endpoints',
      'Service port endpoints known at the last successful sync.',
    );
    this.kernelStateRepairs = new Counter({
      name: 'kdp_proxy_kernel_state_repairs_total',
      help: 'Full syncs forced because the proxy mode found its kernel state damaged from outside (hooks or top-level chains gone), found by the periodic check.',
      registers,
    });
    this.kernelCheckDuration = histogram(
      'kdp_proxy_kernel_check_duration_seconds',
      "Time one check of the proxy mode's kernel state (hooks, top-level chains) took, in seconds.",
      SYNC_BUCKETS,
    );
  }

  /** Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
