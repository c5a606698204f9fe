/**
 * What one service port needs, decided once and read by both rule builders (dispatch-rules.ts
 * and service-chains.ts): which endpoints it may use from this node (categorize.ts, shared by
 * every mode), which of its chains exist, where internal (ClusterIP) and external (node port,
 * external IP, load balancer IP) traffic goes, and what happens when there is nowhere to go:
 * REJECT with no usable endpoint anywhere, DROP when a Local policy finds none on this node.
 * These are upstream's decisions (pkg/proxy/iptables syncProxyRules), kept apart from the text.
 */
import { categorizeEndpoints } from '../categorize.ts';
import type { IptablesEndpoint, IptablesServicePort } from './iptables-model.ts';

/** What the filter table does with traffic that has no endpoint to go to. */
export interface NoEndpointsVerdict {
  target: 'REJECT' | 'DROP';
  comment: string;
}

export interface ServicePortPlan {
  readonly svc: IptablesServicePort;
  readonly clusterEndpoints: readonly IptablesEndpoint[];
  readonly localEndpoints: readonly IptablesEndpoint[];
  /** Endpoints that get a KUBE-SEP chain. */
  readonly reachableEndpoints: readonly IptablesEndpoint[];
  /** Some usable endpoint exists anywhere. */
  readonly hasEndpoints: boolean;
  /** KUBE-SVC exists (Cluster policy used, with endpoints). */
  readonly usesClusterChain: boolean;
  /** KUBE-SVL exists (a Local policy used, with local endpoints). */
  readonly usesLocalChain: boolean;
  /** KUBE-EXT exists (externally accessible, with endpoints). */
  readonly usesExternalChain: boolean;
  /** Where ClusterIP traffic jumps: KUBE-SVC, or KUBE-SVL with internalTrafficPolicy Local. */
  readonly internalChain: string;
  /** Where KUBE-EXT finally jumps: KUBE-SVC, or KUBE-SVL with externalTrafficPolicy Local. */
  readonly externalPolicyChain: string;
  /** Set when ClusterIP traffic has nowhere to go. */
  readonly internalVerdict?: NoEndpointsVerdict;
  /** Set when external traffic (that KUBE-EXT does not short-circuit) has nowhere to go. */
  readonly externalVerdict?: NoEndpointsVerdict;
}

export function planServicePort(
  svc: IptablesServicePort,
  endpoints: readonly IptablesEndpoint[],
): ServicePortPlan {
  const c = categorizeEndpoints(endpoints, svc);
  const hasEndpoints = c.hasAnyEndpoints;
  const hasLocal = c.localEndpoints.length > 0;
  const hasInternalEndpoints = hasEndpoints && (!svc.internalPolicyLocal || hasLocal);
  const hasExternalEndpoints = hasEndpoints && (!svc.externalPolicyLocal || hasLocal);

  let internalVerdict: NoEndpointsVerdict | undefined;
  let externalVerdict: NoEndpointsVerdict | undefined;
  if (!hasEndpoints) {
    internalVerdict = externalVerdict = { target: 'REJECT', comment: `${svc.id} has no endpoints` };
  } else {
    const none: NoEndpointsVerdict = { target: 'DROP', comment: `${svc.id} has no local endpoints` };
    if (!hasInternalEndpoints) internalVerdict = none;
    if (!hasExternalEndpoints) externalVerdict = none;
  }

  return {
    svc,
    clusterEndpoints: c.clusterEndpoints,
    localEndpoints: c.localEndpoints,
    reachableEndpoints: c.allReachableEndpoints,
    hasEndpoints,
    usesClusterChain: c.clusterEndpoints.length > 0 && svc.usesClusterEndpoints,
    usesLocalChain: hasLocal && svc.usesLocalEndpoints,
    usesExternalChain: hasEndpoints && svc.externallyAccessible,
    internalChain: svc.internalPolicyLocal ? svc.svlChain : svc.svcChain,
    externalPolicyChain: svc.externalPolicyLocal ? svc.svlChain : svc.svcChain,
    internalVerdict,
    externalVerdict,
  };
}
