/**
 * The iptables mode's own metrics, under kube-proxy's names, registered into the proxier's
 * registry beside the common ones (proxy/metrics.ts) as upstream registers them per mode.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export const IPTABLES_METRIC_NAMES = [
  'kubeproxy_sync_proxy_rules_iptables_total',
  'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
  'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
] as const;

export class IptablesMetrics {
  /** kubeproxy_sync_proxy_rules_iptables_total{table}: rules programmed, per table, after a sync. */
  readonly rules: Gauge<'table'>;
  readonly restoreFailures: Counter;
  readonly partialRestoreFailures: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const [rules, restore, partial] = IPTABLES_METRIC_NAMES;
    this.rules = new Gauge({
      name: rules,
      help: 'Rules the proxier programmed, per iptables table, after the last sync.',
      labelNames: ['table'],
      registers,
    });
    this.restoreFailures = new Counter({
      name: restore,
      help: 'iptables-restore runs that failed.',
      registers,
    });
    this.partialRestoreFailures = new Counter({
      name: partial,
      help: 'iptables-restore runs of a partial sync that failed (a full sync follows).',
      registers,
    });
  }
}
