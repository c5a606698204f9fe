/**
 * What a stored Service holds in the allocators: its cluster IPs (not "None", not for
 * ExternalName) and its node ports (every port's nodePort and the healthCheckNodePort). The
 * Service strategy releases what an update dropped by comparing these; rebuild marks them.
 */
import type { Service } from '../types.ts';

export function heldClusterIPs(svc: Service): string[] {
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object' || spec.type === 'ExternalName') return [];
  const ips = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : [spec.clusterIP];
  return [...new Set(ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None'))];
}

export function heldNodePorts(svc: Service): number[] {
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object') return [];
  const out = new Set<number>();
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (p && typeof p === 'object' && isPort(p.nodePort)) out.add(p.nodePort);
  }
  if (isPort(spec.healthCheckNodePort)) out.add(spec.healthCheckNodePort);
  return [...out];
}

function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}
