/**
 * The packet tracer: walks the first packet of a new connection through parsed iptables rules
 * (FakeIptables.ruleset, or a real namespace's save restored into a FakeIptables) the way the
 * kernel does, and says where it can end up. Hooks in kernel order per direction (from a pod or
 * from outside: PREROUTING, then INPUT or FORWARD + POSTROUTING depending on whether the
 * possibly DNATed destination is the node's; generated on the node: OUTPUT, POSTROUTING, and
 * INPUT when it stays local), tables in priority order within a hook (raw, mangle, nat, filter;
 * nat only for a new connection), jumps and RETURN, policies, marks, DNAT rewriting what later
 * rules see, MASQUERADE/SNAT, DROP and REJECT. statistic matches fork the path with their
 * probabilities, so every endpoint a service can pick shows up, with its share.
 * Behaviour modelled on upstream kube-proxy's iptables tracer (pkg/proxy/iptables tests), but
 * following the real hooks instead of a fixed list of chains.
 */
import { cidrContains } from '../cidr.ts';
import type { IptablesRuleset, IptablesTable } from '../iptables/types.ts';
import { ruleBranches, type MatchEnv, type PathState } from './iptables-tracer-match.ts';

export interface TraceNode {
  /**
   * The node's own addresses (node IPs, bridge gateway, ...): addrtype LOCAL, and delivered to the
   * node. 127.0.0.0/8 always is. The first is where REDIRECT sends packets arriving from outside.
   */
  localAddresses: readonly string[];
  /** Where packets from pods arrive; default 'cni0'. */
  podInterface?: string;
  /** Where packets from outside arrive; default 'eth0'. */
  uplinkInterface?: string;
  /** For -o matches: the longest matching prefix names the device; local destinations go out 'lo'. */
  routes?: readonly { cidr: string; dev: string }[];
}

export interface TracePacket {
  /** pod: arrives from a pod on this node; external: arrives on the uplink; local: made on the node. */
  from: 'pod' | 'external' | 'local';
  source: string;
  destination: string;
  protocol: 'tcp' | 'udp' | 'sctp';
  port: number;
  /** Default 40000. */
  sourcePort?: number;
  /** Overrides the interface `from` implies. */
  inInterface?: string;
  mark?: number;
}

export interface TraceOptions {
  /**
   * Which recent lists hold the client: 'absent' (default: none), 'unknown' (each check goes both
   * ways), or the names of the lists that hold it (e.g. a previous trace's path.recentSet).
   */
  recent?: 'absent' | 'unknown' | readonly string[];
  /** Stop with an error past this many paths (default 10000). */
  maxPaths?: number;
}

export interface TracePath {
  verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  /** ip:port the packet is delivered to (after DNAT), or was headed for when dropped. */
  destination: string;
  dnat: boolean;
  masquerade: boolean;
  snat?: string;
  mark: number;
  /** The product of the statistic probabilities on this path (recent forks do not split it). */
  probability: number;
  /** recent lists this path put the client in. */
  recentSet: string[];
  /** Delivered to the node itself rather than forwarded. */
  local: boolean;
  /** Rules that matched, in order: `[table] -A CHAIN ...`. */
  rules: string[];
}

export interface TraceResult {
  paths: TracePath[];
  /** Sorted, unique: 'ip:port' for a path let through with DNAT, 'ACCEPT' without, 'DROP', 'REJECT'. */
  outcomes: string[];
  /** The DNAT destinations of the paths let through, sorted. */
  destinations: string[];
  /** Whether any path let through is masqueraded (or SNATed) on the way out. */
  masquerade: boolean;
  /** Summed path probability per outcome. */
  shares: Record<string, number>;
  /** Rules that matched on any path, in first-hit order. */
  hits: string[];
}

type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
type End = 'return' | 'accept' | 'drop' | 'reject';
interface Walked {
  path: PathState;
  end: End;
}
/** How a packet leaves one rule; 'continue' goes on with the next rule of the chain (index + 1). */
interface Step {
  path: PathState;
  end: End | 'continue';
  index: number;
}

const HOOK_TABLES: Readonly<Record<Hook, readonly IptablesTable[]>> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat'],
};
const MAX_DEPTH = 64;

class Tracer {
  private paths = 0;

  constructor(
    private readonly ruleset: IptablesRuleset,
    private readonly node: TraceNode,
    private readonly maxPaths: number,
  ) {}

  isLocal = (ip: string): boolean => cidrContains('127.0.0.0/8', ip) || this.node.localAddresses.includes(ip);

  private outDevice(dst: string): string | undefined {
    if (this.isLocal(dst)) return 'lo';
    let best: { prefix: number; dev: string } | undefined;
    for (const r of this.node.routes ?? []) {
      const prefix = Number(r.cidr.split('/')[1] ?? 32);
      if (cidrContains(r.cidr, dst) && (!best || prefix > best.prefix)) best = { prefix, dev: r.dev };
    }
    return best?.dev;
  }

  private env(hook: Hook, path: PathState, inInterface: string | undefined): MatchEnv {
    const hasIn = hook === 'PREROUTING' || hook === 'INPUT' || hook === 'FORWARD';
    const hasOut = hook === 'FORWARD' || hook === 'OUTPUT' || hook === 'POSTROUTING';
    return {
      inInterface: hasIn ? inInterface : undefined,
      outInterface: hasOut ? this.outDevice(path.dst) : undefined,
      isLocal: this.isLocal,
    };
  }

  /** Runs `chain` from rule `start`; every way it can end. */
  private walk(
    table: IptablesTable,
    hook: Hook,
    chain: string,
    start: number,
    path: PathState,
    inIf: string | undefined,
    depth: number,
  ): Walked[] {
    if (depth > MAX_DEPTH) throw new Error(`trace: jumps nested deeper than ${MAX_DEPTH} at ${chain}`);
    const rules = this.ruleset.get(table)?.get(chain)?.rules ?? [];
    const rest = (w: Step): Walked[] =>
      w.end === 'continue' ? this.walk(table, hook, chain, w.index + 1, w.path, inIf, depth) : [w as Walked];
    for (let i = start; i < rules.length; i++) {
      const branches = ruleBranches(rules[i], path, this.env(hook, path, inIf));
      if (branches.length > 1) {
        this.paths += branches.length - 1;
        if (this.paths > this.maxPaths) throw new Error(`trace exceeded ${this.maxPaths} paths`);
        return branches.flatMap((b) =>
          b.matched
            ? this.apply(table, hook, chain, i, b.path, inIf, depth).flatMap(rest)
            : this.walk(table, hook, chain, i + 1, b.path, inIf, depth),
        );
      }
      path = branches[0].path;
      if (!branches[0].matched) continue;
      const steps = this.apply(table, hook, chain, i, path, inIf, depth);
      if (steps.length === 1 && steps[0].end === 'continue') {
        path = steps[0].path;
        continue;
      }
      return steps.flatMap(rest);
    }
    return [{ path, end: 'return' }];
  }

  /** The target of the rule at `chain[i]`, which matched: how the packet leaves that rule. */
  private apply(
    table: IptablesTable,
    hook: Hook,
    chain: string,
    i: number,
    path: PathState,
    inIf: string | undefined,
    depth: number,
  ): Step[] {
    const rule = this.ruleset.get(table)!.get(chain)!.rules[i];
    path.rules.push(`[${table}] -A ${chain}${rule.text ? ` ${rule.text}` : ''}`);
    const t = rule.target;
    const step = (end: Step['end']): Step[] => [{ path, end, index: i }];
    switch (t?.kind) {
      case undefined:
        return step('continue');
      case 'MARK':
        path.mark = ((path.mark & ~t.mask) ^ t.value) >>> 0;
        return step('continue');
      case 'ACCEPT':
        return step('accept');
      case 'DROP':
        return step('drop');
      case 'REJECT':
        return step('reject');
      case 'RETURN':
        return step('return');
      case 'DNAT':
      case 'REDIRECT':
        if (t.kind === 'DNAT') path.dst = t.address;
        else path.dst = hook === 'OUTPUT' ? '127.0.0.1' : (this.node.localAddresses[0] ?? '127.0.0.1');
        if (t.ports) path.dport = t.ports.from;
        path.dnat = true;
        path.ct.add('DNAT');
        return step('accept');
      case 'MASQUERADE':
      case 'SNAT':
        if (t.kind === 'SNAT') path.snat = t.address;
        else path.masquerade = true;
        path.ct.add('SNAT');
        return step('accept');
      case 'chain':
        return this.walk(table, hook, t.chain, 0, path, inIf, depth + 1).map((w) => ({
          path: w.path,
          end: w.end === 'return' ? 'continue' : w.end,
          index: i,
        }));
    }
  }

  /** Runs every table of a hook; the paths that survive it, and those it ended. */
  runHook(
    hook: Hook,
    path: PathState,
    inIf: string | undefined,
    nat: boolean,
  ): { alive: PathState[]; ended: Walked[] } {
    let alive = [path];
    const ended: Walked[] = [];
    for (const table of HOOK_TABLES[hook]) {
      if (table === 'nat' && !nat) continue;
      const chain = this.ruleset.get(table)?.get(hook);
      if (!chain) continue;
      const next: PathState[] = [];
      for (const p of alive) {
        for (const w of this.walk(table, hook, hook, 0, p, inIf, 0)) {
          const end = w.end === 'return' ? (chain.policy === 'DROP' ? 'drop' : 'accept') : w.end;
          if (end === 'accept') next.push(w.path);
          else ended.push({ path: w.path, end });
        }
      }
      alive = next;
    }
    return { alive, ended };
  }
}

function summarise(paths: TracePath[]): TraceResult {
  const outcome = (p: TracePath) => (p.verdict !== 'ACCEPT' ? p.verdict : p.dnat ? p.destination : 'ACCEPT');
  const shares: Record<string, number> = {};
  for (const p of paths) shares[outcome(p)] = (shares[outcome(p)] ?? 0) + p.probability;
  const through = paths.filter((p) => p.verdict === 'ACCEPT');
  return {
    paths,
    outcomes: [...new Set(paths.map(outcome))].sort(),
    destinations: [...new Set(through.filter((p) => p.dnat).map((p) => p.destination))].sort(),
    masquerade: through.some((p) => p.masquerade || p.snat !== undefined),
    shares,
    hits: [...new Set(paths.flatMap((p) => p.rules))],
  };
}

/** Traces the first packet of a new connection through `ruleset` on `node`. */
export function tracePacket(
  ruleset: IptablesRuleset,
  node: TraceNode,
  packet: TracePacket,
  options: TraceOptions = {},
): TraceResult {
  const tracer = new Tracer(ruleset, node, options.maxPaths ?? 10_000);
  const recent = options.recent ?? 'absent';
  const start: PathState = {
    src: packet.source,
    sport: packet.sourcePort ?? 40000,
    dst: packet.destination,
    dport: packet.port,
    protocol: packet.protocol,
    mark: packet.mark ?? 0,
    ct: new Set(['NEW']),
    dnat: false,
    masquerade: false,
    recent: new Map(typeof recent === 'string' ? [] : recent.map((name) => [name, true])),
    recentSet: [],
    recentUnknown: recent === 'unknown',
    probability: 1,
    rules: [],
  };
  const ended: Walked[] = [];
  const delivered: { path: PathState; local: boolean }[] = [];
  const run = (hook: Hook, paths: PathState[], inIf: string | undefined, nat = true) => {
    const alive: PathState[] = [];
    for (const p of paths) {
      const r = tracer.runHook(hook, p, inIf, nat);
      alive.push(...r.alive);
      ended.push(...r.ended);
    }
    return alive;
  };
  if (packet.from === 'local') {
    for (const p of run('POSTROUTING', run('OUTPUT', [start], undefined), undefined)) {
      // Looped back over lo: the connection's NAT was settled at OUTPUT and POSTROUTING.
      if (tracer.isLocal(p.dst))
        delivered.push(...run('INPUT', [p], 'lo', false).map((path) => ({ path, local: true })));
      else delivered.push({ path: p, local: false });
    }
  } else {
    const inIf =
      packet.inInterface ??
      (packet.from === 'pod' ? (node.podInterface ?? 'cni0') : (node.uplinkInterface ?? 'eth0'));
    for (const p of run('PREROUTING', [start], inIf)) {
      if (tracer.isLocal(p.dst))
        delivered.push(...run('INPUT', [p], inIf).map((path) => ({ path, local: true })));
      else
        delivered.push(
          ...run('POSTROUTING', run('FORWARD', [p], inIf), inIf).map((path) => ({ path, local: false })),
        );
    }
  }
  const toPath = (path: PathState, verdict: TracePath['verdict'], local: boolean): TracePath => ({
    verdict,
    destination: `${path.dst}:${path.dport}`,
    dnat: path.dnat,
    masquerade: path.masquerade,
    ...(path.snat !== undefined ? { snat: path.snat } : {}),
    mark: path.mark,
    probability: path.probability,
    recentSet: path.recentSet,
    local,
    rules: path.rules,
  });
  return summarise([
    ...delivered.map((d) => toPath(d.path, 'ACCEPT', d.local)),
    ...ended.map((w) => toPath(w.path, w.end === 'reject' ? 'REJECT' : 'DROP', tracer.isLocal(w.path.dst))),
  ]);
}
