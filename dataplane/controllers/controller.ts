/**
 * What every controller shares: the lifecycle (start once caches have synced, close idempotently
 * and completely), the work queue wiring with error logging, and where informers and logs come
 * from. A controller built without a SharedInformers of its own makes one and stops it on close,
 * so each controller also runs alone (tests, tools); under the manager they share one set.
 */
import { isApiError } from '../api/errors.ts';
import type { ResourceInfo } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { describeError } from '../errors.ts';
import { stderrLog, type Log } from '../log.ts';
import { InformerFactory } from '../client/informer-factory.ts';
import { WorkQueue, type WorkQueueOptions } from './workqueue.ts';

/** Default log: warnings and errors to stderr, one line each. */
export const stderrLogger: Log = stderrLog('kdp controllers');

/**
 * The apiserver refused what a sync wrote as malformed (e.g. derived from an invalid object
 * loaded from an older state.db): retrying the same write can only fail again.
 */
export function isRefusedAsInvalid(err: unknown): boolean {
  return isApiError(err, 'Invalid') || isApiError(err, 'BadRequest');
}

export interface ControllerOptions {
  /** Informers shared with other controllers; a private factory is made (and stopped) otherwise. */
  informers?: InformerFactory;
  log?: Log;
  /** Workers of the controller's queue. */
  workers?: number;
  /** Retry backoff of failed keys (tests shorten it). */
  retry?: Pick<WorkQueueOptions, 'baseDelayMs' | 'maxDelayMs'>;
}

export interface Controller {
  readonly name: string;
  /** Resolves once the controller's caches have synced and its workers run. Idempotent. */
  start(): Promise<void>;
  /** Stops the workers and (if private) the informers; resolves when nothing runs. Idempotent. */
  close(): Promise<void>;
}

export abstract class QueueController implements Controller {
  protected readonly informers: InformerFactory;
  protected readonly client: ApiClient;
  protected readonly log: Log;
  protected readonly queue: WorkQueue;
  private readonly ownsInformers: boolean;
  private readonly abort = new AbortController();
  private starting?: Promise<void>;
  private closing?: Promise<void>;

  constructor(
    readonly name: string,
    client: ApiClient,
    opts: ControllerOptions,
    defaultWorkers = 1,
  ) {
    this.client = client;
    this.ownsInformers = !opts.informers;
    this.informers = opts.informers ?? new InformerFactory(client);
    this.log = opts.log ?? stderrLogger;
    this.queue = new WorkQueue((key, signal) => this.sync(key, signal), {
      workers: opts.workers ?? defaultWorkers,
      ...opts.retry,
      onError: (key, err, attempt) => {
        // Conflicts and races with other writers are routine: retried quietly.
        const routine =
          isApiError(err, 'Conflict') || isApiError(err, 'AlreadyExists') || isApiError(err, 'NotFound');
        this.log(
          routine ? 'debug' : 'warn',
          `${this.name}: sync of ${key} failed (attempt ${attempt}), retrying`,
          {
            error: describeError(err),
          },
        );
      },
      isPermanent: isRefusedAsInvalid,
      onDrop: (key, err) =>
        this.log(
          'warn',
          `${this.name}: sync of ${key} was refused by the apiserver; skipped until it changes`,
          {
            error: describeError(err),
          },
        ),
    });
  }

  /** The shared informer of a resource (`pods`, `apps/replicasets`, or a table entry). */
  protected informer<T extends KubeObject>(resource: string | ResourceInfo): Informer<T> {
    return this.informers.informer<T>(resource);
  }

  /** The informers whose initial list must be in before the workers start. */
  protected abstract syncedInformers(): Informer<KubeObject>[];

  /** Reconciles one key; throwing retries it with backoff. */
  protected abstract sync(key: string, signal: AbortSignal): Promise<void>;

  /** Runs after the caches synced and before the workers start (rebuilding in-memory state). */
  protected prepare(): void {}

  start(): Promise<void> {
    this.starting ??= this.run();
    return this.starting;
  }

  private async run(): Promise<void> {
    if (this.closing) return;
    this.informers.start();
    try {
      await Promise.all(this.syncedInformers().map((i) => i.waitForSync(this.abort.signal)));
    } catch (err) {
      if (this.closing) return;
      throw err;
    }
    if (this.closing) return;
    this.prepare();
    this.queue.start();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      await this.queue.shutDown();
      if (this.ownsInformers) this.informers.stop();
    })();
    return this.closing;
  }

  protected get closed(): boolean {
    return this.closing !== undefined;
  }
}

/** `namespace/name` or `name`, the queue key of an object. */
export function keyOf(obj: KubeObject): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** A NotFound on delete is the outcome the caller wanted. */
export function ignoreNotFound(err: unknown): undefined {
  if (isApiError(err, 'NotFound')) return undefined;
  throw err;
}

/** JSON with object keys sorted, so equal objects always print the same. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJSON(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Whether two JSON values are equal, whatever the order of their object keys. */
export function sameJSON(a: unknown, b: unknown): boolean {
  return canonicalJSON(a) === canonicalJSON(b);
}
