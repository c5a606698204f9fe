/**
 * The arithmetic of a Deployment rollout, as upstream's deployment controller does it, as pure
 * functions over ReplicaSet counts: the pod-template hash, maxSurge/maxUnavailable resolution
 * (percentages: surge rounds up, unavailable rounds down, and both zero means one unavailable),
 * how far the new ReplicaSet may grow, and how far the old ones may shrink without going under
 * the minimum available. The controller (deployment.ts) applies what these return.
 */
import type { Deployment, ReplicaSet } from '../api/types.ts';
import { LABEL_POD_TEMPLATE_HASH } from '../api/types.ts';
import { canonicalJSON } from './controller.ts';

export const ANNOTATION_REVISION = 'deployment.kubernetes.io/revision';
const SAFE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** The template without the pod-template-hash label: what "the same template" compares. */
function templateSansHash(t: Deployment['spec']['template']): unknown {
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[LABEL_POD_TEMPLATE_HASH];
  return { ...t, metadata: { ...(t.metadata ?? {}), labels } };
}

export function sameTemplate(a: Deployment['spec']['template'], b: Deployment['spec']['template']): boolean {
  return canonicalJSON(templateSansHash(a)) === canonicalJSON(templateSansHash(b));
}

/** FNV-1a (32 bit) of the template (and collision count), spelled in upstream's safe alphabet. */
export function podTemplateHash(t: Deployment['spec']['template'], collisionCount?: number): string {
  let h = 0x811c9dc5;
  const text = canonicalJSON(templateSansHash(t)) + (collisionCount ? `#${collisionCount}` : '');
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((d) => SAFE_CHARS[d.charCodeAt(0) % SAFE_CHARS.length]).join('');
}

export function revisionOf(rs: ReplicaSet): number {
  const v = Number(rs.metadata.annotations?.[ANNOTATION_REVISION]);
  return Number.isFinite(v) ? v : 0;
}

/** An int or a percentage of `total`; percentages round up or down as asked. */
export function resolveIntOrPercent(
  v: number | string | undefined,
  fallback: string,
  total: number,
  roundUp: boolean,
): number {
  const value = v ?? fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number.parseInt(value, 10) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export function fenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec.replicas ?? 1;
  const ru = d.spec.strategy?.rollingUpdate;
  const maxSurge = resolveIntOrPercent(ru?.maxSurge, '25%', replicas, true);
  let maxUnavailable = resolveIntOrPercent(ru?.maxUnavailable, '25%', replicas, false);
  // Both zero would deadlock the rollout: upstream lets one Pod be unavailable.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

export const specReplicas = (rs: ReplicaSet) => rs.spec.replicas ?? 0;
const sum = (rss: readonly ReplicaSet[], f: (rs: ReplicaSet) => number) =>
  rss.reduce((n, rs) => n + f(rs), 0);
/**
 * Available Pods a ReplicaSet counts for scale-down decisions: never more than it is meant to
 * have, since its status may not yet reflect a scale-down (upstream trusts the status; capping it
 * keeps maxUnavailable true even when the ReplicaSet controller lags).
 */
const availableFor = (rs: ReplicaSet) => Math.min(rs.status?.availableReplicas ?? 0, specReplicas(rs));

/** Replicas the new ReplicaSet should have now during a rolling update. */
export function newReplicaSetReplicas(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet): number {
  const replicas = d.spec.replicas ?? 1;
  if (d.spec.strategy?.type === 'Recreate') return replicas;
  const cur = specReplicas(newRS);
  if (cur >= replicas) return replicas;
  const { maxSurge } = fenceposts(d);
  const total = sum(all, specReplicas);
  const maxTotal = replicas + maxSurge;
  if (total >= maxTotal) return cur;
  return cur + Math.min(maxTotal - total, replicas - cur);
}

/**
 * New spec.replicas of the old ReplicaSets (oldest first) for one step of a rolling update:
 * unhealthy replicas go first, then available ones down to the minimum available.
 */
export function scaleDownOld(
  d: Deployment,
  old: readonly ReplicaSet[],
  newRS: ReplicaSet,
): Map<ReplicaSet, number> {
  const out = new Map<ReplicaSet, number>();
  const oldCount = sum(old, specReplicas);
  if (oldCount === 0) return out;
  const replicas = d.spec.replicas ?? 1;
  const { maxUnavailable } = fenceposts(d);
  const minAvailable = replicas - maxUnavailable;
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  let budget = oldCount + specReplicas(newRS) - minAvailable - newUnavailable;
  if (budget <= 0) return out;
  const byAge = [...old].sort(
    (a, b) =>
      Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? '') ||
      revisionOf(a) - revisionOf(b),
  );
  const target = new Map(byAge.map((rs) => [rs, specReplicas(rs)]));
  // Replicas that are not available cost no availability: remove them first.
  for (const rs of byAge) {
    if (budget <= 0) break;
    const unhealthy = target.get(rs)! - Math.min(rs.status?.availableReplicas ?? 0, target.get(rs)!);
    const n = Math.min(budget, unhealthy);
    if (n <= 0) continue;
    target.set(rs, target.get(rs)! - n);
    budget -= n;
  }
  let available = availableFor(newRS);
  for (const rs of byAge) available += Math.min(availableFor(rs), target.get(rs)!);
  let allowed = Math.min(budget, available - minAvailable);
  for (const rs of byAge) {
    if (allowed <= 0) break;
    const n = Math.min(target.get(rs)!, allowed);
    target.set(rs, target.get(rs)! - n);
    allowed -= n;
  }
  for (const [rs, n] of target) if (n !== specReplicas(rs)) out.set(rs, n);
  return out;
}

export interface RolloutCounts {
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas: number;
}

export function rolloutCounts(all: readonly ReplicaSet[], newRS: ReplicaSet | undefined): RolloutCounts {
  const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
  return {
    replicas: sum(all, (rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sum(all, specReplicas) - available),
  };
}
