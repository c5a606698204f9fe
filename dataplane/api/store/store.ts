/**
 * The object store: every object by group-resource, namespace and name, one global
 * resourceVersion counter, and a bounded window of recent events that watches replay from.
 *
 * All operations are synchronous, so a read-modify-write (update with precondition, patch) is
 * atomic without locks. A Persistence (SQLite) sees every write before memory changes and before
 * the caller is answered, so an acknowledged write survives a kill -9. Objects handed out are
 * shared with the store and the watch window: callers must treat them as read-only and clone
 * before changing anything.
 */
import { describeError } from '../../errors.ts';
import { ApiError } from '../errors.ts';
import { deepEqual } from '../json-values.ts';
import type { KubeObject, WatchEventType } from '../types.ts';
import type { Persistence } from './persistence.ts';

export interface StoreEvent {
  type: Exclude<WatchEventType, 'BOOKMARK' | 'ERROR'>;
  gr: string;
  namespace: string;
  rv: number;
  object: KubeObject;
  /** The object before the change, for MODIFIED and DELETED; lets filtered watches turn a
   * MODIFIED that leaves or enters their selector into DELETED or ADDED, as upstream does. */
  prev?: KubeObject;
}

export interface WatchSink {
  gr: string;
  /** Only events in this namespace; undefined for all. */
  namespace?: string;
  /** Called synchronously for every event after the watch starts. */
  send(ev: StoreEvent): void;
  /**
   * Told when `send` threw: the sink is dropped (its watch ends there) and the write that caused
   * the event still succeeds for its writer and every other watcher. Default: a line to stderr.
   */
  failed?(error: unknown): void;
}

export interface ListPage {
  items: KubeObject[];
  rv: number;
  /** Key of the last item when more remain: the next page starts after it. */
  nextKey?: string;
  remaining?: number;
}

export interface StoreOptions {
  persistence?: Persistence;
  /** Events kept for watches to resume from; older resourceVersions answer 410 Expired. */
  windowSize?: number;
}

export function objectKey(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class Store {
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private readonly window: StoreEvent[] = [];
  private windowStart = 0;
  private readonly windowSize: number;
  private readonly sinks = new Set<WatchSink>();
  private rv: number;
  private readonly persistence?: Persistence;
  /** The resourceVersion before the oldest event still in the window. */
  private oldestResumable: number;

  constructor(opts: StoreOptions = {}) {
    this.windowSize = Math.max(1, opts.windowSize ?? 20000);
    this.persistence = opts.persistence;
    let rv = 0;
    if (this.persistence) {
      const loaded = this.persistence.load();
      for (const row of loaded.objects)
        this.bucket(row.gr).set(objectKey(row.namespace, row.name), row.object);
      rv = loaded.lastRV;
    }
    this.rv = rv;
    this.oldestResumable = rv;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  private bucket(gr: string): Map<string, KubeObject> {
    let b = this.data.get(gr);
    if (!b) {
      b = new Map();
      this.data.set(gr, b);
    }
    return b;
  }

  get(gr: string, namespace: string, name: string): KubeObject | undefined {
    return this.data.get(gr)?.get(objectKey(namespace, name));
  }

  count(gr: string): number {
    return this.data.get(gr)?.size ?? 0;
  }

  /**
   * Lists objects in key order. `filter` runs before paging, so `limit` counts matching objects;
   * `after` is the key a previous page ended on.
   */
  list(
    gr: string,
    opts: { namespace?: string; filter?: (o: KubeObject) => boolean; limit?: number; after?: string } = {},
  ): ListPage {
    const b = this.data.get(gr);
    if (!b) return { items: [], rv: this.rv };
    const prefix = opts.namespace ? `${opts.namespace}/` : '';
    let keys = [...b.keys()];
    if (prefix) keys = keys.filter((k) => k.startsWith(prefix));
    keys.sort();
    let i = 0;
    if (opts.after !== undefined) {
      const after = opts.after;
      // First key strictly greater than `after` (binary search).
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid] <= after) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const items: KubeObject[] = [];
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    let lastKey: string | undefined;
    for (; i < keys.length; i++) {
      const o = b.get(keys[i])!;
      if (opts.filter && !opts.filter(o)) continue;
      if (items.length >= limit) break;
      items.push(o);
      lastKey = keys[i];
    }
    if (i >= keys.length) return { items, rv: this.rv };
    let remaining = 0;
    for (let j = i; j < keys.length; j++) if (!opts.filter || opts.filter(b.get(keys[j])!)) remaining++;
    return remaining > 0 ? { items, rv: this.rv, nextKey: lastKey, remaining } : { items, rv: this.rv };
  }

  /** Stores a new object. The caller has filled metadata (uid, timestamps); the store sets resourceVersion. */
  create(gr: string, obj: KubeObject): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name!;
    const key = objectKey(ns, name);
    const b = this.bucket(gr);
    if (b.has(key)) throw new ApiError('AlreadyExists', `${gr} "${name}" already exists`, { kind: gr, name });
    const rv = this.rv + 1;
    const stored = withRV(obj, rv);
    this.persistence?.write([{ op: 'put', gr, namespace: ns, name, rv, object: stored }]);
    this.rv = rv;
    b.set(key, stored);
    this.emit({ type: 'ADDED', gr, namespace: ns, rv, object: stored });
    return stored;
  }

  /**
   * Replaces an existing object. With `expectedRV`, fails with Conflict when the stored object
   * has moved on (optimistic concurrency). Returns the stored object; an update that changes
   * nothing returns the current object and writes nothing, as upstream does.
   */
  update(gr: string, obj: KubeObject, expectedRV?: string): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name!;
    const key = objectKey(ns, name);
    const b = this.bucket(gr);
    const cur = b.get(key);
    if (!cur) throw new ApiError('NotFound', `${gr} "${name}" not found`, { kind: gr, name });
    if (expectedRV && expectedRV !== cur.metadata.resourceVersion) {
      throw new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${gr} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { kind: gr, name },
      );
    }
    if (sameContent(cur, obj)) return cur;
    const rv = this.rv + 1;
    const stored = withRV(obj, rv);
    this.persistence?.write([{ op: 'put', gr, namespace: ns, name, rv, object: stored }]);
    this.rv = rv;
    b.set(key, stored);
    this.emit({ type: 'MODIFIED', gr, namespace: ns, rv, object: stored, prev: cur });
    return stored;
  }

  /** Removes an object; `expectedRV` / `expectedUID` are the DELETE preconditions. */
  delete(gr: string, namespace: string, name: string, pre: { rv?: string; uid?: string } = {}): KubeObject {
    const key = objectKey(namespace, name);
    const b = this.bucket(gr);
    const cur = b.get(key);
    if (!cur) throw new ApiError('NotFound', `${gr} "${name}" not found`, { kind: gr, name });
    if ((pre.rv && pre.rv !== cur.metadata.resourceVersion) || (pre.uid && pre.uid !== cur.metadata.uid)) {
      throw new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${gr} "${name}": the precondition on ${pre.uid ? 'UID' : 'ResourceVersion'} does not match`,
        { kind: gr, name },
      );
    }
    const rv = this.rv + 1;
    // The DELETED event carries the object at the deletion's resourceVersion, as upstream does.
    const last = withRV(cur, rv);
    this.persistence?.write([{ op: 'delete', gr, namespace, name, rv }]);
    this.rv = rv;
    b.delete(key);
    this.emit({ type: 'DELETED', gr, namespace, rv, object: last, prev: cur });
    return last;
  }

  /**
   * Starts a watch. Without `fromRV` it starts now. With `fromRV` it first replays every event
   * after it from the window, or throws Expired (410) when the window no longer reaches back that
   * far, so the client relists.
   */
  watch(sink: WatchSink, fromRV?: number): () => void {
    if (fromRV !== undefined && fromRV < this.rv) {
      if (fromRV < this.oldestResumable) {
        throw new ApiError('Expired', `too old resource version: ${fromRV} (${this.oldestResumable})`);
      }
      for (let i = this.windowStart; i < this.window.length; i++) {
        const ev = this.window[i];
        if (ev.rv > fromRV && ev.gr === sink.gr && (!sink.namespace || sink.namespace === ev.namespace)) {
          sink.send(ev);
        }
      }
    }
    this.sinks.add(sink);
    return () => {
      this.sinks.delete(sink);
    };
  }

  get watcherCount(): number {
    return this.sinks.size;
  }

  private emit(ev: StoreEvent): void {
    this.window.push(ev);
    if (this.window.length - this.windowStart > this.windowSize) {
      this.oldestResumable = this.window[this.windowStart].rv;
      this.windowStart++;
      // Compact the array now and then instead of shifting on every event.
      if (this.windowStart > 4096 && this.windowStart * 2 > this.window.length) {
        this.window.splice(0, this.windowStart);
        this.windowStart = 0;
      }
    }
    for (const s of this.sinks) {
      if (s.gr !== ev.gr || (s.namespace && s.namespace !== ev.namespace)) continue;
      try {
        s.send(ev);
      } catch (e) {
        this.sinks.delete(s);
        dropped(s, e);
      }
    }
  }

  close(): void {
    this.sinks.clear();
    this.persistence?.close();
  }
}

function dropped(sink: WatchSink, e: unknown): void {
  try {
    if (sink.failed) sink.failed(e);
    else
      process.stderr.write(`kdp store: a ${sink.gr} watcher failed and was dropped: ${describeError(e)}\n`);
  } catch {
    // Nothing a failing watcher does may fail the write that triggered it.
  }
}

function withRV(obj: KubeObject, rv: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
}

/** True when two versions differ only in resourceVersion (key order does not matter). */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return deepEqual(strip(a), strip(b));
}
