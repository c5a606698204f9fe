/**
 * What the ReplicaSet controller (owning Pods) and the Deployment controller (owning ReplicaSets)
 * share, as upstream's controller-ref manager: which owner a changed child concerns, and the
 * claim of children by an owner's selector (keep what it controls and still matches, adopt
 * matching orphans, release what no longer matches).
 */
import { selectorMatches } from '../api/selectors.ts';
import type { KubeObject, LabelSelector } from '../api/types.ts';
import type { Informer } from '../client/interface.ts';
import { keyOf } from './controller.ts';
import { controllerRef, ownerRef } from './pods.ts';

type Owner = KubeObject & { spec: { selector: LabelSelector } };

/**
 * The keys of the owners of `kind` a changed child concerns: its controller, or for an orphan
 * every owner in its namespace whose selector matches it (one of them may adopt it).
 */
export function ownerKeysOf(child: KubeObject, kind: string, owners: Informer<Owner>): string[] {
  const ref = controllerRef(child);
  if (ref) return ref.kind === kind ? [`${child.metadata.namespace}/${ref.name}`] : [];
  return owners
    .list(child.metadata.namespace)
    .filter((o) => selectorMatches(o.spec.selector, child.metadata.labels))
    .map(keyOf);
}

export interface ClaimOptions<C extends KubeObject> {
  /** The owner's kind, as its ownerReferences name it (apps/v1). */
  kind: string;
  /** Whether an orphan may be adopted (a terminating Pod or ReplicaSet is not). */
  adoptable(child: C): boolean;
  /** Drop controlled children that no longer match the selector; without it they stay the owner's. */
  release: boolean;
  /** Stores a child with new ownerReferences; returns what was stored. */
  write(child: C): Promise<C>;
}

/** The children `owner` controls after adopting and releasing; none adopted or released while it is deleted. */
export async function claimChildren<C extends KubeObject>(
  owner: Owner,
  candidates: readonly C[],
  o: ClaimOptions<C>,
): Promise<C[]> {
  const uid = owner.metadata.uid;
  const deleting = !!owner.metadata.deletionTimestamp;
  const mine: C[] = [];
  for (const child of candidates) {
    const ref = controllerRef(child);
    const matches = selectorMatches(owner.spec.selector, child.metadata.labels);
    if (ref?.uid === uid) {
      if (matches || !o.release) mine.push(child);
      else if (!deleting) await o.write(withOwner(child, owner, o.kind, false));
    } else if (!ref && matches && !deleting && o.adoptable(child)) {
      mine.push(await o.write(withOwner(child, owner, o.kind, true)));
    }
  }
  return mine;
}

/** `child` with `owner` added as its controller (adopt) or removed from its ownerReferences. */
function withOwner<C extends KubeObject>(child: C, owner: Owner, kind: string, adopt: boolean): C {
  const others = (child.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
  const ownerReferences = adopt ? [...others, ownerRef(owner, 'apps/v1', kind)] : others;
  const next: C = { ...child, metadata: { ...child.metadata, ownerReferences } };
  if (!ownerReferences.length) delete next.metadata.ownerReferences;
  return next;
}
