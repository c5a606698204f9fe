/**
 * One iptables table as the fake holds it, and the transaction that one `*table ... COMMIT`
 * block of a restore runs in. The rules are what iptables-restore and the kernel enforce (each
 * checked against iptables 1.8.9 on both backends; see test/integration/kernel/iptables-*.ts):
 * without --noflush the block starts from an empty table (rules and user chains gone, built-in
 * policies kept); with --noflush a declared user chain is emptied and a declared built-in chain
 * is left alone; a rule needs an existing chain and jump target; -X needs an existing, empty,
 * unreferenced user chain; -C needs the rule and its jump target to exist; NAT and REJECT targets
 * only in their table and in chains reachable from their hooks; no loop reachable from a built-in chain (fake-iptables-reach.ts). Anything
 * refused throws RejectedLine, and rollback() leaves the table as it was.
 */
import { assertChainName } from '../iptables/rule-parse.ts';
import { IptablesRuleError } from '../iptables/rule-values.ts';
import type { ChainDeclaration, RestoreCommand } from '../iptables/restore-format.ts';
import {
  BUILTIN_CHAINS,
  type ChainPolicy,
  type IptablesRule,
  type IptablesTable,
} from '../iptables/types.ts';
import { findViolation, isHookRestricted } from './fake-iptables-reach.ts';

export interface FakeChain {
  name: string;
  builtin: boolean;
  policy?: ChainPolicy;
  rules: IptablesRule[];
}

/** A refusal, with the payload line it is blamed on. */
export class RejectedLine extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'RejectedLine';
  }
}

const TARGET_TABLE: Readonly<Record<string, IptablesTable>> = {
  DNAT: 'nat',
  REDIRECT: 'nat',
  SNAT: 'nat',
  MASQUERADE: 'nat',
  REJECT: 'filter',
};

/** A table; transactions change it in place and undo on refusal. */
export class FakeTable {
  readonly chains = new Map<string, FakeChain>();
  /** referrers.get(target).get(chain): how many rules of `chain` jump to `target`. */
  readonly referrers = new Map<string, Map<string, number>>();

  constructor(readonly name: IptablesTable) {}

  /** A table with only its built-in chains, with `policies` (default ACCEPT). */
  static empty(name: IptablesTable, policies?: FakeTable): FakeTable {
    const t = new FakeTable(name);
    for (const c of BUILTIN_CHAINS[name])
      t.chains.set(c, {
        name: c,
        builtin: true,
        policy: policies?.chains.get(c)?.policy ?? 'ACCEPT',
        rules: [],
      });
    return t;
  }

  /** Built-in chains in iptables' order, then user chains sorted, as iptables-save lists them. */
  orderedChains(): FakeChain[] {
    const builtins = BUILTIN_CHAINS[this.name].map((c) => this.chains.get(c)!);
    const user = [...this.chains.values()]
      .filter((c) => !c.builtin)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return [...builtins, ...user];
  }

  /** iptables-save text of this table (counters are always zero here). */
  save(): string {
    const chains = this.orderedChains();
    const lines = [`*${this.name}`];
    for (const c of chains) lines.push(`:${c.name} ${c.builtin ? c.policy : '-'} [0:0]`);
    for (const c of chains)
      for (const r of c.rules) lines.push(r.text ? `-A ${c.name} ${r.text}` : `-A ${c.name}`);
    lines.push('COMMIT');
    return lines.join('\n') + '\n';
  }
}

/**
 * One `*table ... COMMIT` block. Without --noflush it fills a fresh table that replaces the old
 * one on commit; with --noflush it changes the table in place, logging how to undo each change.
 */
export class TableTransaction {
  readonly state: FakeTable;
  /** Undo steps, newest last; undefined for a fresh table (dropping it undoes everything). */
  private readonly undo?: (() => void)[];
  /** Chains whose rule array this transaction already replaced (or created), so it may splice it. */
  private readonly owned = new Set<string>();
  /** Jump targets whose referrer counts this transaction saved for undo. */
  private readonly savedReferrers = new Set<string>();
  /** Rules this transaction added that are still in place, with their chain and payload line. */
  private readonly added = new Map<IptablesRule, { chain: string; line: number }>();
  private checkHooks = false;

  constructor(
    readonly table: IptablesTable,
    base: FakeTable,
    flush: boolean,
  ) {
    this.state = flush ? FakeTable.empty(table, base) : base;
    if (!flush) this.undo = [];
  }

  private fail(message: string): never {
    throw new IptablesRuleError(message);
  }

  private existing(name: string): FakeChain {
    return this.state.chains.get(name) ?? this.fail(`Chain '${name}' does not exist`);
  }

  /** The chain, with a rule array of its own to change (the old one kept for undo). */
  private writable(name: string, copy = true): FakeChain {
    const chain = this.existing(name);
    if (this.owned.has(name) || !this.undo) return chain;
    const old = chain.rules;
    this.undo.push(() => (chain.rules = old));
    chain.rules = copy ? [...old] : [];
    this.owned.add(name);
    return chain;
  }

  private ref(chain: string, rule: IptablesRule, delta: number): void {
    if (rule.target?.kind !== 'chain') return;
    const target = rule.target.chain;
    const refs = this.state.referrers;
    if (this.undo && !this.savedReferrers.has(target)) {
      const before = refs.get(target);
      const copy = before && new Map(before);
      this.undo.push(() => (copy ? refs.set(target, copy) : refs.delete(target)));
      this.savedReferrers.add(target);
    }
    const from = refs.get(target) ?? new Map<string, number>();
    const n = (from.get(chain) ?? 0) + delta;
    if (n === 0) from.delete(chain);
    else from.set(chain, n);
    if (from.size) refs.set(target, from);
    else refs.delete(target);
  }

  private emptyChain(name: string): void {
    const chain = this.existing(name);
    for (const r of chain.rules) {
      this.ref(name, r, -1);
      this.added.delete(r);
    }
    if (this.owned.has(name) || !this.undo) chain.rules = [];
    else this.writable(name, false);
  }

  private createChain(name: string): void {
    assertChainName(name);
    this.state.chains.set(name, { name, builtin: false, rules: [] });
    this.undo?.push(() => this.state.chains.delete(name));
    this.owned.add(name);
  }

  /** What iptables and the kernel check when a rule enters a chain of this table. */
  private checkRule(chain: FakeChain, rule: IptablesRule): void {
    if (chain.builtin && rule.inInterface && (chain.name === 'OUTPUT' || chain.name === 'POSTROUTING'))
      this.fail(`Can't use -i with ${chain.name}`);
    if (chain.builtin && rule.outInterface && (chain.name === 'PREROUTING' || chain.name === 'INPUT'))
      this.fail(`Can't use -o with ${chain.name}`);
    const t = rule.target;
    if (!t) return;
    if (t.kind === 'DROP' && this.table === 'nat')
      this.fail('The "nat" table is not intended for filtering, the use of DROP is therefore inhibited.');
    const only = TARGET_TABLE[t.kind];
    if (only && only !== this.table) this.fail(`${t.kind} is only valid in the ${only} table`);
    if (t.kind === 'chain') {
      const target = this.state.chains.get(t.chain);
      if (!target) this.fail(`Chain '${t.chain}' does not exist`);
      if (target.builtin) this.fail(`cannot jump to the built-in chain ${t.chain}`);
    }
    if (t.kind === 'chain' || isHookRestricted(rule)) this.checkHooks = true;
  }

  private insert(chainName: string, index: number, rule: IptablesRule, line: number): void {
    const chain = this.existing(chainName);
    this.checkRule(chain, rule);
    if (index < 0 || index > chain.rules.length) this.fail(`Index of insertion too big`);
    const rules = this.writable(chainName).rules;
    if (index === rules.length) rules.push(rule);
    else rules.splice(index, 0, rule);
    this.ref(chainName, rule, 1);
    this.added.set(rule, { chain: chainName, line });
  }

  private removeAt(chainName: string, index: number): void {
    const chain = this.existing(chainName);
    if (index < 0 || index >= chain.rules.length) this.fail('Index of deletion too big');
    const rules = this.writable(chainName).rules;
    this.ref(chainName, rules[index], -1);
    this.added.delete(rules[index]);
    rules.splice(index, 1);
  }

  private deleteChain(name: string): void {
    const chain = this.existing(name);
    if (chain.builtin) this.fail(`Can't delete built-in chain ${name}`);
    if (this.state.referrers.has(name))
      this.fail(`Can't delete chain ${name}: Too many links (still referenced)`);
    if (chain.rules.length) this.fail(`Can't delete chain ${name}: Directory not empty`);
    this.state.chains.delete(name);
    this.owned.delete(name);
    this.undo?.push(() => this.state.chains.set(name, chain));
  }

  private setPolicy(name: string, policy: string): void {
    const chain = this.existing(name);
    if (!chain.builtin) this.fail(`Can't set policy \`${policy}' on \`${name}': Bad built-in chain name`);
    if (policy !== 'ACCEPT' && policy !== 'DROP') this.fail(`Bad policy name \`${policy}'`);
    const old = chain.policy;
    this.undo?.push(() => (chain.policy = old));
    chain.policy = policy;
  }

  /** `:NAME POLICY`: under --noflush a user chain is emptied, a built-in one keeps its rules. */
  declare(d: ChainDeclaration): void {
    const chain = this.state.chains.get(d.chain);
    if (chain?.builtin) {
      if (d.policy !== '-') this.setPolicy(d.chain, d.policy);
      return;
    }
    if (d.policy !== '-')
      this.fail(`Can't set policy \`${d.policy}' on \`${d.chain}': Bad built-in chain name`);
    if (chain) this.emptyChain(d.chain);
    else this.createChain(d.chain);
  }

  apply(cmd: RestoreCommand, line: number): void {
    switch (cmd.kind) {
      case 'append':
        return this.insert(cmd.chain, this.existing(cmd.chain).rules.length, cmd.rule, line);
      case 'insert':
        return this.insert(cmd.chain, cmd.position - 1, cmd.rule, line);
      case 'replace':
        this.removeAt(cmd.chain, cmd.position - 1);
        return this.insert(cmd.chain, cmd.position - 1, cmd.rule, line);
      case 'delete': {
        const index = this.existing(cmd.chain).rules.findIndex((r) => r.text === cmd.rule.text);
        if (index < 0) this.fail('Bad rule (does a matching rule exist in that chain?)');
        return this.removeAt(cmd.chain, index);
      }
      case 'check': {
        // The kernel resolves the jump target first: a missing chain is its own error.
        const t = cmd.rule.target;
        if (t?.kind === 'chain' && !this.state.chains.has(t.chain))
          this.fail(`Couldn't load target \`${t.chain}':No such file or directory`);
        if (!this.existing(cmd.chain).rules.some((r) => r.text === cmd.rule.text))
          this.fail('Bad rule (does a matching rule exist in that chain?)');
        return;
      }
      case 'delete-at':
        return this.removeAt(cmd.chain, cmd.position - 1);
      case 'flush':
        if (cmd.chain !== undefined) return this.emptyChain(cmd.chain);
        for (const name of [...this.state.chains.keys()]) this.emptyChain(name);
        return;
      case 'delete-chain': {
        if (cmd.chain !== undefined) return this.deleteChain(cmd.chain);
        const user = [...this.state.chains.values()].filter((c) => !c.builtin);
        for (const c of user)
          if (c.rules.length) this.fail(`Can't delete chain ${c.name}: Directory not empty`);
        for (const c of user)
          if (this.state.referrers.has(c.name)) this.fail(`Can't delete chain ${c.name}: Too many links`);
        for (const c of user) this.deleteChain(c.name);
        return;
      }
      case 'new-chain':
        if (this.state.chains.has(cmd.chain)) this.fail('Chain already exists');
        return this.createChain(cmd.chain);
      case 'policy':
        return this.setPolicy(cmd.chain, cmd.policy);
    }
  }

  /** The kernel's commit-time checks; the committed table, or RejectedLine. */
  commit(commitLine: number): FakeTable {
    const violation = this.checkHooks
      ? findViolation({
          table: this.table,
          chains: this.state.chains,
          referrers: this.state.referrers,
          added: this.added,
        })
      : undefined;
    if (violation) throw new RejectedLine(violation.message, violation.line || commitLine);
    return this.state;
  }

  /** Puts the table back as it was before the block (a fresh table is simply dropped). */
  rollback(): void {
    if (!this.undo) return;
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]();
    this.undo.length = 0;
  }
}
