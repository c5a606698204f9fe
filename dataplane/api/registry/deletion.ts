/**
 * The delete lifecycle's rules, apart from the verbs that run them (generic-registry.ts): delete
 * preconditions, the grace period a delete waits (only bound, running pods wait), marking an
 * object as being deleted (deletionTimestamp, a Namespace's Terminating phase) while finalizers or
 * a grace period hold it, and orphaning dependents (propagationPolicy Orphan).
 */
import { ApiError } from '../errors.ts';
import { type ResourceInfo, groupResource, RESOURCES } from '../resources.ts';
import type { Store } from '../store/store.ts';
import type { KubeObject } from '../types.ts';

export interface DeletionOptions {
  gracePeriodSeconds?: number;
  preconditions?: { resourceVersion?: string; uid?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

/** 409 Conflict when the object is not the one the delete's preconditions name. */
export function checkPreconditions(
  info: ResourceInfo,
  cur: KubeObject,
  pre: DeletionOptions['preconditions'] = {},
): void {
  if (
    (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) ||
    (pre.uid && pre.uid !== cur.metadata.uid)
  ) {
    const name = cur.metadata.name!;
    throw new ApiError(
      'Conflict',
      `Operation cannot be fulfilled on ${info.resource} "${name}": the precondition on ${pre.uid ? 'UID' : 'ResourceVersion'} does not match`,
      { group: info.group, kind: info.resource, name },
    );
  }
}

/** Seconds a delete waits; 0 removes at once. Only bound, running pods delete gracefully. */
export function gracePeriod(info: ResourceInfo, cur: KubeObject, requested: number | undefined): number {
  if (info.kind !== 'Pod') return 0;
  const spec = (cur.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (cur.status as { phase?: string } | undefined)?.phase;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  return spec.terminationGracePeriodSeconds ?? 30;
}

/**
 * The object marked as being deleted `grace` seconds from now: the kubelet (pods) or the
 * finalizer's owner removes it later. A deletion already under way only moves earlier.
 */
export function markedForDeletion(info: ResourceInfo, cur: KubeObject, grace: number): KubeObject {
  const next = structuredClone(cur);
  if (info.kind === 'Namespace') {
    next.status = { ...(next.status as object), phase: 'Terminating' };
  }
  const remaining = cur.metadata.deletionTimestamp
    ? Math.max(0, (Date.parse(cur.metadata.deletionTimestamp) - Date.now()) / 1000)
    : Infinity;
  if (!cur.metadata.deletionTimestamp || grace < remaining) {
    next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    if (info.kind === 'Pod' || grace > 0) next.metadata.deletionGracePeriodSeconds = grace;
  }
  delete next.metadata.resourceVersion;
  return next;
}

/** Removes the owner's reference from its dependents, so they outlive it (propagationPolicy Orphan). */
export function orphanDependents(store: Store, owner: KubeObject): void {
  const uid = owner.metadata.uid;
  for (const info of RESOURCES) {
    if (!info.namespaced && owner.metadata.namespace) continue;
    const gr = groupResource(info);
    const deps = store.list(gr, {
      namespace: owner.metadata.namespace,
      filter: (o) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid),
    }).items;
    for (const d of deps) {
      const next = structuredClone(d);
      next.metadata.ownerReferences = next.metadata.ownerReferences!.filter((r) => r.uid !== uid);
      if (!next.metadata.ownerReferences.length) delete next.metadata.ownerReferences;
      delete next.metadata.resourceVersion;
      store.update(gr, next);
    }
  }
}
