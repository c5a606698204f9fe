/**
 * Writes Pod statuses through the status subresource, many at once: each is a JSON merge patch of
 * `status` (no resourceVersion, so a concurrent writer of other fields never makes it conflict),
 * up to `concurrency` in flight, the latest status per pod wins (a status queued twice is written
 * once), and a failed write is retried after a delay unless a newer one replaced it. A hundred
 * pods' statuses thus cost a few round-trip times, not a hundred.
 */
import { isApiError } from '../api/errors.ts';
import type { Pod, PodStatus } from '../api/types.ts';
import type { ApiClient } from '../client/interface.ts';
import { describeError } from '../errors.ts';
import type { Log } from '../log.ts';

interface Pending {
  namespace: string;
  name: string;
  status: PodStatus;
}

export class StatusWriter {
  private readonly queue = new Map<string, Pending>();
  private readonly inFlight = new Set<string>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly client: ApiClient,
    private readonly log: Log,
    private readonly opts: {
      concurrency?: number;
      retryMs?: number;
      /** Told the server's answer to each write and the status that was sent. */
      onWritten?(pod: Pod, sent: PodStatus): void;
    } = {},
  ) {}

  write(namespace: string, name: string, status: PodStatus): void {
    if (this.closed) return;
    this.queue.set(`${namespace}/${name}`, { namespace, name, status });
    this.pump();
  }

  /** Resolves when nothing is queued or being written. */
  idle(): Promise<void> {
    if (this.queue.size === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.settle();
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 16;
    for (const [key, p] of this.queue) {
      if (this.inFlight.size >= limit) break;
      if (this.inFlight.has(key)) continue;
      this.queue.delete(key);
      this.inFlight.add(key);
      void this.send(key, p);
    }
    this.settle();
  }

  private async send(key: string, p: Pending): Promise<void> {
    try {
      const pod = await this.client
        .resource<Pod>('pods')
        .patch(
          p.name,
          { status: p.status },
          { namespace: p.namespace, subresource: 'status', type: 'merge' },
        );
      this.opts.onWritten?.(pod, p.status);
    } catch (e) {
      if (!isApiError(e, 'NotFound') && !this.closed) {
        this.log('warn', `status of pod ${key} not written, retrying`, { error: describeError(e) });
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!this.queue.has(key)) this.write(p.namespace, p.name, p.status);
        }, this.opts.retryMs ?? 1000);
        this.timers.add(t);
      }
    } finally {
      this.inFlight.delete(key);
      if (!this.closed) this.pump();
      else this.settle();
    }
  }

  private settle(): void {
    if (this.queue.size > 0 || this.inFlight.size > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
