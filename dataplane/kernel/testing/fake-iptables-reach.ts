/**
 * The kernel's commit-time checks on a table, done incrementally so a one-service restore into a
 * table of 10k services stays cheap: a NAT or REJECT target must only be reachable from the hooks
 * it supports (DNAT from PREROUTING/OUTPUT, MASQUERADE from POSTROUTING, ...), and no loop may be
 * reachable from a built-in chain. A table that passed before can only fail through a rule the
 * transaction added, so only paths through those rules are walked: which hooks reach the added
 * rule's chain (backwards over the referrer index), and what its jump target reaches (forwards).
 */
import {
  BUILTIN_CHAINS,
  type IptablesChainView,
  type IptablesRule,
  type IptablesTable,
} from '../iptables/types.ts';

/** What is wrong, and the payload line it is blamed on (the latest added rule involved). */
export interface Violation {
  message: string;
  line: number;
}

class Found extends Error {
  constructor(readonly violation: Violation) {
    super(violation.message);
  }
}

/** Hooks each restricted target may be reached from (the kernel's xt_target.hooks). */
const TARGET_HOOKS: Readonly<Record<string, readonly string[]>> = {
  DNAT: ['PREROUTING', 'OUTPUT'],
  REDIRECT: ['PREROUTING', 'OUTPUT'],
  SNAT: ['POSTROUTING', 'INPUT'],
  MASQUERADE: ['POSTROUTING'],
  REJECT: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export function isHookRestricted(rule: IptablesRule): boolean {
  return rule.target !== undefined && rule.target.kind in TARGET_HOOKS;
}

function found(message: string, line: number): Found {
  return new Found({ message, line });
}

export interface ReachInput {
  table: IptablesTable;
  chains: ReadonlyMap<string, IptablesChainView>;
  /** referrers.get(target).get(chain): how many rules of `chain` jump to `target`. */
  referrers: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Rules the transaction added that are still there: rule -> its chain and payload line. */
  added: ReadonlyMap<IptablesRule, { chain: string; line: number }>;
}

/** The first violation among the paths through added rules, or undefined when there is none. */
export function findViolation(input: ReachInput): Violation | undefined {
  try {
    walkAdded(input);
    return undefined;
  } catch (e) {
    if (e instanceof Found) return e.violation;
    throw e;
  }
}

function walkAdded(input: ReachInput): void {
  const builtins = new Set(BUILTIN_CHAINS[input.table]);
  const memo = new Map<string, string[]>();
  const hooksOf = (chain: string): string[] => {
    let hooks = memo.get(chain);
    if (hooks) return hooks;
    const seen = new Set([chain]);
    const queue = [chain];
    hooks = [];
    while (queue.length) {
      const c = queue.pop()!;
      if (builtins.has(c)) hooks.push(c);
      for (const from of input.referrers.get(c)?.keys() ?? [])
        if (!seen.has(from)) {
          seen.add(from);
          queue.push(from);
        }
    }
    memo.set(chain, hooks);
    return hooks;
  };
  const lineOf = (rules: (IptablesRule | undefined)[]): number =>
    Math.max(...rules.map((r) => (r ? (input.added.get(r)?.line ?? 0) : 0)));
  const checkTarget = (
    rule: IptablesRule,
    hooks: string[],
    path: string,
    blame: (IptablesRule | undefined)[],
  ) => {
    const allowed = TARGET_HOOKS[rule.target?.kind ?? ''];
    const bad = allowed && hooks.find((h) => !allowed.includes(h));
    if (bad)
      throw found(
        `${rule.target!.kind} is not valid in a chain reachable from ${bad} (${bad} -> ... -> ${path})`,
        lineOf([...blame, rule]),
      );
  };

  for (const [rule, at] of input.added) {
    const hooks = hooksOf(at.chain);
    if (hooks.length === 0) continue;
    checkTarget(rule, hooks, at.chain, []);
    if (rule.target?.kind !== 'chain') continue;
    // Forwards from the jump target: back to this chain is a loop; every target must suit the hooks.
    const start = rule.target.chain;
    if (start === at.chain) throw found(`loop: ${at.chain} jumps to itself`, at.line);
    const seen = new Set([start]);
    const stack: { chain: IptablesChainView; next: number; via: IptablesRule }[] = [
      { chain: input.chains.get(start)!, next: 0, via: rule },
    ];
    while (stack.length) {
      const frame = stack[stack.length - 1];
      if (frame.next >= frame.chain.rules.length) {
        stack.pop();
        continue;
      }
      const r = frame.chain.rules[frame.next++];
      const path = () => [at.chain, ...stack.map((f) => f.chain.name)].join(' -> ');
      checkTarget(
        r,
        hooks,
        path(),
        stack.map((f) => f.via),
      );
      if (r.target?.kind !== 'chain') continue;
      if (r.target.chain === at.chain)
        throw found(
          `loop: ${at.chain} is reachable from itself (${path()} -> ${at.chain})`,
          lineOf([...stack.map((f) => f.via), r]),
        );
      if (!seen.has(r.target.chain)) {
        seen.add(r.target.chain);
        stack.push({ chain: input.chains.get(r.target.chain)!, next: 0, via: r });
      }
    }
  }
}
