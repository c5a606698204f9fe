/**
 * One service port's rules in the shared dispatch chains: nat KUBE-SERVICES (ClusterIP, external
 * IPs, load balancer IPs) and KUBE-NODEPORTS (its node port), and the filter chains that refuse
 * what has no endpoint (KUBE-SERVICES for the ClusterIP, KUBE-EXTERNAL-SERVICES for external
 * destinations) or accept a health check node port (KUBE-NODEPORTS).
 *
 * These rules depend only on the service port's addresses and ports and on whether it has
 * endpoints (anywhere, and locally for a Local policy), never on which endpoints: that is what
 * lets a sync skip rewriting the dispatch chains when only endpoints changed. The proxier compares
 * each chain's lines per service port with what it programmed (the dispatch fingerprint).
 */
import { KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_SERVICES } from './chain-names.ts';
import type { ServicePortPlan } from './service-port-plan.ts';
import { comment, destination, portOnly, verdictTarget } from './rule-text.ts';

/** A service port's lines in each dispatch chain ('-A CHAIN ...'). */
export interface DispatchRules {
  natServices: string[];
  natNodePorts: string[];
  filterServices: string[];
  filterExternal: string[];
  filterNodePorts: string[];
}

export const DISPATCH_CHAINS = [
  { part: 'natServices', table: 'nat', chain: KUBE_SERVICES },
  { part: 'natNodePorts', table: 'nat', chain: KUBE_NODEPORTS },
  { part: 'filterServices', table: 'filter', chain: KUBE_SERVICES },
  { part: 'filterExternal', table: 'filter', chain: KUBE_EXTERNAL_SERVICES },
  { part: 'filterNodePorts', table: 'filter', chain: KUBE_NODEPORTS },
] as const satisfies readonly { part: keyof DispatchRules; table: 'nat' | 'filter'; chain: string }[];

export type DispatchPart = (typeof DISPATCH_CHAINS)[number]['part'];

export function buildDispatchRules(plan: ServicePortPlan): DispatchRules {
  const { svc } = plan;
  const out: DispatchRules = {
    natServices: [],
    natNodePorts: [],
    filterServices: [],
    filterExternal: [],
    filterNodePorts: [],
  };

  // ClusterIP: into the internal policy chain, or refused/dropped in filter.
  const clusterIP = destination(svc, svc.clusterIP, svc.port);
  if (!plan.internalVerdict) {
    out.natServices.push(
      `-A ${KUBE_SERVICES} ${comment(`${svc.id} cluster IP`)} ${clusterIP} -j ${plan.internalChain}`,
    );
  } else {
    const v = plan.internalVerdict;
    out.filterServices.push(
      `-A ${KUBE_SERVICES} ${comment(v.comment)} ${clusterIP} -j ${verdictTarget(v.target)}`,
    );
  }

  // External destinations all enter KUBE-EXT, which short-circuits node and pod traffic before
  // applying the external policy; whatever it lets through unDNATed is dropped or refused here.
  const ext = plan.externalVerdict;
  const refuse = (match: string) =>
    `-A ${KUBE_EXTERNAL_SERVICES} ${comment(ext!.comment)} ${match} -j ${verdictTarget(ext!.target)}`;
  for (const ip of svc.externalIPs) {
    const dst = destination(svc, ip, svc.port);
    if (plan.hasEndpoints)
      out.natServices.push(
        `-A ${KUBE_SERVICES} ${comment(`${svc.id} external IP`)} ${dst} -j ${svc.extChain}`,
      );
    if (ext) out.filterExternal.push(refuse(dst));
  }
  for (const ip of svc.loadBalancerIPs) {
    const dst = destination(svc, ip, svc.port);
    if (plan.hasEndpoints)
      out.natServices.push(
        `-A ${KUBE_SERVICES} ${comment(`${svc.id} loadbalancer IP`)} ${dst} -j ${svc.extChain}`,
      );
  }
  if (ext)
    for (const ip of svc.loadBalancerIPs) out.filterExternal.push(refuse(destination(svc, ip, svc.port)));

  if (svc.nodePort !== 0) {
    const port = portOnly(svc, svc.nodePort);
    if (plan.hasEndpoints)
      out.natNodePorts.push(`-A ${KUBE_NODEPORTS} ${comment(svc.id)} ${port} -j ${svc.extChain}`);
    if (ext) out.filterExternal.push(refuse(`-m addrtype --dst-type LOCAL ${port}`));
  }

  if (svc.healthCheckNodePort !== 0) {
    out.filterNodePorts.push(
      `-A ${KUBE_NODEPORTS} ${comment(`${svc.id} health check node port`)} -m tcp -p tcp --dport ${svc.healthCheckNodePort} -j ACCEPT`,
    );
  }
  return out;
}
