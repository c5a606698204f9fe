/**
 * Service facts the endpoint controllers share: which Services they manage (those with a
 * selector; ExternalName and selector-less Services belong to their users), which Pods a Service
 * selects, and which Services to revisit when a Pod changes.
 */
import type { Pod, Service } from '../api/types.ts';
import type { Informer } from '../client/interface.ts';

/** A non-empty selector: a nil or empty one means "endpoints are managed by the user". */
export function managesEndpoints(svc: Service): boolean {
  return svc.spec.type !== 'ExternalName' && !!svc.spec.selector && Object.keys(svc.spec.selector).length > 0;
}

export function selectsPod(svc: Service, pod: Pod): boolean {
  if (pod.metadata.namespace !== svc.metadata.namespace) return false;
  const labels = pod.metadata.labels ?? {};
  for (const [k, v] of Object.entries(svc.spec.selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

export function isHeadless(svc: Service): boolean {
  return svc.spec.clusterIP === 'None';
}

/** Keys of the managed Services in the Pod's namespace that select any of the given versions of it. */
export function servicesForPod(services: Informer<Service>, ...versions: (Pod | undefined)[]): string[] {
  const pod = versions.find((p) => p !== undefined);
  if (!pod) return [];
  const out: string[] = [];
  for (const svc of services.list(pod.metadata.namespace)) {
    if (!managesEndpoints(svc)) continue;
    if (versions.some((p) => p && selectsPod(svc, p)))
      out.push(`${svc.metadata.namespace}/${svc.metadata.name}`);
  }
  return out;
}

/**
 * What about a Pod the endpoint controllers read; an update that leaves it alone changes no
 * endpoint, so it is not worth a sync.
 */
export function podEndpointFingerprint(pod: Pod): string {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  return JSON.stringify([
    pod.metadata.labels ?? {},
    pod.metadata.deletionTimestamp ?? '',
    pod.spec.nodeName ?? '',
    pod.spec.hostname ?? '',
    pod.spec.subdomain ?? '',
    pod.spec.containers?.map((c) => c.ports ?? []) ?? [],
    pod.status?.phase ?? '',
    pod.status?.podIP ?? '',
    ready?.status ?? '',
    ready?.lastTransitionTime ?? '',
  ]);
}
