/**
 * The nftables packet tracer: walks the first packet of a new connection through a FakeNftTable
 * (what FakeNftables holds, or a real namespace's `nft list table` loaded into one) as the kernel
 * does, and says where it can end up, in the iptables tracer's terms (TraceResult), so the
 * compliance suite reads both alike. Per hook, the table's base chains run in priority order
 * (a nat chain's dnat ends that chain; accept ends a base chain, drop and reject the packet);
 * jump returns, goto does not; verdict maps are looked up with the packet's concatenated key;
 * `numgen random mod N vmap` forks the path N ways, 1/N each; `ip saddr @affinity-…` is true for
 * the sets the caller says hold the client (`inSets`), and `update @set` is recorded on the path
 * (TracePath.recentSet), so a returning client can be traced.
 */
import { cidrContains } from '../cidr.ts';
import type { TraceNode, TracePacket, TracePath, TraceResult } from './iptables-tracer.ts';
import type { Selector, Statement, Verdict } from './nft-rule.ts';
import type { FakeNftChain, FakeNftTable } from './fake-nftables.ts';

export interface NftTraceOptions {
  /** Dynamic sets (affinity) that hold the client's address; default none. */
  inSets?: readonly string[];
  /** Stop with an error past this many paths (default 10000). */
  maxPaths?: number;
}

type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
type End = 'return' | 'accept' | 'drop' | 'reject';

interface Path {
  src: string;
  dst: string;
  dport: number;
  protocol: string;
  mark: number;
  dnat: boolean;
  masquerade: boolean;
  probability: number;
  setsUpdated: string[];
  rules: string[];
}

const MAX_DEPTH = 64;

function copy(p: Path): Path {
  return { ...p, setsUpdated: [...p.setsUpdated], rules: [...p.rules] };
}

class NftTracer {
  private paths = 0;
  constructor(
    private readonly table: FakeNftTable,
    private readonly node: TraceNode,
    private readonly inSets: ReadonlySet<string>,
    private readonly maxPaths: number,
  ) {}

  isLocal = (ip: string): boolean => cidrContains('127.0.0.0/8', ip) || this.node.localAddresses.includes(ip);

  private value(sel: Selector, p: Path): string {
    if (typeof sel === 'object') throw new Error('numgen is not a value');
    switch (sel) {
      case 'ip daddr':
        return p.dst;
      case 'ip saddr':
        return p.src;
      case 'l4proto':
        return p.protocol;
      case 'dport':
        return String(p.dport);
      case 'mark':
        return String(p.mark);
      case 'ct state':
        return 'new';
      case 'fib daddr type':
        return this.isLocal(p.dst) ? 'local' : 'unicast';
      case 'fib saddr type':
        return this.isLocal(p.src) ? 'local' : 'unicast';
    }
  }

  private key(sels: readonly Selector[], p: Path): string {
    return sels.map((s) => this.value(s, p)).join(' . ');
  }

  private equal(sel: Selector, actual: string, want: string): boolean {
    if (sel === 'ip daddr' || sel === 'ip saddr')
      return want.includes('/') ? cidrContains(want, actual) : actual === want;
    if (sel === 'mark' || sel === 'dport') return Number(actual) === Number(want);
    if (sel === 'ct state') return want.split(',').includes(actual);
    return actual === want;
  }

  private matches(s: Extract<Statement, { kind: 'match' }>, p: Path): boolean {
    if (s.proto && s.proto !== p.protocol) return false;
    let hit: boolean;
    if (s.mask !== undefined) {
      hit = (p.mark & s.mask) >>> 0 === Number((s.value as { literal: string }).literal) >>> 0;
    } else if ('set' in s.value) {
      const set = this.table.sets.get(s.value.set);
      if (!set) throw new Error(`trace: no set ${s.value.set}`);
      const key = this.key(s.key, p);
      hit = set.spec.flags?.includes('dynamic')
        ? this.inSets.has(set.name) || set.elements.has(key)
        : set.elements.has(key);
    } else if ('anonymous' in s.value) {
      const actual = this.value(s.key[0], p);
      hit = s.value.anonymous.some((w) => this.equal(s.key[0], actual, w));
    } else {
      hit = this.equal(s.key[0], this.value(s.key[0], p), s.value.literal);
    }
    return s.negate ? !hit : hit;
  }

  /** Runs `chain` from rule 0; every way it can end. */
  walk(chain: FakeNftChain, path: Path, hook: Hook, depth: number): { path: Path; end: End }[] {
    if (depth > MAX_DEPTH) throw new Error(`trace: jumps nested deeper than ${MAX_DEPTH} at ${chain.name}`);
    return this.fromRule(chain, 0, path, hook, depth);
  }

  private fromRule(
    chain: FakeNftChain,
    start: number,
    path: Path,
    hook: Hook,
    depth: number,
  ): { path: Path; end: End }[] {
    for (let i = start; i < chain.rules.length; i++) {
      const rule = chain.rules[i];
      const r = this.runRule(chain, i, rule.statements, 0, path, hook, depth);
      if (r === 'next') continue;
      return r;
    }
    return [{ path, end: 'return' }];
  }

  /** The rest of a rule from statement `j`: 'next' when it falls through to the next rule. */
  private runRule(
    chain: FakeNftChain,
    i: number,
    stmts: readonly Statement[],
    j: number,
    path: Path,
    hook: Hook,
    depth: number,
  ): { path: Path; end: End }[] | 'next' {
    const cont = (p: Path) => this.fromRule(chain, i + 1, p, hook, depth);
    if (j === 0) path.rules.push(`${chain.name}: ${chain.rules[i].text}`);
    for (; j < stmts.length; j++) {
      const s = stmts[j];
      switch (s.kind) {
        case 'comment':
        case 'counter':
          continue;
        case 'match':
          if (!this.matches(s, path)) {
            path.rules.pop();
            return 'next';
          }
          continue;
        case 'mark':
          path.mark =
            s.op === 'or'
              ? (path.mark | s.value) >>> 0
              : s.op === 'xor'
                ? (path.mark ^ s.value) >>> 0
                : s.op === 'and'
                  ? (path.mark & s.value) >>> 0
                  : s.value;
          continue;
        case 'update':
          path.setsUpdated.push(s.set);
          continue;
        case 'masquerade':
          path.masquerade = true;
          return [{ path, end: 'accept' }];
        case 'dnat':
          path.dst = s.address;
          if (s.port !== undefined) path.dport = s.port;
          path.dnat = true;
          return [{ path, end: 'accept' }];
        case 'verdict':
          return this.verdict(chain, i, s.verdict, path, hook, depth, cont);
        case 'vmap': {
          if ('inline' in s.map && typeof s.key[0] === 'object') {
            const n = s.key[0].numgen;
            const inline = s.map.inline;
            const forks = Array.from({ length: n }, (_, k) => k);
            this.paths += n - 1;
            if (this.paths > this.maxPaths) throw new Error(`trace exceeded ${this.maxPaths} paths`);
            return forks.flatMap((k) => {
              const p = copy(path);
              p.probability /= n;
              const v = inline.get(String(k));
              return v ? this.verdict(chain, i, v, p, hook, depth, cont) : cont(p);
            });
          }
          const key = this.key(s.key, path);
          let v: Verdict | undefined;
          if ('inline' in s.map) v = s.map.inline.get(key);
          else {
            const map = this.table.sets.get(s.map.named);
            if (!map) throw new Error(`trace: no map ${s.map.named}`);
            const text = map.elements.get(key);
            v = text === undefined ? undefined : parseVerdictText(text);
          }
          if (!v) {
            path.rules.pop();
            return 'next';
          }
          return this.verdict(chain, i, v, path, hook, depth, cont);
        }
      }
    }
    return 'next';
  }

  private verdict(
    _chain: FakeNftChain,
    _i: number,
    v: Verdict,
    path: Path,
    hook: Hook,
    depth: number,
    cont: (p: Path) => { path: Path; end: End }[],
  ): { path: Path; end: End }[] {
    if (v.kind !== 'jump' && v.kind !== 'goto') return [{ path, end: v.kind }];
    const target = this.table.chains.get(v.chain);
    if (!target) throw new Error(`trace: no chain ${v.chain}`);
    const ends = this.walk(target, path, hook, depth + 1);
    if (v.kind === 'goto') return ends;
    return ends.flatMap((e) => (e.end === 'return' ? cont(e.path) : [e]));
  }

  /** Every base chain of `hook`, by priority; the paths still alive after it, and those it ended. */
  runHook(hook: Hook, path: Path, nat: boolean): { alive: Path[]; ended: { path: Path; end: End }[] } {
    const chains = [...this.table.chains.values()]
      .filter((c) => c.spec.hook === hook && (nat || c.spec.type !== 'nat'))
      .sort((a, b) => (a.spec.priority ?? 0) - (b.spec.priority ?? 0));
    let alive = [path];
    const ended: { path: Path; end: End }[] = [];
    for (const chain of chains) {
      const next: Path[] = [];
      for (const p of alive)
        for (const w of this.walk(chain, p, hook, 0)) {
          const end = w.end === 'return' ? (chain.spec.policy ?? 'accept') : w.end;
          if (end === 'accept') next.push(w.path);
          else ended.push({ path: w.path, end });
        }
      alive = next;
    }
    return { alive, ended };
  }
}

function parseVerdictText(text: string): Verdict {
  const [kind, chain] = text.split(' ');
  if (kind === 'jump' || kind === 'goto') return { kind, chain };
  return { kind: kind as 'accept' | 'drop' | 'reject' | 'return' };
}

/** Traces the first packet of a new connection through `table` on `node`. */
export function traceNft(
  table: FakeNftTable,
  node: TraceNode,
  packet: TracePacket,
  options: NftTraceOptions = {},
): TraceResult {
  const tracer = new NftTracer(table, node, new Set(options.inSets ?? []), options.maxPaths ?? 10_000);
  const start: Path = {
    src: packet.source,
    dst: packet.destination,
    dport: packet.port,
    protocol: packet.protocol,
    mark: packet.mark ?? 0,
    dnat: false,
    masquerade: false,
    probability: 1,
    setsUpdated: [],
    rules: [],
  };
  const ended: { path: Path; end: End }[] = [];
  const delivered: { path: Path; local: boolean }[] = [];
  const run = (hook: Hook, paths: Path[], nat = true) => {
    const alive: Path[] = [];
    for (const p of paths) {
      const r = tracer.runHook(hook, p, nat);
      alive.push(...r.alive);
      ended.push(...r.ended);
    }
    return alive;
  };
  if (packet.from === 'local') {
    for (const p of run('postrouting', run('output', [start]))) {
      if (tracer.isLocal(p.dst))
        delivered.push(...run('input', [p], false).map((path) => ({ path, local: true })));
      else delivered.push({ path: p, local: false });
    }
  } else {
    for (const p of run('prerouting', [start])) {
      if (tracer.isLocal(p.dst)) delivered.push(...run('input', [p]).map((path) => ({ path, local: true })));
      else delivered.push(...run('postrouting', run('forward', [p])).map((path) => ({ path, local: false })));
    }
  }
  const toPath = (p: Path, verdict: TracePath['verdict'], local: boolean): TracePath => ({
    verdict,
    destination: `${p.dst}:${p.dport}`,
    dnat: p.dnat,
    masquerade: p.masquerade,
    mark: p.mark,
    probability: p.probability,
    recentSet: p.setsUpdated,
    local,
    rules: p.rules,
  });
  const paths = [
    ...delivered.map((d) => toPath(d.path, 'ACCEPT', d.local)),
    ...ended.map((w) => toPath(w.path, w.end === 'reject' ? 'REJECT' : 'DROP', tracer.isLocal(w.path.dst))),
  ];
  const outcome = (p: TracePath) => (p.verdict !== 'ACCEPT' ? p.verdict : p.dnat ? p.destination : 'ACCEPT');
  const shares: Record<string, number> = {};
  for (const p of paths) shares[outcome(p)] = (shares[outcome(p)] ?? 0) + p.probability;
  const through = paths.filter((p) => p.verdict === 'ACCEPT');
  return {
    paths,
    outcomes: [...new Set(paths.map(outcome))].sort(),
    destinations: [...new Set(through.filter((p) => p.dnat).map((p) => p.destination))].sort(),
    masquerade: through.some((p) => p.masquerade),
    shares,
    hits: [...new Set(paths.flatMap((p) => p.rules))],
  };
}
