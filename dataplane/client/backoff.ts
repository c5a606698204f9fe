/**
 * Retry pacing for clients of the apiserver: capped exponential backoff with jitter, so many
 * informers or agents that lost the server at the same moment do not come back in lockstep.
 */

/** Capped exponential backoff with "equal jitter": half the step fixed, half random. */
export class Backoff {
  failures = 0;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  next(): number {
    const step = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(step / 2 + (Math.random() * step) / 2);
  }

  reset(): void {
    this.failures = 0;
  }
}
