/**
 * One service port's own nat chains, as upstream writes them:
 * - the internal policy chain (KUBE-SVC, or KUBE-SVL with internalTrafficPolicy Local) starts by
 *   marking ClusterIP traffic from outside the pod network for masquerade;
 * - KUBE-EXT (external destinations): with the Cluster policy everything is masqueraded; with
 *   Local, pod traffic short-circuits to KUBE-SVC (as if it had gone out to the load balancer
 *   and come back), traffic from the node itself is masqueraded and short-circuited too, and the
 *   rest goes to KUBE-SVL (local endpoints only, source kept);
 * - KUBE-SVC / KUBE-SVL: ClientIP affinity checks first (recent --rcheck per endpoint), then one
 *   rule per endpoint with statistic probabilities 1/n, 1/(n-1), ..., the last unconditional;
 * - KUBE-SEP per endpoint: masquerade hairpin traffic (the endpoint reaching itself through the
 *   service), record affinity (recent --set), DNAT.
 */
import type { IptablesEndpoint } from './iptables-model.ts';
import { KUBE_MARK_MASQ, probability } from './chain-names.ts';
import type { ServicePortPlan } from './service-port-plan.ts';
import { comment, destination, type RuleContext } from './rule-text.ts';

export interface ServiceChains {
  /** Chains this service port owns in nat, in the order upstream declares them. */
  chains: string[];
  /** Their rules ('-A CHAIN ...'), chain by chain. */
  rules: string[];
}

export function buildServiceChains(plan: ServicePortPlan, ctx: RuleContext): ServiceChains {
  const { svc } = plan;
  const chains: string[] = [];
  const rules: string[] = [];
  // Written chain by chain, in declaration order, straight into one array (10k services make
  // 300k of these lines; no per-chain arrays to collect and flatten).
  if (plan.usesExternalChain) {
    chains.push(svc.extChain);
    externalRules(plan, ctx, rules);
  }
  if (plan.usesClusterChain) {
    chains.push(svc.svcChain);
    if (plan.internalChain === svc.svcChain) masqueradeRule(plan, ctx, rules);
    loadBalance(svc.svcChain, plan.clusterEndpoints, plan, ctx, rules);
  }
  if (plan.usesLocalChain) {
    chains.push(svc.svlChain);
    if (plan.internalChain === svc.svlChain) masqueradeRule(plan, ctx, rules);
    loadBalance(svc.svlChain, plan.localEndpoints, plan, ctx, rules);
  }
  const epComment = ctx.largeCluster ? '' : `${comment(svc.id)} `;
  const affinity = svc.sessionAffinityClientIP;
  const dnat = `-m ${svc.proto} -p ${svc.proto} -j DNAT --to-destination`;
  for (const ep of plan.reachableEndpoints) {
    chains.push(ep.chain);
    rules.push(`-A ${ep.chain} ${epComment}-s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
    const set = affinity ? `-m recent --name ${ep.chain} --set ` : '';
    rules.push(`-A ${ep.chain} ${epComment}${set}${dnat} ${ep.key}`);
  }
  return { chains, rules };
}

/**
 * The first rule of the internal policy chain. Off-cluster sources reach a ClusterIP through a
 * route to any node, and replies must come back through that node: masquerade them (or
 * everything, with masqueradeAll).
 */
function masqueradeRule(plan: ServicePortPlan, ctx: RuleContext, rules: string[]): void {
  if (plan.internalVerdict) return;
  const { svc } = plan;
  const match = `-A ${plan.internalChain} ${comment(`${svc.id} cluster IP`)} ${destination(svc, svc.clusterIP, svc.port)}`;
  if (ctx.masqueradeAll) rules.push(`${match} -j ${KUBE_MARK_MASQ}`);
  else if (ctx.clusterCIDR) rules.push(`${match} ! -s ${ctx.clusterCIDR} -j ${KUBE_MARK_MASQ}`);
}

function externalRules(plan: ServicePortPlan, ctx: RuleContext, rules: string[]): void {
  const { svc } = plan;
  const ext = `-A ${svc.extChain}`;
  if (!svc.externalPolicyLocal) {
    rules.push(
      `${ext} ${comment(`masquerade traffic for ${svc.id} external destinations`)} -j ${KUBE_MARK_MASQ}`,
    );
  } else {
    if (ctx.clusterCIDR)
      rules.push(
        `${ext} ${comment(`pod traffic for ${svc.id} external destinations`)} -s ${ctx.clusterCIDR} -j ${svc.svcChain}`,
      );
    rules.push(
      `${ext} ${comment(`masquerade LOCAL traffic for ${svc.id} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
      `${ext} ${comment(`route LOCAL traffic for ${svc.id} external destinations`)} -m addrtype --src-type LOCAL -j ${svc.svcChain}`,
    );
  }
  if (!plan.externalVerdict) rules.push(`${ext} -j ${plan.externalPolicyChain}`);
}

/** Affinity checks, then random selection among `endpoints`, in a KUBE-SVC or KUBE-SVL chain. */
function loadBalance(
  chain: string,
  endpoints: readonly IptablesEndpoint[],
  plan: ServicePortPlan,
  ctx: RuleContext,
  rules: string[],
): void {
  const { svc } = plan;
  const note = (ep: IptablesEndpoint) => (ctx.largeCluster ? '' : `${comment(`${svc.id} -> ${ep.key}`)} `);
  if (svc.sessionAffinityClientIP) {
    for (const ep of endpoints)
      rules.push(
        `-A ${chain} ${note(ep)}-m recent --name ${ep.chain} --rcheck --seconds ${svc.stickyMaxAgeSeconds} --reap -j ${ep.chain}`,
      );
  }
  const n = endpoints.length;
  for (let i = 0; i < n; i++) {
    const ep = endpoints[i];
    const pick = i < n - 1 ? `-m statistic --mode random --probability ${probability(n - i)} ` : '';
    rules.push(`-A ${chain} ${note(ep)}${pick}-j ${ep.chain}`);
  }
}
