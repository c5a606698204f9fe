/**
 * What of the nat and filter tables is not kube-proxy's, read from iptables-save, so a full sync
 * can replace both tables in one flushing restore without losing it.
 *
 * Why flush: iptables-nft-restore --noflush resolves every jump against the chains it caches,
 * which makes a restore of many chains quadratic (measured here: 1k services x 10 endpoints
 * 3.8 s with --noflush vs 0.55 s without; 2k: 38 s vs 1.2 s). A restore without --noflush
 * rebuilds each table it names from the payload alone, in time linear in the rules. So the
 * payload carries, besides kube-proxy's chains, the built-in chains' policies, the jumps into
 * kube-proxy's chains (kept where they are, the missing ones put first, as upstream prepends
 * them) and everyone else's chains and rules, verbatim. KUBE-* chains that are not written again
 * simply disappear, as do rules elsewhere that jump into a KUBE-* chain and are not our jumps.
 */
import { jumpRuleText } from '../../kernel/iptables/jumps.ts';
import { BUILTIN_CHAINS, type IptablesTable, type JumpRule } from '../../kernel/iptables/types.ts';

export const TABLES = ['filter', 'nat'] as const;
export type ProxyTable = (typeof TABLES)[number];

const KUBE = 'KUBE-';

/** A table without kube-proxy's chains. */
export interface TableRemainder {
  /** Policies of the built-in chains, as saved (ACCEPT when the table did not exist). */
  policies: ReadonlyMap<string, string>;
  /** User chains that are not KUBE-*, in saved order. */
  chains: readonly string[];
  /** `-A` lines of built-in and foreign chains, in saved order, our jumps included where they were. */
  rules: readonly string[];
  /** KUBE-* chains the table held. */
  kubeChains: readonly string[];
}

export type Remainders = Readonly<Record<ProxyTable, TableRemainder>>;

/** The chain of an `-A CHAIN ...` line. */
function chainOf(line: string): string {
  const space = line.indexOf(' ', 3);
  return space < 0 ? line.slice(3) : line.slice(3, space);
}

/** `-A FROM <canonical rule>`: a jump as iptables-save prints it, and as the payload writes it. */
export function jumpLine(jump: JumpRule): string {
  return `-A ${jump.from} ${jumpRuleText(jump)}`;
}

function emptyRemainder(table: IptablesTable): TableRemainder {
  return {
    policies: new Map(BUILTIN_CHAINS[table].map((c) => [c, 'ACCEPT'])),
    chains: [],
    rules: [],
    kubeChains: [],
  };
}

/** Nothing but built-in chains with ACCEPT policies. */
export const EMPTY_REMAINDERS: Remainders = { filter: emptyRemainder('filter'), nat: emptyRemainder('nat') };

/**
 * The nat and filter remainders of iptables-save text (all tables or some). `keep` are the jump
 * lines that stay where they are; any other rule jumping into a KUBE-* chain goes.
 */
export function remaindersOf(saved: string, keep: ReadonlySet<string>): Remainders {
  const out: Record<ProxyTable, TableRemainder> = {
    filter: emptyRemainder('filter'),
    nat: emptyRemainder('nat'),
  };
  let current:
    { policies: Map<string, string>; chains: string[]; rules: string[]; kubeChains: string[] } | undefined;
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) {
      const table = line.slice(1).trim();
      if (table !== 'filter' && table !== 'nat') {
        current = undefined;
        continue;
      }
      current = { policies: new Map(), chains: [], rules: [], kubeChains: [] };
      out[table] = current;
    } else if (!current) {
      continue;
    } else if (line.startsWith(':')) {
      const [chain, policy] = line.slice(1).split(/\s+/);
      if (policy !== '-') current.policies.set(chain, policy);
      else if (chain.startsWith(KUBE)) current.kubeChains.push(chain);
      else current.chains.push(chain);
    } else if (line.startsWith('-A ')) {
      if (chainOf(line).startsWith(KUBE)) continue;
      // A jump or goto to a user chain has no target options: the chain is the last word.
      const target = /(?:^| )-[jg] (\S+)$/.exec(line)?.[1];
      if (target?.startsWith(KUBE) && !keep.has(line)) continue;
      current.rules.push(line);
    }
  }
  return out;
}

/**
 * The rules of the built-in and foreign chains of one table: per built-in chain, the jumps it
 * lacks first (in the order upstream's prepends leave them: the last ensured on top), then what
 * it held; then the foreign chains' rules.
 */
export function remainderRules(table: ProxyTable, r: TableRemainder, jumps: readonly JumpRule[]): string[] {
  const present = new Set(r.rules);
  const out: string[] = [];
  for (const chain of BUILTIN_CHAINS[table]) {
    const missing = jumps
      .filter((j) => j.table === table && j.from === chain)
      .map(jumpLine)
      .filter((l) => !present.has(l))
      .reverse();
    out.push(...missing);
    for (const line of r.rules) if (line.startsWith(`-A ${chain} `)) out.push(line);
  }
  const builtin = new Set(BUILTIN_CHAINS[table]);
  for (const line of r.rules) if (!builtin.has(chainOf(line))) out.push(line);
  return out;
}
