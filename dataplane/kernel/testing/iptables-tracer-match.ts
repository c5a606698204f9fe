/**
 * How the packet tracer decides whether a rule matches a traced packet: the base matches (-s -d
 * -i -o -p) and each match module as the kernel evaluates it, in order, stopping at the first
 * that fails. Two modules can go either way for one packet, so they fork the path: statistic
 * (matched with its probability, not matched with the rest) and recent --rcheck/--update when
 * the trace does not say whether the client is in the list. recent --set records the client in
 * the list on that path, so a later check on the same path sees it.
 */
import { cidrContains } from '../cidr.ts';
import { STATISTIC_ONE } from '../iptables/rule-values.ts';
import type { AddrType, CtState, IptablesMatch, IptablesRule } from '../iptables/types.ts';

/** One way a packet can be at one point of its trip. Forks copy it. */
export interface PathState {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  mark: number;
  /** conntrack states the packet's connection is in: NEW, plus DNAT/SNAT once translated. */
  ct: Set<CtState>;
  dnat: boolean;
  masquerade: boolean;
  snat?: string;
  /** Whether the client is in each recent list, where known (set, given, or decided by a fork). */
  recent: Map<string, boolean>;
  recentSet: string[];
  /** Whether undecided recent lists fork (true) or count as not holding the client. */
  recentUnknown: boolean;
  probability: number;
  rules: string[];
}

function clonePath(p: PathState): PathState {
  return {
    ...p,
    ct: new Set(p.ct),
    recent: new Map(p.recent),
    recentSet: [...p.recentSet],
    rules: [...p.rules],
  };
}

/** What a hook sees besides the packet: its interfaces and which addresses are the node's. */
export interface MatchEnv {
  inInterface?: string;
  outInterface?: string;
  isLocal(ip: string): boolean;
}

export interface Branch {
  path: PathState;
  matched: boolean;
}

function interfaceMatches(pattern: string, name: string | undefined): boolean {
  if (name === undefined) return false;
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function addrTypeOf(ip: string, env: MatchEnv): AddrType {
  if (env.isLocal(ip)) return 'LOCAL';
  if (ip === '255.255.255.255') return 'BROADCAST';
  if (cidrContains('224.0.0.0/4', ip)) return 'MULTICAST';
  return 'UNICAST';
}

function inRange(port: number, r: { from: number; to: number }): boolean {
  return port >= r.from && port <= r.to;
}

function baseMatches(rule: IptablesRule, p: PathState, env: MatchEnv): boolean {
  const test = (cond: { negated: boolean } | undefined, hit: () => boolean) =>
    cond === undefined || hit() !== cond.negated;
  return (
    test(rule.source, () => cidrContains(rule.source!.cidr, p.src)) &&
    test(rule.destination, () => cidrContains(rule.destination!.cidr, p.dst)) &&
    test(rule.inInterface, () => interfaceMatches(rule.inInterface!.name, env.inInterface)) &&
    test(rule.outInterface, () => interfaceMatches(rule.outInterface!.name, env.outInterface)) &&
    test(rule.protocol, () => rule.protocol!.name === p.protocol)
  );
}

/** Splits a path into matched (with probability q) and not matched (1 - q). */
function fork(p: PathState, q: number): Branch[] {
  if (q >= 1) return [{ path: p, matched: true }];
  if (q <= 0) return [{ path: p, matched: false }];
  const yes = clonePath(p);
  const no = clonePath(p);
  yes.probability *= q;
  no.probability *= 1 - q;
  return [
    { path: yes, matched: true },
    { path: no, matched: false },
  ];
}

function recentBranches(m: Extract<IptablesMatch, { module: 'recent' }>, p: PathState): Branch[] {
  if (m.command === 'set') {
    p.recent.set(m.name, true);
    if (!p.recentSet.includes(m.name)) p.recentSet.push(m.name);
    return [{ path: p, matched: !m.negated }];
  }
  const known = p.recent.get(m.name);
  const decide = (path: PathState, present: boolean): Branch => {
    if (m.command === 'remove') path.recent.set(m.name, false);
    else path.recent.set(m.name, present);
    return { path, matched: present !== m.negated };
  };
  if (known !== undefined || !p.recentUnknown) return [decide(p, known ?? false)];
  // Nothing says whether the client is in the list: follow both (each keeps its probability).
  return [decide(clonePath(p), true), decide(clonePath(p), false)];
}

function matchBranches(m: IptablesMatch, p: PathState, env: MatchEnv): Branch[] {
  const one = (hit: boolean, negated = false): Branch[] => [{ path: p, matched: hit !== negated }];
  switch (m.module) {
    case 'tcp':
    case 'udp':
    case 'sctp':
      return one(
        p.protocol === m.module &&
          (!m.sport || inRange(p.sport, m.sport) !== m.sport.negated) &&
          (!m.dport || inRange(p.dport, m.dport) !== m.dport.negated),
      );
    case 'comment':
      return one(true);
    case 'addrtype':
      return one(
        (!m.srcType || m.srcType.types.includes(addrTypeOf(p.src, env)) !== m.srcType.negated) &&
          (!m.dstType || m.dstType.types.includes(addrTypeOf(p.dst, env)) !== m.dstType.negated),
      );
    case 'mark':
      return one((p.mark & m.mask) >>> 0 === m.value, m.negated);
    case 'conntrack':
      return one(
        m.states.some((s) => p.ct.has(s)),
        m.negated,
      );
    case 'statistic': {
      const q = m.mode === 'random' ? m.fraction / STATISTIC_ONE : 1 / m.every;
      return fork(p, m.negated ? 1 - q : q);
    }
    case 'recent':
      return recentBranches(m, p);
    case 'multiport': {
      const ports =
        m.direction === 'sports' ? [p.sport] : m.direction === 'dports' ? [p.dport] : [p.sport, p.dport];
      return one(
        ports.some((port) => m.ports.some((r) => inRange(port, r))),
        m.negated,
      );
    }
  }
}

/** Every way `rule` can go for path `p`: matched or not, with forked copies where it can go both ways. */
export function ruleBranches(rule: IptablesRule, p: PathState, env: MatchEnv): Branch[] {
  if (!baseMatches(rule, p, env)) return [{ path: p, matched: false }];
  let live: PathState[] = [p];
  const failed: PathState[] = [];
  for (const m of rule.matches) {
    const next: PathState[] = [];
    for (const path of live)
      for (const b of matchBranches(m, path, env)) (b.matched ? next : failed).push(b.path);
    live = next;
    if (live.length === 0) break;
  }
  return [
    ...live.map((path) => ({ path, matched: true })),
    ...failed.map((path) => ({ path, matched: false })),
  ];
}
