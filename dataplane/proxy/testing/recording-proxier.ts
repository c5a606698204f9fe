/**
 * A proxy mode that programs nothing and records every sync's input instead, so the framework
 * (trackers, runner, gating, metrics, wiring to informers) is tested end to end without a kernel.
 * It can be told to fail the next syncs, and what to report, to exercise retries and metrics.
 */
import type { Log } from '../../log.ts';
import { BaseProxier } from '../base-proxier.ts';
import type { EndpointInfo, ServicePortInfo } from '../service-model.ts';
import type { SyncReport, SyncState } from '../proxier-contract.ts';
import type { Clock } from '../sync-runner.ts';

/** One sync as the mode saw it, copied (the live maps move on after the sync). */
export type SyncRecord = SyncState & {
  services: Map<string, ServicePortInfo>;
  endpoints: Map<string, readonly EndpointInfo[]>;
};

export interface RecordingProxierOptions {
  nodeName: string;
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  retryPeriodMs?: number;
  fullSyncPeriodMs?: number;
  kernelCheckPeriodMs?: number;
  clock?: Clock;
  log?: Log;
  /** Metrics as this mode would have them ('recording' has no mode-specific ones). */
  mode?: string;
}

export class RecordingProxier extends BaseProxier {
  /** Every sync that reached the mode, failed ones included. */
  readonly syncs: SyncRecord[] = [];
  cleanups = 0;
  /** Returned from each successful sync. */
  report: SyncReport | undefined;
  private failures: Error[] = [];

  constructor(opts: RecordingProxierOptions) {
    super({ ...opts, mode: opts.mode ?? 'recording' });
  }

  /** The next `times` syncs throw `err`. */
  failNext(err: Error, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(err);
  }

  /** The last sync recorded. */
  get last(): SyncRecord | undefined {
    return this.syncs.at(-1);
  }

  protected override async syncRules(state: SyncState): Promise<SyncReport | void> {
    this.syncs.push({
      ...state,
      services: new Map(state.services),
      endpoints: new Map(state.endpoints),
      updatedServices: new Set(state.updatedServices),
      triggerTimes: new Map(state.triggerTimes),
    });
    const failure = this.failures.shift();
    if (failure) throw failure;
    return this.report;
  }

  protected override async cleanupRules(): Promise<void> {
    this.cleanups++;
  }
}
