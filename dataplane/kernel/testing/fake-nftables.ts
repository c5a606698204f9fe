/**
 * A stateful fake of the Nftables facility: per namespace, table kube-proxy of each family as
 * the kernel would hold it after each `apply` (chains with their parsed rules, sets and maps with
 * their elements). A script is one transaction: it is applied to a copy, and the copy replaces
 * the table only when every command succeeded, as the kernel commits a batch. It refuses what the
 * kernel refuses for the subset kdp writes: a rule into a missing chain, a jump or a `@set` that
 * does not exist, an element of a missing set or pointing at a missing chain, deleting a missing
 * object, a chain that still has rules or is still referenced, an element added twice with
 * different values. `traceNft` (nft-tracer.ts) walks what it holds.
 */
import { KdpError } from '../../errors.ts';
import { KERNEL_ERR, kernelError } from '../errors.ts';
import { KDP_NAMESPACE_PREFIX, assertKdpNamespace, assertPrefix } from '../name-checks.ts';
import { assertKubeProxyScript } from '../nftables/guard.ts';
import type { NftFamily, Nftables } from '../nftables/interface.ts';
import { parseRule, parseVerdict, type Statement } from './nft-rule.ts';
import { parseScript, type ChainSpec, type Command, type SetSpec } from './nft-script.ts';

export interface FakeNftRule {
  /** The rule as written, tokens joined by single spaces. */
  text: string;
  statements: Statement[];
}

export interface FakeNftChain {
  name: string;
  spec: ChainSpec;
  rules: FakeNftRule[];
}

export interface FakeNftSet {
  name: string;
  spec: Omit<SetSpec, 'elements'>;
  /** key -> value (undefined for a set), keys and values normalised to single spaces. */
  elements: Map<string, string | undefined>;
}

export interface FakeNftTable {
  family: NftFamily;
  name: string;
  comment?: string;
  chains: Map<string, FakeNftChain>;
  sets: Map<string, FakeNftSet>;
}

function cloneTable(t: FakeNftTable): FakeNftTable {
  return {
    ...t,
    chains: new Map([...t.chains].map(([k, c]) => [k, { ...c, rules: [...c.rules] }])),
    sets: new Map([...t.sets].map(([k, s]) => [k, { ...s, elements: new Map(s.elements) }])),
  };
}

/** Chains and sets a rule refers to. */
function references(rule: FakeNftRule): { chains: string[]; sets: string[] } {
  const chains: string[] = [];
  const sets: string[] = [];
  for (const s of rule.statements) {
    if (s.kind === 'verdict' && (s.verdict.kind === 'jump' || s.verdict.kind === 'goto'))
      chains.push(s.verdict.chain);
    if (s.kind === 'vmap' && 'named' in s.map) sets.push(s.map.named);
    if (s.kind === 'vmap' && 'inline' in s.map)
      for (const v of s.map.inline.values()) if (v.kind === 'jump' || v.kind === 'goto') chains.push(v.chain);
    if (s.kind === 'match' && 'set' in s.value) sets.push(s.value.set);
    if (s.kind === 'update') sets.push(s.set);
  }
  return { chains, sets };
}

function valueChain(value: string | undefined): string | undefined {
  const v = value ? parseVerdict(value.split(' ')) : undefined;
  return v && (v.kind === 'jump' || v.kind === 'goto') ? v.chain : undefined;
}

export class FakeNftables implements Nftables {
  readonly prefix: string;
  /** Scripts applied successfully, oldest first (tests read what a sync wrote). */
  readonly applied: { ns: string; script: string }[] = [];
  private readonly tables = new Map<string, FakeNftTable>();

  constructor(opts: { prefix?: string } = {}) {
    this.prefix = opts.prefix ?? KDP_NAMESPACE_PREFIX;
    assertPrefix(this.prefix);
  }

  private key(ns: string, family: string): string {
    return `${ns}\0${family}`;
  }

  /** The table as it is now (undefined when absent). Treat as read-only. */
  table(ns: string, family: NftFamily = 'ip'): FakeNftTable | undefined {
    return this.tables.get(this.key(ns, family));
  }

  async apply(ns: string, script: string): Promise<void> {
    assertKdpNamespace(ns, this.prefix, 'nft -f -');
    assertKubeProxyScript(script, ns);
    let commands: Command[];
    try {
      commands = parseScript(script);
    } catch (e) {
      throw kernelError(
        KERNEL_ERR.rejected,
        `syntax error: ${(e as Error).message}`,
        { namespace: ns, operation: 'nft -f -' },
        e,
      );
    }
    const work = new Map<string, FakeNftTable | undefined>();
    const get = (family: string) => {
      const k = this.key(ns, family);
      if (!work.has(k)) {
        const t = this.tables.get(k);
        work.set(k, t && cloneTable(t));
      }
      return work.get(k);
    };
    commands.forEach((c, index) => {
      try {
        this.run(c, get(c.family), (t) => work.set(this.key(ns, c.family), t));
      } catch (e) {
        const code = e instanceof KdpError ? e.code : KERNEL_ERR.rejected;
        throw new KdpError(
          KERNEL_ERR.rejected,
          `nft -f - in namespace ${ns}: command ${index + 1} (${c.op} ${c.what}): ${(e as Error).message}`,
          { cause: e, details: { namespace: ns, operation: 'nft -f -', command: index + 1, code } },
        );
      }
    });
    // Every reference in the committed tables must resolve (a deleted chain still jumped to, ...).
    for (const t of work.values()) if (t) this.checkReferences(t);
    for (const [k, t] of work) {
      if (t) this.tables.set(k, t);
      else this.tables.delete(k);
    }
    this.applied.push({ ns, script });
  }

  private checkReferences(t: FakeNftTable): void {
    for (const chain of t.chains.values())
      for (const rule of chain.rules) {
        const refs = references(rule);
        for (const c of refs.chains)
          if (!t.chains.has(c))
            throw kernelError(KERNEL_ERR.rejected, `chain ${c} (used in ${chain.name}) does not exist`, {
              operation: 'nft -f -',
            });
        for (const s of refs.sets)
          if (!t.sets.has(s))
            throw kernelError(KERNEL_ERR.rejected, `set ${s} (used in ${chain.name}) does not exist`, {
              operation: 'nft -f -',
            });
      }
    for (const set of t.sets.values())
      for (const value of set.elements.values()) {
        const c = valueChain(value);
        if (c && !t.chains.has(c))
          throw kernelError(KERNEL_ERR.rejected, `chain ${c} (in map ${set.name}) does not exist`, {
            operation: 'nft -f -',
          });
      }
  }

  private run(c: Command, t: FakeNftTable | undefined, put: (t: FakeNftTable | undefined) => void): void {
    const notFound = (what: string) =>
      new KdpError(KERNEL_ERR.notFound, `${what}: No such file or directory`);
    if (c.what === 'table') {
      if (c.op === 'add')
        put(
          t ?? {
            family: c.family as NftFamily,
            name: c.table,
            comment: c.comment,
            chains: new Map(),
            sets: new Map(),
          },
        );
      else if (!t) throw notFound(`table ${c.family} ${c.table}`);
      else if (c.op === 'delete') put(undefined);
      else for (const chain of t.chains.values()) chain.rules = [];
      return;
    }
    if (!t) throw notFound(`table ${c.family} ${c.table}`);
    switch (c.what) {
      case 'chain': {
        const chain = t.chains.get(c.name);
        if (c.op === 'add') {
          if (!chain) t.chains.set(c.name, { name: c.name, spec: c.spec ?? {}, rules: [] });
        } else if (!chain) throw notFound(`chain ${c.name}`);
        else if (c.op === 'flush') chain.rules = [];
        else {
          if (chain.rules.length > 0)
            throw new KdpError(
              KERNEL_ERR.rejected,
              `chain ${c.name}: Device or resource busy (it has rules)`,
            );
          for (const other of t.chains.values())
            for (const rule of other.rules)
              if (references(rule).chains.includes(c.name))
                throw new KdpError(
                  KERNEL_ERR.rejected,
                  `chain ${c.name}: Device or resource busy (${other.name} jumps to it)`,
                );
          for (const set of t.sets.values())
            for (const v of set.elements.values())
              if (valueChain(v) === c.name)
                throw new KdpError(
                  KERNEL_ERR.rejected,
                  `chain ${c.name}: Device or resource busy (in map ${set.name})`,
                );
          t.chains.delete(c.name);
        }
        return;
      }
      case 'rule': {
        const chain = t.chains.get(c.chain);
        if (!chain) throw notFound(`chain ${c.chain}`);
        chain.rules.push({ text: c.rule.join(' '), statements: parseRule(c.rule) });
        return;
      }
      case 'set': {
        const set = t.sets.get(c.name);
        if (c.op === 'add') {
          if (!set) t.sets.set(c.name, { name: c.name, spec: c.spec ?? { map: false }, elements: new Map() });
        } else if (!set) throw notFound(`set ${c.name}`);
        else if (c.op === 'flush') set.elements.clear();
        else t.sets.delete(c.name);
        return;
      }
      case 'element': {
        const set = t.sets.get(c.name);
        if (!set) throw notFound(`set ${c.name}`);
        for (const e of c.elements) {
          if (c.op === 'delete') {
            if (!set.elements.has(e.key)) throw notFound(`element ${e.key} of ${c.name}`);
            set.elements.delete(e.key);
          } else {
            if (set.spec.map && e.value === undefined)
              throw new KdpError(KERNEL_ERR.invalid, `map ${c.name} needs a value for ${e.key}`);
            if (set.elements.has(e.key) && set.elements.get(e.key) !== e.value)
              throw new KdpError(KERNEL_ERR.exists, `element ${e.key} of ${c.name}: File exists`);
            set.elements.set(e.key, e.value);
          }
        }
        return;
      }
    }
  }

  async listTable(ns: string, family: NftFamily): Promise<string | undefined> {
    assertKdpNamespace(ns, this.prefix, 'nft list table');
    const t = this.table(ns, family);
    return t && formatTable(t);
  }

  async deleteTable(ns: string, family: NftFamily): Promise<boolean> {
    assertKdpNamespace(ns, this.prefix, 'nft delete table');
    return this.tables.delete(this.key(ns, family));
  }
}

/** The table in block form (loadable by `apply`): sets, then chains, as nft lists them. */
export function formatTable(t: FakeNftTable): string {
  const lines = [`table ${t.family} ${t.name} {`];
  if (t.comment) lines.push(`\tcomment "${t.comment}"`);
  for (const s of t.sets.values()) {
    lines.push(`\t${s.spec.map ? 'map' : 'set'} ${s.name} {`, `\t\ttype ${s.spec.type}`);
    if (s.spec.flags) lines.push(`\t\tflags ${s.spec.flags.join(',')}`);
    if (s.spec.timeout) lines.push(`\t\ttimeout ${s.spec.timeout}`);
    if (s.spec.comment) lines.push(`\t\tcomment "${s.spec.comment}"`);
    if (s.elements.size > 0) {
      const items = [...s.elements].map(([k, v]) => (v === undefined ? k : `${k} : ${v}`));
      lines.push(`\t\telements = { ${items.join(',\n\t\t\t     ')} }`);
    }
    lines.push('\t}', '');
  }
  for (const c of t.chains.values()) {
    lines.push(`\tchain ${c.name} {`);
    if (c.spec.type)
      lines.push(
        `\t\ttype ${c.spec.type} hook ${c.spec.hook} priority ${c.spec.priority}; policy ${c.spec.policy ?? 'accept'};`,
      );
    if (c.spec.comment) lines.push(`\t\tcomment "${c.spec.comment}"`);
    for (const r of c.rules) lines.push(`\t\t${r.text}`);
    lines.push('\t}', '');
  }
  if (lines[lines.length - 1] === '') lines.pop();
  lines.push('}');
  return lines.join('\n') + '\n';
}
