/**
 * A Clock that moves only when a test says so, for the sync runner and everything paced by it:
 * `advance(ms)` fires the timers that fall due, in order, letting the async work they start settle
 * between them, so a test asserts when syncs happen in logical time, never by sleeping.
 */
import type { Clock } from '../sync-runner.ts';

interface FakeTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/** Lets every microtask queued so far (and those they queue) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, FakeTimer>();

  /** Starts at a fixed, realistic epoch time (2025-01-01T00:00:00Z) unless told otherwise. */
  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const seq = ++this.seq;
    this.timers.set(seq, { due: this.t + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers set and not yet fired or cleared. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling the work they start. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      let next: FakeTimer | undefined;
      for (const timer of this.timers.values()) {
        if (timer.due > target) continue;
        if (!next || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq)) next = timer;
      }
      if (!next) break;
      this.timers.delete(next.seq);
      this.t = Math.max(this.t, next.due);
      next.fn();
    }
    this.t = target;
    await settle();
  }
}
