/**
 * Shared informers: several controllers in one process (the endpointslice controller and the
 * service proxy both watch Services) get the same informer for the same resource and options, so
 * there is one list, one watch and one cache per resource instead of one per consumer.
 */
import { groupResource, type ResourceInfo } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import { KdpError } from '../errors.ts';
import { resolveResource } from './client.ts';
import { createInformer, type InformerTuning } from './informer.ts';
import type { ApiClient, Informer, InformerOptions } from './interface.ts';

export class InformerFactory {
  private readonly informers = new Map<string, Informer>();
  private started = false;
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    private readonly tuning: InformerTuning = {},
  ) {}

  /**
   * The shared informer for a resource and options. It belongs to the factory: consumers add
   * handlers and read it, and `factory.stop()` (not the informer's own stop) ends it. Informers
   * asked for after `start()` start at once.
   */
  informer<T extends KubeObject = KubeObject>(
    resource: ResourceInfo | string,
    opts: InformerOptions = {},
  ): Informer<T> {
    if (this.stopped) throw new KdpError('KDP_ERR_INFORMER_STOPPED', 'the informer factory was stopped');
    const info = typeof resource === 'string' ? resolveResource(resource) : resource;
    const key = JSON.stringify([
      groupResource(info),
      opts.namespace ?? '',
      opts.labelSelector ?? '',
      opts.fieldSelector ?? '',
      opts.resyncSeconds ?? 0,
    ]);
    let inf = this.informers.get(key);
    if (!inf) {
      inf = createInformer(this.client, info, { ...this.tuning, ...opts });
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Resolves when every informer made so far has synced. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((inf) => inf.waitForSync(signal)));
  }

  stop(): void {
    this.stopped = true;
    for (const inf of this.informers.values()) inf.stop();
  }
}
