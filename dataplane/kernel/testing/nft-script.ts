/**
 * Reads nft scripts for FakeNftables: the flat commands the nftables proxy mode writes
 * (`add chain ip kube-proxy X { type nat hook prerouting priority -100 ; }`, `add rule ...`,
 * `add element ... { k : v, ... }`, `delete ...`, `flush ...`) and the block form `nft list table`
 * prints (`table ip kube-proxy { chain X { type ...; policy accept; rules } set S { ... } }`), so
 * a real kernel's table can be loaded into the fake and traced. Only the subset kdp writes is
 * understood; anything else is an error, never silently skipped.
 */

export type Token = string;

/** Words, quoted strings (kept with their quotes), `{ } , ; :` and '\n' as tokens. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      out.push('\n');
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new Error('unterminated string');
      out.push(text.slice(i, end + 1));
      i = end + 1;
    } else if ('{},;'.includes(c)) {
      out.push(c);
      i++;
    } else {
      let j = i;
      while (j < text.length && !' \t\r\n{},;"'.includes(text[j])) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

export interface ChainSpec {
  type?: string;
  hook?: string;
  priority?: number;
  policy?: 'accept' | 'drop';
  comment?: string;
}

export interface SetSpec {
  map: boolean;
  type?: string;
  flags?: string[];
  timeout?: string;
  comment?: string;
  elements?: Element[];
}

/** A set element (`key`) or map element (`key : value`), each normalised to single spaces. */
export interface Element {
  key: string;
  value?: string;
}

export type Command =
  | { op: 'add' | 'delete' | 'flush'; what: 'table'; family: string; table: string; comment?: string }
  | {
      op: 'add' | 'delete' | 'flush';
      what: 'chain';
      family: string;
      table: string;
      name: string;
      spec?: ChainSpec;
    }
  | { op: 'add'; what: 'rule'; family: string; table: string; chain: string; rule: Token[] }
  | {
      op: 'add' | 'delete' | 'flush';
      what: 'set';
      family: string;
      table: string;
      name: string;
      spec?: SetSpec;
    }
  | {
      op: 'add' | 'delete';
      what: 'element';
      family: string;
      table: string;
      name: string;
      elements: Element[];
    };

const PRIORITY_NAMES: Readonly<Record<string, number>> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

/** `-110`, `dstnat`, `dstnat - 10`, `dstnat + 10` as a number. */
function priorityOf(tokens: Token[]): number {
  const base = PRIORITY_NAMES[tokens[0]] ?? Number(tokens[0]);
  const offset = tokens.length === 3 ? Number(tokens[2]) * (tokens[1] === '-' ? -1 : 1) : 0;
  if (!Number.isFinite(base) || !Number.isFinite(offset)) throw new Error(`bad priority ${tokens.join(' ')}`);
  return base + offset;
}

class Reader {
  i = 0;
  constructor(private readonly t: Token[]) {}
  peek(): Token | undefined {
    return this.t[this.i];
  }
  next(): Token {
    const tok = this.t[this.i++];
    if (tok === undefined) throw new Error('unexpected end of script');
    return tok;
  }
  expect(tok: Token): void {
    const got = this.next();
    if (got !== tok) throw new Error(`expected "${tok}", got "${got}"`);
  }
  skipBreaks(): void {
    while (this.peek() === '\n' || this.peek() === ';') this.i++;
  }
  /** Tokens up to the end of the line (or `;`/`}` at depth 0), braces balanced, newlines inside braces skipped. */
  line(stopAtSemicolon: boolean): Token[] {
    const out: Token[] = [];
    let depth = 0;
    for (;;) {
      const tok = this.peek();
      if (tok === undefined) break;
      if (depth === 0 && (tok === '\n' || (tok === ';' && stopAtSemicolon) || tok === '}')) break;
      this.i++;
      if (tok === '\n') continue;
      if (tok === '{') depth++;
      if (tok === '}') depth--;
      out.push(tok);
    }
    return out;
  }
  /** `{ a, b : c, ... }` (the opening brace next): elements, newlines ignored. */
  elements(): Element[] {
    this.expect('{');
    const out: Element[] = [];
    let cur: Token[] = [];
    const flush = () => {
      if (cur.length === 0) return;
      const colon = cur.indexOf(':');
      out.push(
        colon < 0
          ? { key: cur.join(' ') }
          : { key: cur.slice(0, colon).join(' '), value: cur.slice(colon + 1).join(' ') },
      );
      cur = [];
    };
    for (;;) {
      const tok = this.next();
      if (tok === '}') break;
      if (tok === '\n') continue;
      if (tok === ',') flush();
      else cur.push(tok);
    }
    flush();
    return out;
  }
}

function unquote(tok: Token): string {
  return tok.startsWith('"') ? tok.slice(1, -1) : tok;
}

/** `type nat hook prerouting priority -100 ; policy accept ; comment "x" ;` up to the closing brace. */
function chainProps(r: Reader, rulesTo?: Token[][]): ChainSpec {
  const spec: ChainSpec = {};
  for (;;) {
    r.skipBreaks();
    const tok = r.peek();
    if (tok === '}') {
      r.next();
      return spec;
    }
    const words = r.line(true);
    if (words[0] === 'type') {
      spec.type = words[1];
      spec.hook = words[3];
      spec.priority = priorityOf(words.slice(5));
    } else if (words[0] === 'policy') spec.policy = words[1] as 'accept' | 'drop';
    else if (words[0] === 'comment' && words.length === 2) spec.comment = unquote(words[1]);
    else if (rulesTo) rulesTo.push(words);
    else throw new Error(`unexpected in chain declaration: ${words.join(' ')}`);
  }
}

function setProps(r: Reader, map: boolean): SetSpec {
  const spec: SetSpec = { map };
  for (;;) {
    r.skipBreaks();
    if (r.peek() === '}') {
      r.next();
      return spec;
    }
    const key = r.next();
    if (key === 'elements') {
      r.expect('=');
      spec.elements = r.elements();
      continue;
    }
    const words = r.line(true);
    if (key === 'type') spec.type = words.join(' ');
    else if (key === 'flags') spec.flags = words.join('').split(',');
    else if (key === 'timeout') spec.timeout = words[0];
    else if (key === 'comment') spec.comment = unquote(words[0]);
    else if (key === 'size' || key === 'policy') continue;
    else throw new Error(`unexpected in set declaration: ${key} ${words.join(' ')}`);
  }
}

/** `table F T { ... }`: the commands that build it (the table, its sets and chains, then rules). */
function tableBlock(r: Reader, family: string, table: string, out: Command[]): void {
  r.expect('{');
  const base = { family, table };
  out.push({ op: 'add', what: 'table', ...base });
  const rules: Command[] = [];
  for (;;) {
    r.skipBreaks();
    const kind = r.next();
    if (kind === '}') break;
    if (kind === 'comment') {
      (out.find((c) => c.what === 'table') as { comment?: string }).comment = unquote(r.next());
    } else if (kind === 'chain') {
      const name = r.next();
      r.expect('{');
      const lines: Token[][] = [];
      out.push({ op: 'add', what: 'chain', ...base, name, spec: chainProps(r, lines) });
      for (const rule of lines) rules.push({ op: 'add', what: 'rule', ...base, chain: name, rule });
    } else if (kind === 'set' || kind === 'map') {
      const name = r.next();
      r.expect('{');
      const spec = setProps(r, kind === 'map');
      const { elements, ...decl } = spec;
      out.push({ op: 'add', what: 'set', ...base, name, spec: decl });
      if (elements?.length) rules.push({ op: 'add', what: 'element', ...base, name, elements });
    } else throw new Error(`unexpected "${kind}" in table block`);
  }
  out.push(...rules);
}

/** One script as the commands it holds, in order. Throws on anything outside the subset. */
export function parseScript(script: string): Command[] {
  const r = new Reader(tokenize(script));
  const out: Command[] = [];
  for (;;) {
    r.skipBreaks();
    const first = r.peek();
    if (first === undefined) return out;
    r.next();
    if (first === 'table') {
      const family = r.next();
      tableBlock(r, family, r.next(), out);
      continue;
    }
    const op = first === 'create' ? 'add' : first;
    if (op !== 'add' && op !== 'delete' && op !== 'flush') throw new Error(`unsupported command "${first}"`);
    const what = r.next();
    const family = r.next();
    const table = r.next();
    if (what === 'table') {
      let comment: string | undefined;
      if (r.peek() === '{') {
        r.next();
        const words = r.line(true);
        if (words[0] === 'comment') comment = unquote(words[1]);
        r.skipBreaks();
        r.expect('}');
      }
      out.push({ op, what, family, table, comment });
    } else if (what === 'chain') {
      const name = r.next();
      let spec: ChainSpec | undefined;
      if (r.peek() === '{') {
        r.next();
        spec = chainProps(r);
      }
      out.push({ op, what, family, table, name, spec });
    } else if (what === 'rule') {
      if (op !== 'add') throw new Error(`unsupported command "${op} rule"`);
      out.push({ op, what, family, table, chain: r.next(), rule: r.line(false) });
    } else if (what === 'set' || what === 'map') {
      const name = r.next();
      let spec: SetSpec | undefined;
      if (r.peek() === '{') {
        r.next();
        spec = setProps(r, what === 'map');
      }
      out.push({ op, what: 'set', family, table, name, spec });
    } else if (what === 'element') {
      if (op === 'flush') throw new Error('unsupported command "flush element"');
      out.push({ op, what, family, table, name: r.next(), elements: r.elements() });
    } else throw new Error(`unsupported object "${what}"`);
    const end = r.peek();
    if (end !== undefined && end !== '\n' && end !== ';')
      throw new Error(`unexpected "${end}" after command`);
  }
}
