/**
 * The DNS server's view of the cluster: shared informers on Services and EndpointSlices (all
 * namespaces), and a ClusterIndex rebuilt from their caches on the first query after a change.
 * The workload waits for both informers' first lists (`waitForSync`) before it opens its port, so
 * a DNS pod is Ready only once it answers from a full view (CoreDNS's ready plugin waits the same).
 */
import type { EndpointSlice, Service } from '../api/types.ts';
import { InformerFactory } from '../client/informer-factory.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { ClusterIndex } from './cluster-index.ts';

export class DnsFeed {
  private readonly factory: InformerFactory;
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private index = new ClusterIndex([], []);
  private dirty = true;
  /** How many times the index was rebuilt (tests, metrics). */
  rebuilds = 0;

  constructor(client: ApiClient) {
    this.factory = new InformerFactory(client);
    this.services = this.factory.informer<Service>('services');
    this.slices = this.factory.informer<EndpointSlice>('discovery.k8s.io/endpointslices');
    const changed = { onAdd: () => this.touch(), onUpdate: () => this.touch(), onDelete: () => this.touch() };
    this.services.addHandlers(changed);
    this.slices.addHandlers(changed);
  }

  private touch(): void {
    this.dirty = true;
  }

  start(): void {
    this.factory.start();
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    return this.factory.waitForSync(signal);
  }

  /** The index as of the last event. */
  current = (): ClusterIndex => {
    if (this.dirty) {
      this.dirty = false;
      this.index = new ClusterIndex(this.services.list(), this.slices.list());
      this.rebuilds++;
    }
    return this.index;
  };

  stop(): void {
    this.factory.stop();
  }
}
