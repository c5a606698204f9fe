/**
 * Everything one service port contributes to the ruleset, built from its plan: its lines in the
 * shared dispatch chains and its own chains with their rules, plus what the metrics need (rule
 * counts, whether a Local policy found no local endpoint). The unit a sync compares with what it
 * programmed before, and rewrites only when different.
 */
import { buildDispatchRules, type DispatchRules } from './dispatch-rules.ts';
import type { IptablesEndpoint, IptablesServicePort } from './iptables-model.ts';
import { planServicePort } from './service-port-plan.ts';
import { sameLines, type RuleContext } from './rule-text.ts';
import { buildServiceChains } from './service-chains.ts';

export interface ServicePortRules {
  /**
   * What they were built from. The framework keeps both objects while they do not change, so the
   * same instances (and the same large-cluster mode) mean the same rules: a full sync reuses them.
   */
  readonly from: { svc: IptablesServicePort; endpoints: readonly IptablesEndpoint[] };
  /** The service port key (`ns/name:port/PROTOCOL`). */
  readonly key: string;
  /** `ns/name` of its Service. */
  readonly service: string;
  readonly dispatch: DispatchRules;
  /** Its own nat chains (KUBE-EXT/SVC/SVL/SEP). */
  readonly chains: readonly string[];
  /** Their rules. */
  readonly chainRules: readonly string[];
  /** Endpoints the service port has (any state): what large-cluster mode counts. */
  readonly endpoints: number;
  readonly natRules: number;
  readonly filterRules: number;
  /** internalTrafficPolicy Local, endpoints elsewhere but none here (traffic dropped). */
  readonly noLocalInternal: boolean;
  /** externalTrafficPolicy Local, endpoints elsewhere but none here. */
  readonly noLocalExternal: boolean;
}

export function buildServicePortRules(
  svc: IptablesServicePort,
  endpoints: readonly IptablesEndpoint[],
  ctx: RuleContext,
): ServicePortRules {
  const plan = planServicePort(svc, endpoints);
  const dispatch = buildDispatchRules(plan);
  const own = buildServiceChains(plan, ctx);
  return {
    from: { svc, endpoints },
    key: svc.key,
    service: svc.service,
    dispatch,
    chains: own.chains,
    chainRules: own.rules,
    endpoints: endpoints.length,
    natRules: dispatch.natServices.length + dispatch.natNodePorts.length + own.rules.length,
    filterRules:
      dispatch.filterServices.length + dispatch.filterExternal.length + dispatch.filterNodePorts.length,
    noLocalInternal: plan.internalVerdict?.target === 'DROP',
    noLocalExternal: plan.externalVerdict?.target === 'DROP',
  };
}

/** The endpoints of a service port in a SyncState; one shared empty list, so it compares equal too. */
export function endpointsOf(
  endpoints: ReadonlyMap<string, readonly IptablesEndpoint[]>,
  key: string,
): readonly IptablesEndpoint[] {
  return endpoints.get(key) ?? NO_ENDPOINTS;
}

const NO_ENDPOINTS: readonly IptablesEndpoint[] = Object.freeze([]);

/** Would programming `b` over `a` change nothing in the kernel? */
export function sameServicePortRules(a: ServicePortRules, b: ServicePortRules): boolean {
  const d = a.dispatch;
  const e = b.dispatch;
  return (
    sameLines(a.chains, b.chains) &&
    sameLines(a.chainRules, b.chainRules) &&
    sameLines(d.natServices, e.natServices) &&
    sameLines(d.natNodePorts, e.natNodePorts) &&
    sameLines(d.filterServices, e.filterServices) &&
    sameLines(d.filterExternal, e.filterExternal) &&
    sameLines(d.filterNodePorts, e.filterNodePorts)
  );
}
