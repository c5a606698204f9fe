/**
 * Facts about Pods (and owners) that several controllers need and must agree on: readiness,
 * termination, the controlling owner, which port a Service's targetPort means for one Pod, and
 * when a Pod last changed in a way endpoints reflect.
 */
import type { KubeObject, OwnerReference, Pod, Protocol, ServicePort } from '../api/types.ts';

export function podReadyCondition(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

export function isTerminating(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

/** Succeeded or Failed: the Pod will not run again. */
export function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** A Pod a ReplicaSet counts: neither finished nor being deleted. */
export function isActive(pod: Pod): boolean {
  return !isTerminal(pod) && !isTerminating(pod);
}

export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

export function ownerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The port number a Service port targets on this Pod: a number as is, a name looked up among the
 * Pod's container ports of the same protocol. undefined when the name is not found (that Pod then
 * serves no endpoint for this port, as upstream).
 */
export function resolveTargetPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const proto: Protocol = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

/**
 * When the Pod's endpoint-relevant state last changed: the latest of its creation, its Ready
 * condition's last transition and the moment its deletion was asked for (deletionTimestamp minus
 * the grace period, since deletionTimestamp is when the grace period ends). Milliseconds.
 */
export function podChangeTime(pod: Pod): number | undefined {
  const times: number[] = [];
  const created = Date.parse(pod.metadata.creationTimestamp ?? '');
  if (!Number.isNaN(created)) times.push(created);
  const ready = Date.parse(podReadyCondition(pod)?.lastTransitionTime ?? '');
  if (!Number.isNaN(ready)) times.push(ready);
  const deletion = Date.parse(pod.metadata.deletionTimestamp ?? '');
  if (!Number.isNaN(deletion)) times.push(deletion - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000);
  return times.length ? Math.max(...times) : undefined;
}

/** RFC 3339 with only the fractional digits that are not zero, as Go's RFC3339Nano prints. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** Server-style timestamp (seconds), as metav1.Time serialises. */
export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
