/**
 * Removes everything the iptables mode ever created in a node namespace, found by name rather
 * than from the proxier's state, so it also works after a crash, for chains an older version
 * used, and without a proxier at all (kube-proxy --cleanup): every KUBE-* chain of the nat and
 * filter tables, and every rule elsewhere (the built-in chains, or anyone's chain) that jumps to
 * one. Each table that holds any is rebuilt without them by one restore without --noflush, as a
 * full sync does (linear, where deleting 100k chains under --noflush is not), keeping the built-in
 * policies and everyone else's chains and rules.
 */
import type { Iptables } from '../../kernel/iptables/interface.ts';
import { remainderRules, remaindersOf, TABLES } from './foreign-rules.ts';
import { restorePayload, type TableWrite } from './payload.ts';

export interface CleanupResult {
  /** KUBE-* chains removed. */
  chains: number;
}

export async function cleanupIptables(iptables: Iptables, ns: string): Promise<CleanupResult> {
  const saved = await iptables.save(ns);
  const kept = remaindersOf(saved, new Set());
  const tables: Partial<Record<(typeof TABLES)[number], TableWrite>> = {};
  let chains = 0;
  for (const table of TABLES) {
    const r = kept[table];
    // A jump into a KUBE-* chain needs the chain, so a table without one has nothing of ours.
    if (r.kubeChains.length === 0) continue;
    chains += r.kubeChains.length;
    tables[table] = { policies: r.policies, declare: r.chains, rules: [remainderRules(table, r, [])] };
  }
  const payload = restorePayload(tables);
  if (payload) await iptables.restore(ns, payload.text);
  return { chains };
}
