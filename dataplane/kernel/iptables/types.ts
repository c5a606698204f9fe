/**
 * The shapes the iptables facility speaks: tables and their built-in chains, restore options,
 * the jump rules a proxier hangs off built-in chains, and a parsed rule (matches and target) as
 * iptables-save would print it. The real implementation only needs the first few; the parsed
 * rule is what the fake stores and the packet tracer walks, and what makes the fake's save output
 * comparable with the kernel's.
 */

export const IPTABLES_TABLES = ['filter', 'nat', 'mangle', 'raw'] as const;
export type IptablesTable = (typeof IPTABLES_TABLES)[number];

/** Built-in chains per table, in the order iptables-save lists them. */
export const BUILTIN_CHAINS: Readonly<Record<IptablesTable, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** nft: iptables-nft-restore (the default, as on Debian 12); legacy: iptables-legacy-restore. */
export type IptablesBackend = 'nft' | 'legacy';

export interface RestoreOptions {
  /** --noflush: only the chains the payload declares are flushed; other chains and rules stay. */
  noflush?: boolean;
  /** --counters: rule lines may carry `[packets:bytes]` and chain counters are restored. */
  counters?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** What checkRules found missing. */
export interface MissingRule {
  table: IptablesTable;
  /** The `-A` line checked, when the tool's message says which (it may blame only the table). */
  rule?: string;
  /** The refusal's message (the tool's words: no such rule, no such chain or target). */
  reason: string;
}

/** A rule in a built-in chain that sends traffic into a proxier's own chain. */
export interface JumpRule {
  table: IptablesTable;
  /** The built-in chain the rule sits in: PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING. */
  from: string;
  /** The chain jumped to; created empty when missing. */
  to: string;
  /** Match arguments before the comment, e.g. ['-m', 'conntrack', '--ctstate', 'NEW']. */
  match?: readonly string[];
  comment?: string;
  /** Append (default) or insert as the first rule of `from`, as kube-proxy's Prepend does. */
  position?: 'append' | 'prepend';
}

export type ChainPolicy = 'ACCEPT' | 'DROP';

export interface Negatable {
  negated: boolean;
}

export interface PortRange {
  from: number;
  to: number;
}

/** conntrack states in the order iptables-save prints them. */
export const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'] as const;
export type CtState = (typeof CT_STATES)[number];

/** addrtype types in the kernel's order (the order iptables-save prints a list in). */
export const ADDR_TYPES = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
] as const;
export type AddrType = (typeof ADDR_TYPES)[number];

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export type IptablesMatch =
  | { module: PortProtocol; sport?: PortRange & Negatable; dport?: PortRange & Negatable }
  | { module: 'comment'; comment: string }
  | {
      module: 'addrtype';
      srcType?: { types: AddrType[] } & Negatable;
      dstType?: { types: AddrType[] } & Negatable;
    }
  | ({ module: 'mark'; value: number; mask: number } & Negatable)
  | ({ module: 'conntrack'; states: CtState[] } & Negatable)
  /** `fraction` is what the kernel keeps: round(p * 2^31), so 2^31 always matches. */
  | ({ module: 'statistic'; mode: 'random'; fraction: number } & Negatable)
  | ({ module: 'statistic'; mode: 'nth'; every: number; packet: number } & Negatable)
  | ({
      module: 'recent';
      command: 'set' | 'rcheck' | 'update' | 'remove';
      name: string;
      seconds?: number;
      reap: boolean;
      hitcount?: number;
      rttl: boolean;
      mask: string;
      side: 'source' | 'dest';
    } & Negatable)
  | ({ module: 'multiport'; direction: 'sports' | 'dports' | 'ports'; ports: PortRange[] } & Negatable);

export type IptablesTarget =
  | { kind: 'chain'; chain: string }
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { kind: 'REJECT'; with: string }
  | { kind: 'DNAT'; address: string; ports?: PortRange; random: boolean; persistent: boolean }
  | {
      kind: 'SNAT';
      address: string;
      ports?: PortRange;
      random: boolean;
      randomFully: boolean;
      persistent: boolean;
    }
  | { kind: 'MASQUERADE'; ports?: PortRange; random: boolean; randomFully: boolean }
  | { kind: 'REDIRECT'; ports?: PortRange; random: boolean }
  /** Every MARK form as the kernel keeps it: mark = (mark & ~mask) ^ value (--set-xmark). */
  | { kind: 'MARK'; value: number; mask: number };

export interface IptablesRule {
  /** Canonical text as iptables-save prints it after `-A CHAIN `; rules compare equal by it. */
  text: string;
  /** Network form with prefix: 10.0.0.0/8, 10.96.0.1/32. */
  source?: { cidr: string } & Negatable;
  destination?: { cidr: string } & Negatable;
  /** A trailing '+' matches every name with that prefix. */
  inInterface?: { name: string } & Negatable;
  outInterface?: { name: string } & Negatable;
  protocol?: { name: 'tcp' | 'udp' | 'sctp' | 'icmp' } & Negatable;
  /** In the order they were loaded, which is the order iptables-save prints them. */
  matches: IptablesMatch[];
  target?: IptablesTarget;
}

/** A chain as the fake holds it and the tracer walks it. */
export interface IptablesChainView {
  readonly name: string;
  readonly builtin: boolean;
  /** Built-in chains only. */
  readonly policy?: ChainPolicy;
  readonly rules: readonly IptablesRule[];
}

/** Chains of each table that exists in a namespace. */
export type IptablesRuleset = ReadonlyMap<IptablesTable, ReadonlyMap<string, IptablesChainView>>;
