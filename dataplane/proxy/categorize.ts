/**
 * Which endpoints of a service port a proxy may send traffic to from this node, as upstream's
 * CategorizeEndpoints: every mode makes the same choice, so it lives here once.
 *
 * - Cluster endpoints (for the Cluster policy): the ready ones; if none is ready anywhere, the
 *   serving-and-terminating ones, so connections drain onto pods that are shutting down but still
 *   answer instead of being refused.
 * - Local endpoints (for a Local policy): the ready ones on this node; if none, the
 *   serving-and-terminating ones on this node.
 * - allReachable: the union, i.e. every endpoint that needs per-endpoint state on this node.
 * - hasAnyEndpoints: some usable endpoint exists anywhere. A mode REJECTs a service port without
 *   one; one that has some, but none local for its Local policy, DROPs instead (the traffic
 *   should have gone to another node), which is why the two are told apart.
 *
 * Topology-aware routing (zone and node hints, trafficDistribution) is out of scope: kdp's
 * EndpointSlices carry no hints, so every ready endpoint is a cluster endpoint.
 */
import type { EndpointInfo, ServicePortInfo } from './service-model.ts';

export interface CategorizedEndpoints<E extends EndpointInfo> {
  /** Empty when the service port never uses the Cluster policy. */
  clusterEndpoints: E[];
  /** Empty when the service port never uses a Local policy. */
  localEndpoints: E[];
  /** clusterEndpoints and localEndpoints together, each endpoint once, in input order. */
  allReachableEndpoints: E[];
  hasAnyEndpoints: boolean;
}

type Policy = Pick<ServicePortInfo, 'usesClusterEndpoints' | 'usesLocalEndpoints'>;

const servingTerminating = (ep: EndpointInfo) => ep.serving && ep.terminating;

export function categorizeEndpoints<E extends EndpointInfo>(
  endpoints: readonly E[],
  svc: Policy,
): CategorizedEndpoints<E> {
  let clusterEndpoints: E[] = [];
  let localEndpoints: E[] = [];
  let hasAnyEndpoints = false;
  if (endpoints.length === 0) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: [], hasAnyEndpoints };
  }

  if (svc.usesClusterEndpoints) {
    clusterEndpoints = endpoints.filter((ep) => ep.ready);
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter(servingTerminating);
    hasAnyEndpoints = clusterEndpoints.length > 0;
  }
  if (!svc.usesLocalEndpoints) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }

  let localReady = false;
  let localServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      localReady ||= ep.isLocal;
    } else if (servingTerminating(ep)) {
      hasAnyEndpoints = true;
      localServingTerminating ||= ep.isLocal;
    }
  }
  if (localReady) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (localServingTerminating)
    localEndpoints = endpoints.filter((ep) => ep.isLocal && servingTerminating(ep));

  if (!svc.usesClusterEndpoints) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  }
  // Ready local endpoints are all among the ready cluster endpoints; terminating ones may not be.
  if (localReady) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }
  const chosen = new Set<E>([...clusterEndpoints, ...localEndpoints]);
  const allReachableEndpoints = endpoints.filter((ep) => chosen.has(ep));
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints };
}
