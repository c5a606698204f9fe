/**
 * Waiting in tests for what the code under test makes true asynchronously: poll a condition with a
 * generous bound (a slow, shared machine is not a failure; a hang is), never sleep for readiness.
 * The one poll-until helper of the unit and integration tiers.
 */
import assert from 'node:assert/strict';

export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface UntilOptions {
  /** Give up after this long. Default 30 s. */
  timeoutMs?: number;
  /** Pause between two probes. Default 10 ms; probes that spawn processes pass more. */
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns something truthy, and returns that. A probe that throws counts
 * as "not yet"; when time is up the test fails naming `what` (a function is called then, to
 * describe the state at that moment) and the probe's last error.
 */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | Promise<T>,
  options: number | UntilOptions = {},
): Promise<Truthy<T>> {
  const { timeoutMs = 30_000, intervalMs = 10 } =
    typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as Truthy<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const described = typeof what === 'function' ? what() : what;
      assert.fail(
        `timed out after ${timeoutMs} ms waiting for ${described}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
