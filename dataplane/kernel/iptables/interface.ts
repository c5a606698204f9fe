/**
 * The iptables facility a proxier programs a node namespace through: whole-payload restores (one
 * transaction per `*table` block, as iptables-restore commits them), saves, and the few helpers
 * a proxier needs around them (jumps from built-in chains, listing and deleting its chains).
 * The real one is createIptables (iptables.ts, iptables-restore inside the namespace); the
 * stateful fake is FakeIptables (../testing/fake-iptables.ts). Every call names a kdp namespace.
 */
import type { IptablesBackend, IptablesTable, JumpRule, MissingRule, RestoreOptions } from './types.ts';

/** `-A CHAIN ...` lines per table. */
export type RulesByTable = Readonly<Partial<Record<IptablesTable, readonly string[]>>>;

export interface Iptables {
  /** Only namespaces starting with this are touched (the kernel layer's host guard). */
  readonly prefix: string;
  readonly backend: IptablesBackend;
  /**
   * Feeds `payload` to iptables-restore on stdin in one process. Each `*table` block commits on
   * its own: a refused block changes nothing in its table, and the error (KDP_ERR_KERNEL_REJECTED)
   * names the blamed line and the tables committed before it (`details.committedTables`).
   */
  restore(ns: string, payload: string, options?: RestoreOptions): Promise<void>;
  /**
   * Checks that each rule (`-A CHAIN ...` lines, per table) exists, writing nothing: one
   * iptables-restore --noflush of `-C` lines, so one process however many tables and rules, and
   * with nft it reads only the chains named. Resolves the first rule found missing (or whose
   * chain or jump target is gone), or undefined when all are there; a tool failure throws.
   */
  checkRules(ns: string, rules: RulesByTable): Promise<MissingRule | undefined>;
  /** iptables-save text of one table, or of every table that exists when `table` is omitted. */
  save(ns: string, table?: IptablesTable): Promise<string>;
  /** Chain names of a table (built-in chains first, then user chains sorted), optionally by prefix. */
  listChains(ns: string, table: IptablesTable, prefix?: string): Promise<string[]>;
  /**
   * Makes sure each jump exists: creates a missing target chain (empty), adds a missing rule.
   * Reads each table once and writes everything missing in one restore; returns how many chains
   * and rules it added (0 when all were there).
   */
  ensureJumps(ns: string, jumps: readonly JumpRule[]): Promise<number>;
  /** Removes those of the jump rules that exist (the chains stay); returns how many. */
  deleteJumps(ns: string, jumps: readonly JumpRule[]): Promise<number>;
  /**
   * Flushes and deletes those of `chains` that exist, in one transaction; refused (nothing
   * changes) if a chain outside the list still jumps to one of them. Returns how many it deleted.
   */
  deleteChains(ns: string, table: IptablesTable, chains: readonly string[]): Promise<number>;
}
