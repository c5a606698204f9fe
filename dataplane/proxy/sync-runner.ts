/**
 * The bounded-frequency runner that paces a proxy's syncs, as upstream's BoundedFrequencyRunner
 * (minSyncPeriod / syncPeriod): a requested run happens at once if the last one ended at least
 * minInterval ago and otherwise as soon as it may; requests made meanwhile (or during a run)
 * fold into that one run; with no requests it still runs every maxInterval; a run that fails is
 * retried after retryInterval (no sooner than minInterval allows). Runs never overlap. The
 * function learns whether a run is merely periodic, so it may skip work nobody asked for.
 *
 * Time comes from a Clock so tests drive it by hand (testing/fake-clock.ts) and assert exactly
 * when runs happen instead of sleeping.
 */
import { KdpError } from '../errors.ts';

export interface Clock {
  /** Epoch milliseconds (fractional where the clock has them). */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RunnerOptions {
  /** Shortest time from the end of one run to the start of the next. */
  minIntervalMs: number;
  /** Longest time from the end of one run to the start of the next; Infinity: no periodic runs. */
  maxIntervalMs: number;
  /** After a failed run, run again this long after it ended. */
  retryIntervalMs: number;
  clock?: Clock;
}

/** setTimeout fires at once for delays it cannot represent, so longer ones wait in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class BoundedFrequencyRunner {
  private readonly clock: Clock;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private requested = false;
  private retryAt: number | undefined;
  private lastEnd: number | undefined;
  /** The periodic interval counts from here: the start, then the end of each run. */
  private periodicFrom = 0;
  private timer: unknown;
  private timerDue: number | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly fn: (run: { periodic: boolean }) => Promise<void> | void,
    private readonly opts: RunnerOptions,
  ) {
    const { minIntervalMs: min, maxIntervalMs: max, retryIntervalMs: retry } = opts;
    if (!(min >= 0) || !(max >= min) || !(retry > 0)) {
      throw new KdpError(
        'KDP_ERR_PROXY_CONFIG',
        `sync intervals must satisfy 0 <= min (${min} ms) <= max (${max} ms) and retry (${retry} ms) > 0`,
      );
    }
    this.clock = opts.clock ?? systemClock;
  }

  /** Starts pacing; a run requested before start happens now. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.periodicFrom = this.clock.now();
    this.schedule();
  }

  /** Asks for a run as soon as the bounds allow; calls before the next run fold into one. */
  run(): void {
    if (this.state === 'stopped') return;
    this.requested = true;
    this.schedule();
  }

  /** Stops for good: clears the timer and resolves when a run in progress has ended. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    this.clearTimer();
    await this.inFlight;
  }

  private schedule(): void {
    if (this.state !== 'running' || this.inFlight) return;
    const now = this.clock.now();
    const earliest = this.lastEnd === undefined ? now : this.lastEnd + this.opts.minIntervalMs;
    let due = this.periodicFrom + this.opts.maxIntervalMs;
    if (this.requested) due = Math.min(due, Math.max(now, earliest));
    if (this.retryAt !== undefined) due = Math.min(due, Math.max(this.retryAt, earliest));
    if (this.timer !== undefined && this.timerDue === due) return;
    this.clearTimer();
    if (!Number.isFinite(due)) return;
    const delay = Math.min(Math.max(0, due - now), MAX_TIMER_MS);
    this.timerDue = due;
    this.timer = this.clock.setTimer(() => {
      this.timer = this.timerDue = undefined;
      if (this.clock.now() < due) this.schedule();
      else this.execute();
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = this.timerDue = undefined;
  }

  private execute(): void {
    if (this.state !== 'running') return;
    const periodic = !this.requested && this.retryAt === undefined;
    this.requested = false;
    this.retryAt = undefined;
    this.inFlight = (async () => {
      try {
        await this.fn({ periodic });
      } catch {
        // Reporting the failure is fn's business; the runner's is to try again.
        this.retryAt = this.clock.now() + this.opts.retryIntervalMs;
      } finally {
        this.lastEnd = this.periodicFrom = this.clock.now();
        this.inFlight = undefined;
        this.schedule();
      }
    })();
  }
}
