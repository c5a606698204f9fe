/**
 * What the iptables mode checks to know its rules are still reachable, every second and before
 * every partial sync (BaseProxier's kernel check): the jumps from the built-in chains into
 * kube-proxy's chains, the fixed rules of KUBE-POSTROUTING, KUBE-MARK-MASQ and KUBE-FORWARD, and
 * the node-port tail of nat KUBE-SERVICES, in nat and filter, checked in one `-C` restore.
 *
 * Why rules and not a canary chain: upstream's KUBE-PROXY-CANARY chain notices a table whose chains
 * were deleted (a firewall reload, `-X`), but `iptables -t nat -F` empties every chain and leaves
 * them all in place, so a chain would survive exactly the damage that blackholes every ClusterIP.
 * A rule survives neither `-F` nor `-X`; the jumps are what a single `-D PREROUTING ...` removes;
 * a jump to a deleted chain fails its check; and checking each table covers a tool that flushes
 * one table only. Partial syncs rewrite only KUBE-SVC/KUBE-SEP chains (and a dispatch chain that
 * changed), so any of these missing means a full sync. Not checked (as upstream): the rules inside
 * one per-service chain someone flushed by name; the next change to that Service or the hourly
 * full sync rewrites it.
 */
import type { RulesByTable } from '../../kernel/iptables/interface.ts';
import { forwardRules, KUBE_PROXY_JUMP_RULES, postroutingRules } from './fixed-rules.ts';
import { jumpLine } from './foreign-rules.ts';

/** The rules to check per table, with the masquerade mark and node-port tail of the last full sync. */
export function canaryRules(mark: string, tail: readonly string[]): RulesByTable {
  const jumps = (table: 'nat' | 'filter') =>
    KUBE_PROXY_JUMP_RULES.filter((j) => j.table === table).map(jumpLine);
  return {
    filter: [...jumps('filter'), ...forwardRules(mark)],
    nat: [...jumps('nat'), ...postroutingRules(mark), ...tail],
  };
}
