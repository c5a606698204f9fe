/**
 * The apiserver's Prometheus metrics under upstream's names, on a prom-client Registry of its
 * own (never the global one, so several servers in one process do not mix): requests by verb,
 * resource and code, request latency, open watches, and stored objects per resource.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ResourceInfo } from '../resources.ts';
import { RESOURCES } from '../resources.ts';

export interface ApiMetricsOptions {
  /** Number of stored objects of a resource, read when /metrics is scraped. */
  storedObjects?: (info: ResourceInfo) => number;
}

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'verb' | 'resource' | 'code'>;
  private readonly duration: Histogram<'verb' | 'resource'>;
  private readonly watchers: Gauge<'group' | 'version' | 'kind'>;

  constructor(opts: ApiMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out by verb, resource and HTTP response code.',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb and resource (watches excluded).',
      labelNames: ['verb', 'resource'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.watchers = new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Number of currently open watch streams for a given resource kind.',
      labelNames: ['group', 'version', 'kind'],
      registers,
    });
    const stored = opts.storedObjects;
    if (stored) {
      new Gauge({
        name: 'apiserver_storage_objects',
        help: 'Number of stored objects at the time of the last scrape, by resource.',
        labelNames: ['resource'],
        registers,
        collect() {
          for (const info of RESOURCES) {
            this.set(
              { resource: info.group ? `${info.resource}.${info.group}` : info.resource },
              stored(info),
            );
          }
        },
      });
    }
  }

  /** One finished request; `seconds` undefined for watches, whose length says nothing about speed. */
  observe(verb: string, resource: string, code: number, seconds?: number): void {
    this.requests.inc({ verb, resource, code: String(code) });
    if (seconds !== undefined) this.duration.observe({ verb, resource }, seconds);
  }

  watchOpened(kind: { kind: string; apiVersion: string }): void {
    this.watchers.inc(watchLabels(kind));
  }

  watchClosed(kind: { kind: string; apiVersion: string }): void {
    this.watchers.dec(watchLabels(kind));
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function watchLabels(k: { kind: string; apiVersion: string }) {
  const slash = k.apiVersion.indexOf('/');
  return {
    group: slash < 0 ? '' : k.apiVersion.slice(0, slash),
    version: slash < 0 ? k.apiVersion : k.apiVersion.slice(slash + 1),
    kind: k.kind,
  };
}
