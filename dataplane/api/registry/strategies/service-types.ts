/**
 * What a Service's type implies: whether it has a cluster IP, node ports, a health check node
 * port, or external traffic at all. Defaults, validation and allocation all ask these.
 */
import type { Service } from '../../types.ts';
import { isObj, type Json } from '../../json-values.ts';

export function specOf(svc: Service): Json {
  return isObj(svc.spec) ? (svc.spec as Json) : {};
}

export function needsClusterIP(svc: Service): boolean {
  return specOf(svc).type !== 'ExternalName';
}

export function isHeadless(svc: Service): boolean {
  return specOf(svc).clusterIP === 'None';
}

export function needsNodePorts(svc: Service): boolean {
  const s = specOf(svc);
  return s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);
}

export function needsHealthCheckNodePort(svc: Service): boolean {
  const s = specOf(svc);
  return s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
}

/** Reachable from outside the cluster, so externalTrafficPolicy applies. */
export function externallyAccessible(svc: Service): boolean {
  const s = specOf(svc);
  return (
    s.type === 'NodePort' ||
    s.type === 'LoadBalancer' ||
    (s.type === 'ClusterIP' && Array.isArray(s.externalIPs) && s.externalIPs.length > 0)
  );
}
