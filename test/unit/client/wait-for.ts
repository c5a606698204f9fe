// Waits for a condition the code under test makes true asynchronously, polling every few ms and
// failing after a generous bound (so a slow CI machine is not a failure, but a hang is).
import assert from 'node:assert/strict';

/** `what` may be a function, to describe the state at the time of failure. */
export async function waitFor(
  cond: () => boolean,
  what: string | (() => string),
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), `timed out waiting for ${typeof what === 'function' ? what() : what}`);
}
