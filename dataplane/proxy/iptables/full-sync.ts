/**
 * A full sync's write: the nat and filter tables rebuilt in one restore without --noflush
 * (filter then nat, each table atomically): kube-proxy's chains and rules, the jumps into them
 * from the built-in chains, and everything else the tables held (foreign-rules.ts), so whatever
 * KUBE-* chain is no longer used is gone without a -X, and nobody else's rules are lost. Linear
 * in the rules, where a --noflush restore of the same chains is quadratic with iptables-nft.
 */
import { DISPATCH_CHAINS } from './dispatch-rules.ts';
import { forwardRules, KUBE_PROXY_JUMP_RULES, postroutingRules } from './fixed-rules.ts';
import { remainderRules, type Remainders } from './foreign-rules.ts';
import { FILTER_CHAINS, isServiceChain, NAT_CHAINS } from './chain-names.ts';
import { restorePayload } from './payload.ts';
import type { ProgrammedRules } from './programmed.ts';
import { buildServicePortRules, endpointsOf, type ServicePortRules } from './service-rules.ts';
import type { SyncInput, SyncWrite } from './sync-input.ts';

/**
 * `kept`: the tables' content that is not ours; `existing`: the per-service chains the tables
 * hold now (to report which ones the write removes).
 */
export function planFullSync(
  input: SyncInput,
  programmed: ProgrammedRules,
  kept: Remainders,
  existing: Iterable<string>,
): SyncWrite {
  const { state, ctx } = input;
  const keys = [...state.services.keys()].filter((k) => input.include(state.services.get(k)!)).sort();
  // What did not change since it was built (same objects, same mode) is not built again: a
  // periodic full sync of 10k services costs little more than writing them.
  const reusable = programmed.largeCluster === ctx.largeCluster;
  const all: ServicePortRules[] = keys.map((k) => {
    const svc = state.services.get(k)!;
    const endpoints = endpointsOf(state.endpoints, k);
    const old = reusable ? programmed.get(k) : undefined;
    if (old && old.from.svc === svc && old.from.endpoints === endpoints) return old;
    return buildServicePortRules(svc, endpoints, ctx);
  });
  const part = (name: (typeof DISPATCH_CHAINS)[number]['part']) => all.map((r) => r.dispatch[name]);

  const active = new Set<string>();
  const ownChains: string[] = [];
  for (const r of all)
    for (const c of r.chains) {
      active.add(c);
      ownChains.push(c);
    }
  const stale = [...new Set(existing)].filter((c) => isServiceChain(c) && !active.has(c));

  const payload = restorePayload({
    filter: {
      policies: kept.filter.policies,
      declare: [...kept.filter.chains, ...FILTER_CHAINS],
      rules: [
        remainderRules('filter', kept.filter, KUBE_PROXY_JUMP_RULES),
        ...part('filterServices'),
        ...part('filterExternal'),
        ...part('filterNodePorts'),
        forwardRules(ctx.masqueradeMark),
      ],
    },
    nat: {
      policies: kept.nat.policies,
      declare: [...kept.nat.chains, ...NAT_CHAINS, ...ownChains],
      rules: [
        remainderRules('nat', kept.nat, KUBE_PROXY_JUMP_RULES),
        postroutingRules(ctx.masqueradeMark),
        ...part('natServices'),
        input.tail,
        ...part('natNodePorts'),
        ...all.map((r) => r.chainRules),
      ],
    },
  });

  return {
    kind: 'full',
    payload,
    written: all.length,
    removed: stale.length,
    dispatch: DISPATCH_CHAINS.map((d) => `${d.table} ${d.chain}`),
    commit() {
      programmed.clear();
      for (const r of all) programmed.set(r);
      programmed.tail = input.tail;
      programmed.servicesSize = state.services.size;
      programmed.largeCluster = ctx.largeCluster;
      programmed.trusted = true;
    },
  };
}

/** Rules outside the service ports, per table: the fixed chains and the node port tail. */
export function fixedRuleCounts(tail: readonly string[]): { nat: number; filter: number } {
  return { nat: postroutingRules('0').length + tail.length, filter: forwardRules('0').length };
}
