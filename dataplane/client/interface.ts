/**
 * The client contract every kdp component programs against. One implementation over HTTP (TCP,
 * unix socket or HTTPS to a real cluster, see http-transport.ts) and one in-process (calling the
 * apiserver's dispatcher directly) sit behind the same Transport, so controllers, agents and
 * tests do not care which they have. Errors are ApiError with the server's Status.
 */
import type { ResourceInfo } from '../api/resources.ts';
import type { KubeList, KubeObject, WatchEvent } from '../api/types.ts';

export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface Transport {
  /** One request; resolves with the parsed JSON body, rejects with ApiError on a non-2xx Status. */
  request(req: TransportRequest): Promise<unknown>;
  /**
   * A watch stream: calls `onEvent` for each event in order, resolves when the server ends the
   * stream (timeout) or `signal` aborts, rejects with ApiError (e.g. 410 Expired) or a connection error.
   */
  watch(req: TransportRequest, onEvent: (ev: WatchEvent) => void): Promise<void>;
  close(): void;
}

export interface ListOpts {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  signal?: AbortSignal;
}

export interface WatchOpts extends Omit<ListOpts, 'limit' | 'continue'> {
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type PatchKind = 'merge' | 'strategic' | 'json';

export interface DeleteOpts {
  namespace?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { resourceVersion?: string; uid?: string };
  signal?: AbortSignal;
}

export interface ResourceClient<T extends KubeObject = KubeObject> {
  readonly info: ResourceInfo;
  list(opts?: ListOpts): Promise<KubeList<T>>;
  /** Lists every page (follows `continue`). */
  listAll(opts?: Omit<ListOpts, 'continue'>): Promise<KubeList<T>>;
  get(name: string, namespace?: string): Promise<T>;
  /** Like get, but undefined instead of a 404. */
  tryGet(name: string, namespace?: string): Promise<T | undefined>;
  create(obj: T, opts?: { namespace?: string; dryRun?: boolean }): Promise<T>;
  update(obj: T): Promise<T>;
  updateStatus(obj: T): Promise<T>;
  patch(
    name: string,
    patch: unknown,
    opts?: { namespace?: string; type?: PatchKind; subresource?: 'status' | 'scale' },
  ): Promise<T>;
  delete(name: string, opts?: DeleteOpts): Promise<T | undefined>;
  watch(opts: WatchOpts, onEvent: (ev: WatchEvent<T>) => void): Promise<void>;
}

export interface ApiClient {
  /** A typed client for a resource, by table entry or by name (`services`, `svc`, `apps/deployments`). */
  resource<T extends KubeObject = KubeObject>(which: ResourceInfo | string): ResourceClient<T>;
  /** Raw request for paths outside the resource tree (/version, /healthz). */
  raw(req: TransportRequest): Promise<unknown>;
  close(): void;
}

export interface InformerHandlers<T extends KubeObject = KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/**
 * A shared informer: lists, then watches from the list's resourceVersion, keeps a local cache,
 * relists on 410 Expired, reconnects with backoff, and calls handlers in event order (never
 * re-entrantly, never synchronously inside another handler). onDelete gets the last known object.
 */
export interface Informer<T extends KubeObject = KubeObject> {
  /** Handlers added after sync first receive onAdd for every cached object. */
  addHandlers(h: InformerHandlers<T>): void;
  /** Adds a named index: `fn` returns the index keys of an object. */
  addIndexer(name: string, fn: (obj: T) => string[]): void;
  start(): void;
  /** Resolves once the initial list has been delivered to the handlers. */
  waitForSync(signal?: AbortSignal): Promise<void>;
  hasSynced(): boolean;
  /** Cached objects, optionally in one namespace. */
  list(namespace?: string): T[];
  get(name: string, namespace?: string): T | undefined;
  byIndex(indexName: string, key: string): T[];
  /** The resourceVersion of the last event or list seen. */
  lastResourceVersion(): string | undefined;
  stop(): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as onUpdate(obj, obj) this often; 0 disables. */
  resyncSeconds?: number;
}
