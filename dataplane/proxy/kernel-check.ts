/**
 * The framework's half of self-healing (see base-proxier.ts): runs a mode's kernel-state check
 * on a timer between syncs, times it, and counts the damage that forced a full sync in kdp_proxy_kernel_state_repairs_total. The timer waits `periodMs`, or 10x the
 * last check's duration when that is longer, so checking never takes more than a tenth of the
 * time however large the mode's tables grow.
 */
import type { Log } from '../log.ts';
import type { ProxyMetrics } from './proxy-metrics.ts';
import type { Clock } from './sync-runner.ts';

export interface KernelCheckOptions {
  mode: string;
  /** What is missing, or undefined; throws when it could not tell. */
  check: () => Promise<string | undefined>;
  periodMs: number;
  clock: Clock;
  metrics: ProxyMetrics;
  log: Log;
  /** What the timer does each period (the owner decides whether to check now and what follows). */
  onTick: () => Promise<void>;
}

export class KernelCheck {
  private timer: unknown;
  private stopped = false;
  private lastMs = 0;

  constructor(private readonly o: KernelCheckOptions) {}

  start(): void {
    if (this.stopped || !Number.isFinite(this.o.periodMs)) return;
    this.timer = this.o.clock.setTimer(
      () => {
        this.timer = undefined;
        void this.o.onTick().finally(() => this.start());
      },
      Math.max(this.o.periodMs, 10 * this.lastMs),
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** One check, timed: what is missing, or undefined; a check that fails is logged and finds nothing. */
  async run(): Promise<string | undefined> {
    const started = this.o.clock.now();
    let damage: string | undefined;
    try {
      damage = await this.o.check();
    } catch (err) {
      this.o.log('warn', `${this.o.mode} proxier: could not check the kernel state`, { error: err });
    } finally {
      this.lastMs = this.o.clock.now() - started;
      this.o.metrics.kernelCheckDuration.observe(this.lastMs / 1000);
    }
    return damage;
  }

  /** Damage that forces a full sync: counted and logged. */
  note(damage: string): void {
    this.o.metrics.kernelStateRepairs.inc();
    this.o.log('warn', `${this.o.mode} proxier: kernel state damaged from outside; full sync`, {
      damage,
    });
  }
}
