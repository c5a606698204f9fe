/**
 * Collects keys that need work and hands them to one handler in batches, one batch at a time:
 * a batch starts once no key has arrived for `quietMs`, or `maxWaitMs` after the first key, and
 * keys that arrive while a batch runs form the next one. This is what lets a hundred pods created
 * together go through one kernel plan, while a lone pod waits only a few milliseconds.
 */
export interface KeyBatcherOptions {
  quietMs?: number;
  maxWaitMs?: number;
  /** Told when a whole batch threw; its keys come back after `retryMs`. */
  onError(err: unknown, keys: string[]): void;
  retryMs?: number;
}

export class KeyBatcher {
  private readonly pending = new Set<string>();
  private readonly later = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private timer?: NodeJS.Timeout;
  private firstAt = 0;
  private running?: Promise<void>;
  private started = false;
  private closed = false;

  constructor(
    private readonly handler: (keys: string[]) => Promise<void>,
    private readonly opts: KeyBatcherOptions,
  ) {}

  add(key: string): void {
    if (this.closed) return;
    if (this.pending.size === 0) this.firstAt = Date.now();
    this.pending.add(key);
    this.schedule();
  }

  /** Adds the key after a delay; an earlier pending delay for it wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const have = this.later.get(key);
    if (have && have.at <= at) return;
    if (have) clearTimeout(have.timer);
    const timer = setTimeout(() => {
      this.later.delete(key);
      this.add(key);
    }, delayMs);
    this.later.set(key, { at, timer });
  }

  /** Batches run from now on (keys added before wait for this). */
  start(): void {
    this.started = true;
    this.schedule();
  }

  /** Stops taking keys and resolves once the running batch (if any) has finished. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const { timer } of this.later.values()) clearTimeout(timer);
    this.later.clear();
    this.pending.clear();
    await this.running;
  }

  private schedule(): void {
    if (!this.started || this.closed || this.running || this.pending.size === 0) return;
    if (this.timer) clearTimeout(this.timer);
    const quiet = this.opts.quietMs ?? 5;
    const untilMax = this.firstAt + (this.opts.maxWaitMs ?? 50) - Date.now();
    this.timer = setTimeout(() => this.run(), Math.max(0, Math.min(quiet, untilMax)));
  }

  private run(): void {
    this.timer = undefined;
    const keys = [...this.pending];
    this.pending.clear();
    this.running = (async () => {
      try {
        await this.handler(keys);
      } catch (e) {
        this.opts.onError(e, keys);
        for (const k of keys) this.addAfter(k, this.opts.retryMs ?? 1000);
      } finally {
        this.running = undefined;
        if (this.pending.size > 0) this.firstAt = Date.now();
        this.schedule();
      }
    })();
  }
}
