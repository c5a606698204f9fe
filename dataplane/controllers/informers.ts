/**
 * Named indexes on shared informers. Controllers of one manager share the informers of one
 * InformerFactory, and an informer refuses a second index of the same name; two controllers that
 * want the same index (both endpoint controllers index Services) get the one already there.
 */
import type { KubeObject } from '../api/types.ts';
import type { Informer } from '../client/interface.ts';

const added = new WeakMap<Informer<KubeObject>, Set<string>>();

export function ensureIndex<T extends KubeObject>(
  inf: Informer<T>,
  name: string,
  fn: (obj: T) => string[],
): Informer<T> {
  const key = inf as unknown as Informer<KubeObject>;
  let names = added.get(key);
  if (!names) added.set(key, (names = new Set()));
  if (!names.has(name)) {
    names.add(name);
    inf.addIndexer(name, fn);
  }
  return inf;
}
