/**
 * nft rule text as FakeNftables' tracer needs it: a list of statements, each a match (a selector
 * or a concatenation of selectors compared with a value, a set, or looked up in a verdict map) or
 * an action (verdicts, mark, masquerade, dnat, set update, counter). The subset is what the
 * nftables proxy mode writes and what `nft list` prints it back as; anything else throws, so a
 * rule the tracer would misread is an error, not a wrong trace.
 */
import type { Token } from './nft-script.ts';

/** What a packet field a selector reads; `numgen` draws a number from 0 to mod - 1. */
export type Selector =
  | 'ip daddr'
  | 'ip saddr'
  | 'l4proto'
  | 'dport'
  | 'mark'
  | 'ct state'
  | 'fib daddr type'
  | 'fib saddr type'
  | { numgen: number };

export type Verdict =
  { kind: 'accept' | 'drop' | 'reject' | 'return' } | { kind: 'jump' | 'goto'; chain: string };

export type Statement =
  | {
      kind: 'match';
      key: Selector[];
      /** `tcp dport 80`: the protocol the port selector implies. */
      proto?: string;
      mask?: number;
      negate: boolean;
      /** A literal (address, CIDR, number, word), a set (`@name`), or an anonymous set. */
      value: { literal: string } | { set: string } | { anonymous: string[] };
    }
  | { kind: 'vmap'; key: Selector[]; map: { named: string } | { inline: Map<string, Verdict> } }
  | { kind: 'verdict'; verdict: Verdict }
  | { kind: 'mark'; op: 'or' | 'xor' | 'and' | 'set'; value: number }
  | { kind: 'masquerade' }
  | { kind: 'dnat'; address: string; port?: number }
  | { kind: 'update'; set: string; key: Selector[] }
  | { kind: 'counter' }
  | { kind: 'comment'; text: string };

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

export function parseVerdict(words: readonly string[]): Verdict {
  const [v, chain] = words;
  if ((v === 'jump' || v === 'goto') && chain) return { kind: v, chain };
  if (v === 'accept' || v === 'drop' || v === 'return' || v === 'reject') return { kind: v };
  throw new Error(`unsupported verdict "${words.join(' ')}"`);
}

class RuleReader {
  i = 0;
  constructor(readonly t: readonly Token[]) {}
  peek(n = 0): Token | undefined {
    return this.t[this.i + n];
  }
  next(): Token {
    const tok = this.t[this.i++];
    if (tok === undefined) throw new Error(`rule ends early: ${this.t.join(' ')}`);
    return tok;
  }
  /** One selector at the cursor, or undefined. */
  selector(): { sel: Selector; proto?: string } | undefined {
    const a = this.peek();
    const b = this.peek(1);
    if (a === 'ip' && (b === 'daddr' || b === 'saddr')) {
      this.i += 2;
      return { sel: `ip ${b}` };
    }
    if (a === 'meta' && (b === 'l4proto' || b === 'mark')) {
      this.i += 2;
      return { sel: b === 'mark' ? 'mark' : 'l4proto' };
    }
    if (a === 'mark' && this.peek(1) !== 'set') {
      this.i += 1;
      return { sel: 'mark' };
    }
    if (a === 'ct' && b === 'state') {
      this.i += 2;
      return { sel: 'ct state' };
    }
    if (a === 'fib' && (b === 'daddr' || b === 'saddr') && this.peek(2) === 'type') {
      this.i += 3;
      return { sel: `fib ${b} type` };
    }
    if ((a === 'th' || PROTOS.has(a ?? '')) && b === 'dport') {
      this.i += 2;
      return { sel: 'dport', proto: a === 'th' ? undefined : a };
    }
    if (a === 'numgen' && b === 'random' && this.peek(2) === 'mod') {
      this.i += 3;
      return { sel: { numgen: Number(this.next()) } };
    }
    return undefined;
  }
  /** `{ a, b }` as its items (the opening brace at the cursor). */
  braced(): Token[][] {
    this.next();
    const items: Token[][] = [[]];
    for (;;) {
      const tok = this.next();
      if (tok === '}') break;
      if (tok === ',') items.push([]);
      else items[items.length - 1].push(tok);
    }
    return items.filter((x) => x.length > 0);
  }
}

function markValue(tok: string): number {
  const n = Number(tok);
  if (!Number.isInteger(n)) throw new Error(`bad mark value ${tok}`);
  return n >>> 0;
}

/** The statements of one rule (its tokens as nft-script's tokenizer makes them). */
export function parseRule(tokens: readonly Token[]): Statement[] {
  const r = new RuleReader(tokens);
  const out: Statement[] = [];
  while (r.peek() !== undefined) {
    const tok = r.peek()!;
    // Actions first: `mark set ...` must not be read as a `mark` selector.
    if (
      (tok === 'meta' && r.peek(1) === 'mark' && r.peek(2) === 'set') ||
      (tok === 'mark' && r.peek(1) === 'set')
    ) {
      r.i += tok === 'meta' ? 3 : 2;
      // `meta mark set meta mark | 0x4000` (as listed) or `mark set mark or 0x4000` (as written).
      if (r.peek() === 'meta') r.next();
      if (r.peek() === 'mark') {
        r.next();
        const op = r.next();
        const ops: Record<string, 'or' | 'xor' | 'and'> = {
          '|': 'or',
          or: 'or',
          '^': 'xor',
          xor: 'xor',
          '&': 'and',
          and: 'and',
        };
        if (!ops[op]) throw new Error(`unsupported mark operation ${op}`);
        out.push({ kind: 'mark', op: ops[op], value: markValue(r.next()) });
      } else out.push({ kind: 'mark', op: 'set', value: markValue(r.next()) });
      continue;
    }
    if (['accept', 'drop', 'reject', 'return'].includes(tok)) {
      r.next();
      if (tok === 'reject' && r.peek() === 'with') r.i += 3;
      out.push({ kind: 'verdict', verdict: parseVerdict([tok]) });
      continue;
    }
    if (tok === 'jump' || tok === 'goto') {
      r.next();
      out.push({ kind: 'verdict', verdict: parseVerdict([tok, r.next()]) });
      continue;
    }
    if (tok === 'counter') {
      r.next();
      if (r.peek() === 'packets') r.i += 4;
      out.push({ kind: 'counter' });
      continue;
    }
    if (tok === 'comment') {
      r.next();
      out.push({ kind: 'comment', text: r.next().replace(/^"|"$/g, '') });
      continue;
    }
    if (tok === 'masquerade') {
      r.next();
      while (r.peek() === 'fully-random' || r.peek() === 'random' || r.peek() === 'persistent') r.next();
      out.push({ kind: 'masquerade' });
      continue;
    }
    if (tok === 'dnat') {
      r.next();
      if (r.peek() === 'ip') r.next();
      if (r.next() !== 'to') throw new Error(`unsupported dnat: ${tokens.join(' ')}`);
      const [address, port] = r.next().split(':');
      out.push({ kind: 'dnat', address, ...(port !== undefined ? { port: Number(port) } : {}) });
      continue;
    }
    if (tok === 'update' || tok === 'add') {
      r.next();
      const set = r.next();
      if (!set.startsWith('@')) throw new Error(`unsupported set update: ${tokens.join(' ')}`);
      const item = r.braced()[0] ?? [];
      const sub = new RuleReader(item);
      const key: Selector[] = [];
      for (let s = sub.selector(); s; s = sub.selector()) key.push(s.sel);
      out.push({ kind: 'update', set: set.slice(1), key });
      continue;
    }
    // A match or a verdict map: selectors joined by '.'.
    const key: Selector[] = [];
    let proto: string | undefined;
    for (;;) {
      const s = r.selector();
      if (!s) throw new Error(`unsupported expression at "${r.t.slice(r.i).join(' ')}"`);
      key.push(s.sel);
      proto ??= s.proto;
      if (r.peek() !== '.') break;
      r.next();
    }
    let mask: number | undefined;
    if (r.peek() === '&' || r.peek() === 'and') {
      r.next();
      mask = markValue(r.next());
    }
    if (r.peek() === 'vmap') {
      r.next();
      if (r.peek() === '{') {
        const inline = new Map<string, Verdict>();
        for (const item of r.braced()) {
          const colon = item.indexOf(':');
          inline.set(item.slice(0, colon).join(' '), parseVerdict(item.slice(colon + 1)));
        }
        out.push({ kind: 'vmap', key, map: { inline } });
      } else out.push({ kind: 'vmap', key, map: { named: r.next().replace(/^@/, '') } });
      continue;
    }
    let negate = false;
    if (r.peek() === '!=') {
      r.next();
      negate = true;
    } else if (r.peek() === '==') r.next();
    if (r.peek() === '{') {
      out.push({
        kind: 'match',
        key,
        proto,
        mask,
        negate,
        value: { anonymous: r.braced().map((i) => i.join(' ')) },
      });
      continue;
    }
    const v = r.next();
    out.push({
      kind: 'match',
      key,
      proto,
      mask,
      negate,
      value: v.startsWith('@') ? { set: v.slice(1) } : { literal: v },
    });
  }
  return out;
}
