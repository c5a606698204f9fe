/**
 * The diff every overlay backend converges with: an entry is named by a key (a route's
 * destination, a neighbour's address, an FDB entry's MAC); what is wanted and missing or different
 * is put, what is held and no longer wanted is removed. Linear in the entries (maps, not nested
 * scans), since a node holds an entry per peer and clusters have hundreds of peers.
 */
export interface EntryChanges<T> {
  /** Entries to write (new, or changed in what they point at). */
  put: T[];
  /** Entries to remove. */
  remove: T[];
}

/** `key` names an entry; `same(held, wanted)` says a held entry needs no write. */
export function keyedDiff<T>(
  current: readonly T[],
  desired: readonly T[],
  key: (t: T) => string,
  same: (held: T, wanted: T) => boolean,
): EntryChanges<T> {
  const want = new Set(desired.map(key));
  const have = new Map(current.map((c) => [key(c), c]));
  return {
    put: desired.filter((d) => {
      const held = have.get(key(d));
      return held === undefined || !same(held, d);
    }),
    remove: current.filter((c) => !want.has(key(c))),
  };
}
