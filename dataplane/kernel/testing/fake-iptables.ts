/**
 * FakeIptables: the Iptables interface over parsed, per-namespace tables, for unit tests of
 * proxiers without root. A restore runs through the same format and rule parser as a real
 * payload and the same checks the kernel makes (fake-iptables-table.ts), block by block as
 * iptables-restore commits them, and a refusal is the same KDP_ERR_KERNEL_REJECTED error naming
 * the same line. It counts restores and bytes, keeps the last payload, prints iptables-save text
 * the kernel's own save can be compared with, and hands the parsed rules to the packet tracer
 * (ruleset). With `kernel`, a namespace must exist in that FakeKernel, and a namespace deleted
 * and made again starts with empty tables, as in the kernel.
 */
import { restoreRejected } from '../iptables/errors.ts';
import { IPTABLES_BINARIES } from '../iptables/iptables.ts';
import { checkRules } from '../iptables/check-rules.ts';
import type { Iptables, RulesByTable } from '../iptables/interface.ts';
import { deleteChains, deleteJumps, ensureJumps, type JumpIo } from '../iptables/jumps.ts';
import { isTableName, parseChainDeclaration, parseRestoreCommand } from '../iptables/restore-format.ts';
import { IptablesRuleError } from '../iptables/rule-values.ts';
import {
  IPTABLES_TABLES,
  type IptablesBackend,
  type IptablesRuleset,
  type IptablesTable,
  type JumpRule,
  type MissingRule,
  type RestoreOptions,
} from '../iptables/types.ts';
import { KDP_NAMESPACE_PREFIX, assertPrefix } from '../name-checks.ts';
import type { FakeKernel } from './fake-kernel.ts';
import { checkFakeNamespace } from './fake-namespace.ts';
import { FakeTable, RejectedLine, TableTransaction } from './fake-iptables-table.ts';

export interface FakeIptablesOptions {
  prefix?: string;
  /** Only names the tools in messages; both backends behave alike here. */
  backend?: IptablesBackend;
  /** When given, namespaces must exist in it (as /run/netns must for nsenter). */
  kernel?: FakeKernel;
}

type Tables = Map<IptablesTable, FakeTable>;

/** Runs a payload against `tables`, committing each block as its COMMIT line is reached. */
function restoreInto(tables: Tables, payload: string, options: RestoreOptions): void {
  const lines = payload.split('\n');
  let txn: TableTransaction | undefined;
  let n = 0;
  for (const raw of lines) {
    n++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '' || text.startsWith('#')) continue;
    try {
      if (text.startsWith('*')) {
        if (txn) throw new IptablesRuleError('COMMIT expected before a new table');
        const name = text.slice(1).trim();
        if (!isTableName(name)) throw new IptablesRuleError(`table name '${name}' invalid`);
        txn = new TableTransaction(name, tables.get(name) ?? FakeTable.empty(name), !options.noflush);
      } else if (!txn) {
        throw new IptablesRuleError('no table opened with *table before this line');
      } else if (/^COMMIT\s*$/.test(text)) {
        tables.set(txn.table, txn.commit(n));
        txn = undefined;
      } else if (text.startsWith(':')) {
        txn.declare(parseChainDeclaration(text));
      } else {
        txn.apply(parseRestoreCommand(text, options.counters ?? false), n);
      }
    } catch (e) {
      txn?.rollback();
      if (e instanceof IptablesRuleError) throw new RejectedLine(e.message, n);
      throw e;
    }
  }
  if (txn) {
    txn.rollback();
    throw new RejectedLine('COMMIT expected', lines[lines.length - 1] === '' ? n : n + 1);
  }
}

export class FakeIptables implements Iptables {
  readonly prefix: string;
  readonly backend: IptablesBackend;
  /** Calls per method: 'restore', 'save', 'ensureJumps', ... */
  readonly calls = new Map<string, number>();
  /** restore() calls (not the helpers' internal ones), refused ones included. */
  restores = 0;
  /** Bytes of payload passed to restore(). */
  restoredBytes = 0;
  /** restore() calls that were refused. */
  rejectedRestores = 0;
  lastRestore?: { ns: string; payload: string; options: RestoreOptions };

  private readonly namespaces = new Map<string, { owner?: object; tables: Tables }>();
  private readonly io: JumpIo;

  constructor(private readonly options: FakeIptablesOptions = {}) {
    this.prefix = options.prefix ?? KDP_NAMESPACE_PREFIX;
    assertPrefix(this.prefix);
    this.backend = options.backend ?? 'nft';
    this.io = {
      readChains: async (ns, table, chains) => {
        const t = this.tablesOf(ns, 'iptables -S').get(table) ?? FakeTable.empty(table);
        const found = new Map<string, string[]>();
        for (const q of chains) {
          const chain = t.chains.get(q.name);
          if (chain)
            found.set(q.name, q.rules ? chain.rules.map((r) => `-A ${q.name} ${r.text}`.trimEnd()) : []);
        }
        return found;
      },
      restore: async (ns, payload, opts) => this.restoreNow(ns, payload, opts),
    };
  }

  callCount(name: string): number {
    return this.calls.get(name) ?? 0;
  }

  resetCounts(): void {
    this.calls.clear();
    this.restores = 0;
    this.restoredBytes = 0;
    this.rejectedRestores = 0;
    this.lastRestore = undefined;
  }

  private count(name: string): void {
    this.calls.set(name, this.callCount(name) + 1);
  }

  private tablesOf(ns: string, operation: string): Tables {
    const owner = checkFakeNamespace(ns, operation, {
      prefix: this.prefix,
      namespaces: this.options.kernel?.state.namespaces,
      tool: 'nsenter',
    });
    let entry = this.namespaces.get(ns);
    if (!entry || entry.owner !== owner) {
      entry = { owner, tables: new Map() };
      this.namespaces.set(ns, entry);
    }
    return entry.tables;
  }

  private restoreNow(ns: string, payload: string, options: RestoreOptions): void {
    const flags = [...(options.noflush ? ['--noflush'] : []), ...(options.counters ? ['--counters'] : [])];
    const operation = [IPTABLES_BINARIES[this.backend].restore, ...flags].join(' ');
    const tables = this.tablesOf(ns, operation);
    try {
      restoreInto(tables, payload, options);
    } catch (e) {
      if (!(e instanceof RejectedLine)) throw e;
      throw restoreRejected({ namespace: ns, operation, payload, line: e.line, reason: e.message });
    }
  }

  private saveNow(ns: string, table?: IptablesTable): string {
    const tables = this.tablesOf(ns, `${IPTABLES_BINARIES[this.backend].save}${table ? ` -t ${table}` : ''}`);
    if (table) return (tables.get(table) ?? FakeTable.empty(table)).save();
    return IPTABLES_TABLES.filter((t) => tables.has(t))
      .map((t) => tables.get(t)!.save())
      .join('');
  }

  async restore(ns: string, payload: string, options: RestoreOptions = {}): Promise<void> {
    this.count('restore');
    this.restores++;
    this.restoredBytes += Buffer.byteLength(payload);
    this.lastRestore = { ns, payload, options };
    try {
      this.restoreNow(ns, payload, options);
    } catch (e) {
      this.rejectedRestores++;
      throw e;
    }
  }

  /** Not counted as a restore: it writes nothing. */
  checkRules(ns: string, rules: RulesByTable): Promise<MissingRule | undefined> {
    this.count('checkRules');
    return checkRules(rules, async (payload) => this.restoreNow(ns, payload, { noflush: true }));
  }

  async save(ns: string, table?: IptablesTable): Promise<string> {
    this.count('save');
    return this.saveNow(ns, table);
  }

  async listChains(ns: string, table: IptablesTable, prefix = ''): Promise<string[]> {
    this.count('listChains');
    const t = this.tablesOf(ns, 'iptables-save').get(table) ?? FakeTable.empty(table);
    return t
      .orderedChains()
      .map((c) => c.name)
      .filter((c) => c.startsWith(prefix));
  }

  ensureJumps(ns: string, jumps: readonly JumpRule[]): Promise<number> {
    this.count('ensureJumps');
    return ensureJumps(this.io, ns, jumps);
  }

  deleteJumps(ns: string, jumps: readonly JumpRule[]): Promise<number> {
    this.count('deleteJumps');
    return deleteJumps(this.io, ns, jumps);
  }

  deleteChains(ns: string, table: IptablesTable, chains: readonly string[]): Promise<number> {
    this.count('deleteChains');
    return deleteChains(this.io, ns, table, chains);
  }

  /**
   * One `iptables -t TABLE COMMAND ...` as someone else runs it in the namespace (`-F`, `-X`, `-D`,
   * `-A`, ...), applied as the kernel would (a refused command changes nothing and throws
   * KDP_ERR_KERNEL_REJECTED): how tests damage a proxier's rules from outside. Not counted.
   */
  command(ns: string, table: IptablesTable, line: string): void {
    this.restoreNow(ns, `*${table}\n${line}\nCOMMIT\n`, { noflush: true });
  }

  /** The parsed chains of every table that exists in `ns`, for the packet tracer (a live view). */
  ruleset(ns: string): IptablesRuleset {
    return new Map([...this.tablesOf(ns, 'iptables-save')].map(([name, t]) => [name, t.chains]));
  }

  /** Rules in one table, or in all of them. */
  ruleCount(ns: string, table?: IptablesTable): number {
    let n = 0;
    for (const [name, t] of this.tablesOf(ns, 'iptables-save'))
      if (table === undefined || table === name) for (const c of t.chains.values()) n += c.rules.length;
    return n;
  }
}
