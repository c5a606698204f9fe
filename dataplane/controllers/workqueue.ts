/**
 * The keyed work queue every controller runs on, with client-go's guarantees: a key waiting in the
 * queue is held once however often it is added (events coalesce), a key is never handled by two
 * workers at once (an add during its handling runs it again afterwards), and a failed key comes
 * back after a per-key exponential backoff that a success resets, unless its failure is
 * permanent (a poisoned object), which drops it until the next add. Shutdown stops the workers
 * taking anything further, cancels every pending retry timer and resolves once the handlers that
 * were running have returned, so a closed controller leaves nothing behind that keeps a process up.
 */

export interface WorkQueueOptions {
  /** Parallel workers; keys are still handled one at a time each. Default 1. */
  workers?: number;
  /** First retry delay after a failure; doubles per consecutive failure of the key. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the retry delay. Default 60 s. */
  maxDelayMs?: number;
  /** Told about every failure that is retried. */
  onError?(key: string, err: unknown, attempt: number): void;
  /**
   * Failures no retry can fix (the server refused the object as invalid): the key is dropped,
   * not retried, until something adds it again. Without it every failure is retried.
   */
  isPermanent?(err: unknown): boolean;
  /** Told once when a key is dropped for a permanent failure. */
  onDrop?(key: string, err: unknown): void;
}

export type KeyHandler = (key: string, signal: AbortSignal) => Promise<void>;

export class WorkQueue {
  private readonly pending: string[] = [];
  private head = 0;
  /** Keys waiting to be handled (in `pending`, or to be re-queued when their handling ends). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private wake?: () => void;
  private started = false;
  private stopped = false;
  private readonly workers: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly handler: KeyHandler,
    private readonly opts: WorkQueueOptions = {},
  ) {
    this.workers = Math.max(1, opts.workers ?? 1);
    this.baseDelayMs = Math.max(1, opts.baseDelayMs ?? 5);
    this.maxDelayMs = Math.max(this.baseDelayMs, opts.maxDelayMs ?? 60_000);
  }

  /** Queues a key (a no-op when it is already waiting or the queue is shut down). */
  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.pending.push(key);
    this.wake?.();
  }

  /** Queues a key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const cur = this.timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, { at, timer });
  }

  /** Keys waiting (not counting ones being handled or waiting on a timer). */
  get length(): number {
    return this.pending.length - this.head;
  }

  /** True when nothing is queued, being handled or waiting to be retried. */
  get idle(): boolean {
    return this.length === 0 && this.processing.size === 0 && this.timers.size === 0;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (let i = 0; i < this.workers; i++) this.track(this.work());
  }

  /** Stops taking keys, cancels retries, and resolves when running handlers have returned. */
  async shutDown(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.abort.abort();
      for (const t of this.timers.values()) clearTimeout(t.timer);
      this.timers.clear();
      this.pending.length = 0;
      this.head = 0;
      this.dirty.clear();
      this.wake?.();
    }
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private next(): string | undefined {
    if (this.head >= this.pending.length) return undefined;
    const key = this.pending[this.head++];
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    return key;
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const key = this.next();
      if (key === undefined) {
        await new Promise<void>((resolve) => {
          const prev = this.wake;
          this.wake = () => {
            this.wake = undefined;
            prev?.();
            resolve();
          };
        });
        continue;
      }
      this.dirty.delete(key);
      this.processing.add(key);
      try {
        await this.handler(key, this.abort.signal);
        this.failures.delete(key);
      } catch (err) {
        if (!this.stopped) this.retry(key, err);
      } finally {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.stopped) {
          this.pending.push(key);
          this.wake?.();
        }
      }
    }
  }

  private retry(key: string, err: unknown): void {
    if (this.opts.isPermanent?.(err)) {
      this.failures.delete(key);
      this.opts.onDrop?.(key, err);
      return;
    }
    const attempt = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, attempt);
    this.opts.onError?.(key, err, attempt);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
    this.addAfter(key, delay);
  }
}
