/**
 * What one service port puts into table kube-proxy, decided as upstream's nftables proxier does
 * (categorize.ts chooses the endpoints, shared with every mode): its chains with their rule text,
 * the elements it adds to the dispatch sets and maps, and the affinity sets of its endpoints.
 * Rule text is written the way `nft list` prints it back, so a table read from the kernel is
 * rule for rule what the mode wrote (and the agent can compare them).
 */
import { categorizeEndpoints } from '../categorize.ts';
import type { NftEndpoint, NftServicePort } from './nftables-model.ts';
import {
  CLUSTER_IPS,
  MARK_MASQ,
  NO_ENDPOINT_NODEPORTS,
  NO_ENDPOINT_SERVICES,
  REJECT_CHAIN,
  SERVICE_IPS,
  SERVICE_NODEPORTS,
} from './nft-names.ts';

export interface RuleContext {
  clusterCIDR?: string;
  masqueradeAll: boolean;
}

export interface Element {
  /** The set or map. */
  set: string;
  key: string;
  /** The verdict of a map element. */
  value?: string;
}

export interface ServicePortRules {
  /** Chain name -> its rules, in order. */
  chains: Map<string, readonly string[]>;
  elements: Element[];
  /** Affinity sets: name -> timeout in seconds. */
  affinitySets: Map<string, number>;
  /** A Local policy found no local endpoint (metrics). */
  noLocalInternal: boolean;
  noLocalExternal: boolean;
}

function dispatchToEndpoints(svc: NftServicePort, endpoints: readonly NftEndpoint[]): string[] {
  const rules: string[] = [];
  if (svc.sessionAffinityClientIP)
    for (const ep of endpoints) rules.push(`ip saddr @${ep.affinitySet} goto ${ep.chain}`);
  const arms = endpoints.map((ep, i) => `${i} : goto ${ep.chain}`).join(', ');
  rules.push(`numgen random mod ${endpoints.length} vmap { ${arms} }`);
  return rules;
}

function endpointRules(svc: NftServicePort, ep: NftEndpoint): string[] {
  return [
    `ip saddr ${ep.ip} jump ${MARK_MASQ}`,
    ...(svc.sessionAffinityClientIP ? [`update @${ep.affinitySet} { ip saddr }`] : []),
    `meta l4proto ${svc.proto} dnat to ${ep.ip}:${ep.port}`,
  ];
}

export function servicePortRules(
  svc: NftServicePort,
  endpoints: readonly NftEndpoint[],
  ctx: RuleContext,
): ServicePortRules {
  const c = categorizeEndpoints(endpoints, svc);
  const hasEndpoints = c.hasAnyEndpoints;
  const hasLocal = c.localEndpoints.length > 0;
  const hasInternal = hasEndpoints && (!svc.internalPolicyLocal || hasLocal);
  const hasExternal = hasEndpoints && (!svc.externalPolicyLocal || hasLocal);
  const usesCluster = c.clusterEndpoints.length > 0 && svc.usesClusterEndpoints;
  const usesLocal = hasLocal && svc.usesLocalEndpoints;
  const usesExternal = hasEndpoints && svc.externallyAccessible;
  const internalChain = svc.internalPolicyLocal ? svc.localChain : svc.clusterChain;
  const noEndpointVerdict = hasEndpoints ? 'drop' : `goto ${REJECT_CHAIN}`;

  const chains = new Map<string, string[]>();
  const masq = ctx.masqueradeAll
    ? `ip daddr ${svc.clusterIP} ${svc.proto} dport ${svc.port} jump ${MARK_MASQ}`
    : ctx.clusterCIDR
      ? `ip daddr ${svc.clusterIP} ${svc.proto} dport ${svc.port} ip saddr != ${ctx.clusterCIDR} jump ${MARK_MASQ}`
      : undefined;
  if (usesCluster)
    chains.set(svc.clusterChain, [
      ...(masq && internalChain === svc.clusterChain ? [masq] : []),
      ...dispatchToEndpoints(svc, c.clusterEndpoints),
    ]);
  if (usesLocal)
    chains.set(svc.localChain, [
      ...(masq && internalChain === svc.localChain ? [masq] : []),
      ...dispatchToEndpoints(svc, c.localEndpoints),
    ]);
  if (usesExternal) {
    const rules: string[] = [];
    if (!svc.externalPolicyLocal) rules.push(`jump ${MARK_MASQ}`, `goto ${svc.clusterChain}`);
    else {
      // Pods and the node itself may use any endpoint; only outside clients keep their source.
      if (ctx.clusterCIDR) rules.push(`ip saddr ${ctx.clusterCIDR} goto ${svc.clusterChain}`);
      rules.push(`fib saddr type local jump ${MARK_MASQ}`, `fib saddr type local goto ${svc.clusterChain}`);
      if (usesLocal) rules.push(`goto ${svc.localChain}`);
    }
    chains.set(svc.externalChain, rules);
  }
  for (const ep of c.allReachableEndpoints) chains.set(ep.chain, endpointRules(svc, ep));

  const key = (ip: string, port: number) => `${ip} . ${svc.proto} . ${port}`;
  const elements: Element[] = [{ set: CLUSTER_IPS, key: svc.clusterIP }];
  if (hasInternal)
    elements.push({ set: SERVICE_IPS, key: key(svc.clusterIP, svc.port), value: `goto ${internalChain}` });
  else
    elements.push({ set: NO_ENDPOINT_SERVICES, key: key(svc.clusterIP, svc.port), value: noEndpointVerdict });
  for (const ip of [...svc.externalIPs, ...svc.loadBalancerIPs]) {
    if (usesExternal)
      elements.push({ set: SERVICE_IPS, key: key(ip, svc.port), value: `goto ${svc.externalChain}` });
    if (!hasExternal)
      elements.push({ set: NO_ENDPOINT_SERVICES, key: key(ip, svc.port), value: noEndpointVerdict });
  }
  if (svc.nodePort) {
    const np = `${svc.proto} . ${svc.nodePort}`;
    if (usesExternal) elements.push({ set: SERVICE_NODEPORTS, key: np, value: `goto ${svc.externalChain}` });
    if (!hasExternal) elements.push({ set: NO_ENDPOINT_NODEPORTS, key: np, value: noEndpointVerdict });
  }
  const affinitySets = new Map<string, number>();
  if (svc.sessionAffinityClientIP)
    for (const ep of c.allReachableEndpoints) affinitySets.set(ep.affinitySet, svc.stickyMaxAgeSeconds);
  return {
    chains,
    elements,
    affinitySets,
    noLocalInternal: svc.internalPolicyLocal && hasEndpoints && !hasLocal,
    noLocalExternal: svc.externalPolicyLocal && hasEndpoints && !hasLocal,
  };
}
