/**
 * The informer: a local, always-converging copy of one resource (optionally one namespace or
 * selector) that controllers and node agents read instead of asking the apiserver, plus a stream
 * of add/update/delete notifications. It lists, then watches from the list's resourceVersion; a
 * watch that ends is resumed from the last resourceVersion seen; a 410 Expired relists and turns
 * the difference into notifications, so handlers always see a consistent story; connection errors
 * are retried with capped exponential backoff. Handlers run one event at a time, in order, on a
 * later microtask than the event's arrival, and a throwing handler is logged, not fatal.
 */
import { isApiError } from '../api/errors.ts';
import type { ResourceInfo } from '../api/resources.ts';
import type { KubeList, KubeObject, WatchEvent } from '../api/types.ts';
import { describeError, KdpError } from '../errors.ts';
import { stderrLog, type Log } from '../log.ts';
import { Backoff } from './backoff.ts';
import { resolveResource } from './client.ts';
import type { ApiClient, Informer, InformerHandlers, InformerOptions } from './interface.ts';

/** Knobs beyond the contract's options; the defaults suit production, tests shrink them. */
export interface InformerTuning {
  /** Page size of the (re)list. Default 500. */
  pageSize?: number;
  /** timeoutSeconds of each watch; default a random 300..600 s, so many informers do not reconnect together. */
  watchTimeoutSeconds?: number;
  /** Backoff after a failure: starts here and doubles up to backoffMaxMs, with jitter. Defaults 100 ms and 30 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Where failures (retries, throwing handlers) are reported. Default: stderr. */
  log?: Log;
}

export type InformerConfig = InformerOptions & InformerTuning;

type Note<T extends KubeObject> =
  | { kind: 'add' | 'delete'; obj: T; to: InformerHandlers<T>[] }
  | { kind: 'update'; old: T; obj: T; to: InformerHandlers<T>[] }
  | { kind: 'synced' };

/** An index: value -> keys of the objects filed under it, and the reverse for removal. */
interface Index<T> {
  fn: (obj: T) => string[];
  keys: Map<string, Set<string>>;
  valuesOf: Map<string, string[]>;
}

/** A watch counts as healthy (resets the backoff) if it delivered an event or lived this long. */
const HEALTHY_WATCH_MS = 1000;

export const NAMESPACE_INDEX = 'namespace';

export function createInformer<T extends KubeObject = KubeObject>(
  client: ApiClient,
  resource: ResourceInfo | string,
  opts: InformerConfig = {},
): Informer<T> {
  const info = typeof resource === 'string' ? resolveResource(resource) : resource;
  const rc = client.resource<T>(info);
  const what = `informer for ${info.group ? `${info.resource}.${info.group}` : info.resource}`;
  const logTo = opts.log ?? stderrLog('kdp');
  const log = (message: string, err?: unknown) =>
    logTo('warn', message, err === undefined ? undefined : { error: describeError(err) });
  const pageSize = opts.pageSize ?? 500;
  const backoff = new Backoff(opts.backoffInitialMs ?? 100, opts.backoffMaxMs ?? 30_000);

  const cache = new Map<string, T>();
  const indexes = new Map<string, Index<T>>([
    [NAMESPACE_INDEX, { fn: (obj) => [obj.metadata.namespace ?? ''], keys: new Map(), valuesOf: new Map() }],
  ]);
  const handlers: InformerHandlers<T>[] = [];
  const queue: Note<T>[] = [];
  let draining = false;
  let synced = false;
  let started = false;
  let stopped = false;
  let lastRV: string | undefined;
  const abort = new AbortController();
  let resyncTimer: NodeJS.Timeout | undefined;
  let wakeSleep: (() => void) | undefined;
  const syncWaiters = new Set<{ resolve(): void; reject(err: unknown): void }>();

  const keyOf = (obj: KubeObject) =>
    obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata.name ?? '');

  // ---- cache and indexes ----

  function indexAdd(name: string, ix: Index<T>, key: string, obj: T) {
    let values: string[];
    try {
      values = [...new Set(ix.fn(obj))];
    } catch (err) {
      log(`${what}: indexer "${name}" threw for ${key}`, err);
      return;
    }
    // Remember what the object was filed under, so removal need not call fn on the old object.
    ix.valuesOf.set(key, values);
    for (const v of values) {
      let set = ix.keys.get(v);
      if (!set) ix.keys.set(v, (set = new Set()));
      set.add(key);
    }
  }

  function indexRemove(ix: Index<T>, key: string) {
    for (const v of ix.valuesOf.get(key) ?? []) {
      const set = ix.keys.get(v);
      if (set?.delete(key) && set.size === 0) ix.keys.delete(v);
    }
    ix.valuesOf.delete(key);
  }

  function cacheSet(key: string, obj: T | undefined) {
    for (const ix of indexes.values()) indexRemove(ix, key);
    if (obj === undefined) {
      cache.delete(key);
      return;
    }
    cache.set(key, obj);
    for (const [name, ix] of indexes) indexAdd(name, ix, key, obj);
  }

  // ---- notification queue ----

  function enqueue(note: Note<T>) {
    if (stopped) return;
    queue.push(note);
    if (!draining) {
      draining = true;
      queueMicrotask(drain);
    }
  }

  function drain() {
    while (queue.length && !stopped) {
      const note = queue.shift() as Note<T>;
      if (note.kind === 'synced') {
        synced = true;
        for (const w of syncWaiters) w.resolve();
        syncWaiters.clear();
        continue;
      }
      for (const h of note.to) {
        try {
          if (note.kind === 'add') h.onAdd?.(note.obj);
          else if (note.kind === 'update') h.onUpdate?.(note.old, note.obj);
          else h.onDelete?.(note.obj);
        } catch (err) {
          log(
            `${what}: on${note.kind[0].toUpperCase()}${note.kind.slice(1)} handler threw for ${keyOf(note.obj)}`,
            err,
          );
        }
      }
    }
    draining = false;
  }

  function notify(kind: 'add' | 'delete', obj: T): void;
  function notify(kind: 'update', obj: T, old: T): void;
  function notify(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    if (!handlers.length) return;
    const to = handlers.slice();
    enqueue(kind === 'update' ? { kind, old: old as T, obj, to } : { kind, obj, to });
  }

  // ---- list and watch ----

  /** Brings the cache to exactly `list`, notifying the difference (everything, the first time). */
  function applyList(list: KubeList<T>) {
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = cache.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      cacheSet(key, obj);
      if (old) notify('update', obj, old);
      else notify('add', obj);
    }
    for (const [key, old] of [...cache]) {
      if (seen.has(key)) continue;
      cacheSet(key, undefined);
      notify('delete', old);
    }
    lastRV = list.metadata.resourceVersion;
    if (!synced) enqueue({ kind: 'synced' });
  }

  function applyEvent(ev: WatchEvent<T>) {
    const obj = ev.object;
    if (ev.type === 'BOOKMARK') {
      lastRV = obj.metadata.resourceVersion ?? lastRV;
      return;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') return;
    lastRV = obj.metadata.resourceVersion ?? lastRV;
    const key = keyOf(obj);
    const old = cache.get(key);
    if (old && !isNewer(obj, old)) return;
    if (ev.type === 'DELETED') {
      if (!old) return;
      cacheSet(key, undefined);
      notify('delete', obj);
    } else {
      cacheSet(key, obj);
      if (old) notify('update', obj, old);
      else notify('add', obj);
    }
  }

  async function run() {
    let needList = true;
    while (!stopped) {
      try {
        if (needList) {
          const list = await rc.listAll({
            namespace: opts.namespace,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
            limit: pageSize,
            signal: abort.signal,
          });
          if (stopped) return;
          applyList(list);
          needList = false;
        }
        const startedAt = Date.now();
        let events = 0;
        await rc.watch(
          {
            namespace: opts.namespace,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
            resourceVersion: lastRV,
            allowWatchBookmarks: true,
            timeoutSeconds: opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
            signal: abort.signal,
          },
          (ev) => {
            if (stopped) return;
            // Events flowing prove the connection healthy: a later failure starts the backoff over.
            if (events++ === 0) backoff.reset();
            applyEvent(ev);
          },
        );
        if (stopped) return;
        // A normal end (the server's timeout): resume from the last resourceVersion seen. A watch
        // that ends at once with nothing in it is a misbehaving server; do not spin on it.
        if (events > 0 || Date.now() - startedAt >= HEALTHY_WATCH_MS) backoff.reset();
        else await sleep(backoff.next());
      } catch (err) {
        if (stopped) return;
        const delay = backoff.next();
        if (isApiError(err) && err.httpCode === 410) {
          // Our resourceVersion fell out of the server's window: relist and diff. Right away the
          // first time; backing off only if the server keeps answering 410.
          needList = true;
          if (backoff.failures > 1) await sleep(delay);
          continue;
        }
        log(`${what}: ${needList ? 'list' : 'watch'} failed, retrying in ${delay} ms`, err);
        await sleep(delay);
      }
    }
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        wakeSleep = undefined;
        resolve();
      }, ms);
      wakeSleep = () => {
        clearTimeout(t);
        wakeSleep = undefined;
        resolve();
      };
    });
  }

  function resync() {
    if (!synced) return;
    for (const obj of cache.values()) notify('update', obj, obj);
  }

  // ---- the contract ----

  return {
    addHandlers(h) {
      handlers.push(h);
      for (const obj of cache.values()) enqueue({ kind: 'add', obj, to: [h] });
    },

    addIndexer(name, fn) {
      if (indexes.has(name)) {
        throw new KdpError('KDP_ERR_INVALID_ARGUMENT', `${what}: index "${name}" already exists`);
      }
      const ix: Index<T> = { fn, keys: new Map(), valuesOf: new Map() };
      indexes.set(name, ix);
      for (const [key, obj] of cache) indexAdd(name, ix, key, obj);
    },

    start() {
      if (stopped)
        throw new KdpError('KDP_ERR_INFORMER_STOPPED', `${what} was stopped and cannot start again`);
      if (started) return;
      started = true;
      const resyncSeconds = opts.resyncSeconds ?? 0;
      if (resyncSeconds > 0) resyncTimer = setInterval(resync, resyncSeconds * 1000);
      run().catch((err) => log(`${what}: stopped by an unexpected error`, err));
    },

    waitForSync(signal) {
      if (synced) return Promise.resolve();
      if (stopped) return Promise.reject(stoppedError());
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          syncWaiters.delete(waiter);
          reject(signal?.reason);
        };
        const waiter = {
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (err: unknown) => {
            signal?.removeEventListener('abort', onAbort);
            reject(err);
          },
        };
        syncWaiters.add(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },

    hasSynced: () => synced,

    list(namespace) {
      if (namespace === undefined) return [...cache.values()];
      const keys = indexes.get(NAMESPACE_INDEX)?.keys.get(namespace);
      return keys ? [...keys].map((k) => cache.get(k) as T) : [];
    },

    get(name, namespace) {
      const ns = info.namespaced ? (namespace ?? opts.namespace ?? 'default') : '';
      return cache.get(ns ? `${ns}/${name}` : name);
    },

    byIndex(indexName, key) {
      const ix = indexes.get(indexName);
      if (!ix) throw new KdpError('KDP_ERR_INVALID_ARGUMENT', `${what}: no index named "${indexName}"`);
      const keys = ix.keys.get(key);
      return keys ? [...keys].map((k) => cache.get(k) as T) : [];
    },

    lastResourceVersion: () => lastRV,

    stop() {
      if (stopped) return;
      stopped = true;
      abort.abort();
      wakeSleep?.();
      if (resyncTimer) clearInterval(resyncTimer);
      queue.length = 0;
      for (const w of syncWaiters) w.reject(stoppedError());
      syncWaiters.clear();
    },
  };

  function stoppedError() {
    return new KdpError('KDP_ERR_INFORMER_STOPPED', `${what} was stopped before it synced`);
  }
}

/**
 * Whether `incoming` is a later state than `cached`. kdp's apiserver does not page from a
 * snapshot, so a watch from the first page's resourceVersion can replay states older than what a
 * later page already showed; those are skipped. resourceVersions are opaque to clients in
 * general, so only purely numeric ones (kdp's and etcd's) are compared.
 */
function isNewer(incoming: KubeObject, cached: KubeObject): boolean {
  const a = incoming.metadata.resourceVersion;
  const b = cached.metadata.resourceVersion;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return a !== b;
  return BigInt(a) > BigInt(b);
}
