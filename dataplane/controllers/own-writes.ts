/**
 * Read-your-own-writes over an informer's cache. A controller that creates, updates or deletes an
 * object and syncs again before the watch event comes back would otherwise act on the old cache:
 * create a second Pod, another EndpointSlice, count a binding twice. Upstream guards each
 * controller with its own "expectations" or "tracker"; kdp does it once here: the results of the
 * controller's own writes are laid over the cache until the cache has caught up with them
 * (its copy is at least as new), then forgotten.
 */
import type { KubeObject } from '../api/types.ts';
import type { Informer } from '../client/interface.ts';

export function objectKeyOf(obj: KubeObject): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

/** Whether resourceVersion `a` is at least `b`; only numeric versions (kdp's, etcd's) are ordered. */
export function rvAtLeast(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) >= BigInt(b);
  return a === b;
}

export class OwnWrites<T extends KubeObject> {
  private readonly written = new Map<string, T>();
  /** Objects this controller deleted: key -> the uid and resourceVersion of the copy it deleted. */
  private readonly deleted = new Map<string, { uid?: string; rv?: string }>();

  constructor(
    private readonly informer: Informer<T>,
    private readonly namespaced: boolean,
  ) {
    informer.addHandlers({
      onAdd: (o) => this.caughtUp(o),
      onUpdate: (_old, o) => this.caughtUp(o),
      onDelete: (o) => {
        const key = objectKeyOf(o);
        this.written.delete(key);
        this.deleted.delete(key);
      },
    });
  }

  /** Records what the server answered to a create or update (or a graceful delete). */
  wrote(obj: T): void {
    const key = objectKeyOf(obj);
    this.deleted.delete(key);
    this.written.set(key, obj);
  }

  /** Records that the object (the copy the controller acted on) is gone. */
  removed(obj: T): void {
    const key = objectKeyOf(obj);
    this.written.delete(key);
    this.deleted.set(key, { uid: obj.metadata.uid, rv: obj.metadata.resourceVersion });
  }

  get(name: string, namespace?: string): T | undefined {
    const key = this.namespaced ? `${namespace}/${name}` : name;
    return this.view(key, this.informer.get(name, namespace));
  }

  /** The cache (optionally one namespace) with this controller's writes applied. */
  list(namespace?: string): T[] {
    const out: T[] = [];
    const keys = new Set<string>();
    for (const cached of this.informer.list(namespace)) {
      const key = objectKeyOf(cached);
      keys.add(key);
      const o = this.view(key, cached);
      if (o) out.push(o);
    }
    for (const [key, w] of this.written) {
      if (keys.has(key) || (namespace !== undefined && w.metadata.namespace !== namespace)) continue;
      out.push(w);
    }
    return out;
  }

  /** Like the informer's byIndex (`fn` is the index function), with this controller's writes applied. */
  byIndex(index: string, value: string, fn: (obj: T) => string[]): T[] {
    const out: T[] = [];
    const keys = new Set<string>();
    for (const cached of this.informer.byIndex(index, value)) {
      const key = objectKeyOf(cached);
      keys.add(key);
      const o = this.view(key, cached);
      if (o && fn(o).includes(value)) out.push(o);
    }
    for (const [key, w] of this.written) {
      if (
        !keys.has(key) &&
        fn(w).includes(value) &&
        this.view(key, this.informer.get(w.metadata.name!, w.metadata.namespace)) === w
      ) {
        out.push(w);
      }
    }
    return out;
  }

  private view(key: string, cached: T | undefined): T | undefined {
    const gone = this.deleted.get(key);
    if (gone) {
      if (!cached) {
        this.deleted.delete(key);
        return undefined;
      }
      const sameObject =
        cached.metadata.uid === gone.uid && rvAtLeast(gone.rv, cached.metadata.resourceVersion);
      if (sameObject) return undefined;
      this.deleted.delete(key);
      return cached;
    }
    const w = this.written.get(key);
    if (!w) return cached;
    if (cached && rvAtLeast(cached.metadata.resourceVersion, w.metadata.resourceVersion)) {
      this.written.delete(key);
      return cached;
    }
    return w;
  }

  private caughtUp(o: T): void {
    const key = objectKeyOf(o);
    const w = this.written.get(key);
    if (w && rvAtLeast(o.metadata.resourceVersion, w.metadata.resourceVersion)) this.written.delete(key);
  }
}
