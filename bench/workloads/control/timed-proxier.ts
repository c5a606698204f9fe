/**
 * An IptablesProxier that records every sync for the sync workloads: when it started and ended,
 * when its iptables-restore returned (the rules are in the kernel then), what it wrote, and the
 * last-change-trigger-times it carried; and an Iptables wrapper that reports when a restore returned.
 */
import { KdpError } from '../../../dataplane/errors.ts';
import type { Iptables } from '../../../dataplane/kernel/iptables/interface.ts';
import type { RestoreOptions } from '../../../dataplane/kernel/iptables/types.ts';
import { IptablesProxier } from '../../../dataplane/proxy/iptables/iptables-proxier.ts';
import type {
  IptablesEndpoint,
  IptablesServicePort,
} from '../../../dataplane/proxy/iptables/iptables-model.ts';
import type { SyncReport, SyncState } from '../../../dataplane/proxy/proxier-contract.ts';

export interface SyncRecord {
  kind: 'full' | 'partial';
  /** performance.now() based epoch ms, for durations. */
  startedAt: number;
  endedAt: number;
  /** Date.now() at the end, the clock last-change-trigger-times are on. */
  endedWall: number;
  /** When the sync's iptables-restore returned (rules in the kernel); undefined if it wrote nothing. */
  restoredAt?: number;
  payloadBytes: number;
  /** The restore text, kept for the raw baseline of the same rules. */
  payload?: string;
  triggerTimes: number[];
}

/** An IptablesProxier that records each sync. */
export class TimedProxier extends IptablesProxier {
  readonly syncs: SyncRecord[] = [];
  private waiters: ((r: SyncRecord) => void)[] = [];
  restoredAt?: number;

  protected override async syncRules(
    state: SyncState<IptablesServicePort, IptablesEndpoint>,
  ): Promise<SyncReport> {
    const startedAt = performance.timeOrigin + performance.now();
    this.restoredAt = undefined;
    const report = await super.syncRules(state);
    const w = this.lastWrite!;
    const r: SyncRecord = {
      kind: w.kind,
      startedAt,
      endedAt: performance.timeOrigin + performance.now(),
      endedWall: Date.now(),
      restoredAt: this.restoredAt,
      payloadBytes: w.payload?.text.length ?? 0,
      payload: w.payload?.text,
      triggerTimes: [...state.triggerTimes.values()].flat(),
    };
    this.syncs.push(r);
    for (const resolve of this.waiters.splice(0)) resolve(r);
    return report;
  }

  /** The next sync to end. */
  nextSync(): Promise<SyncRecord> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Drops the records so far (each holds its payload: 33 MB at 10k services), between trials. */
  forgetSyncs(): void {
    this.syncs.length = 0;
  }

  /** The first sync, whether or not it has ended yet. */
  firstSync(): Promise<SyncRecord> {
    return this.syncs[0] ? Promise.resolve(this.syncs[0]) : this.nextSync();
  }

  /** Resolves with the sync that carried `trigger` (a change's last-change-trigger-time). */
  async syncCarrying(trigger: number, timeoutMs = 120_000): Promise<SyncRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.syncs.find((s) => s.triggerTimes.includes(trigger));
      if (found) return found;
      if (Date.now() > deadline)
        throw new KdpError('KDP_ERR_BENCH_SYNC', `no sync carried the change made at ${trigger}`);
      await Promise.race([this.nextSync(), new Promise((r) => setTimeout(r, 1000))]);
    }
  }

  /** Rules programmed, nat and filter (kubeproxy_sync_proxy_rules_iptables_total). */
  async rules(): Promise<number> {
    const m = await this.metrics.text();
    const count = (table: string) =>
      Number(
        new RegExp(`kubeproxy_sync_proxy_rules_iptables_total\\{table="${table}"\\} (\\d+)`).exec(m)?.[1],
      );
    return count('nat') + count('filter');
  }
}

/** An Iptables that tells when each restore returned. */
export function timedIptables(inner: Iptables, onRestored: () => void): Iptables {
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key !== 'restore') return Reflect.get(target, key, receiver) as unknown;
      return async (ns: string, payload: string, options?: RestoreOptions) => {
        await target.restore(ns, payload, options);
        onRestored();
      };
    },
  });
}
