/**
 * The iptables-restore input format: `*table` opens a block, `:CHAIN POLICY [p:b]` declares a
 * chain, command lines (-A -I -D -R -F -X -N -P) change it (-C only checks that a rule exists), `COMMIT` ends the block, `#` lines
 * are comments. parseRestoreCommand turns one command line into a typed command (the fake
 * applies them); tableBlocks finds where each block starts and commits, which tells the real
 * implementation which tables a failed restore had already committed.
 */
import { tokenizeRestoreLine } from './tokenize.ts';
import { IptablesRuleError } from './rule-values.ts';
import { parseRule } from './rule-parse.ts';
import { IPTABLES_TABLES, type IptablesRule, type IptablesTable } from './types.ts';

export type RestoreCommand =
  | { kind: 'append'; chain: string; rule: IptablesRule }
  | { kind: 'insert'; chain: string; position: number; rule: IptablesRule }
  | { kind: 'delete'; chain: string; rule: IptablesRule }
  | { kind: 'check'; chain: string; rule: IptablesRule }
  | { kind: 'delete-at'; chain: string; position: number }
  | { kind: 'replace'; chain: string; position: number; rule: IptablesRule }
  | { kind: 'flush'; chain?: string }
  | { kind: 'delete-chain'; chain?: string }
  | { kind: 'new-chain'; chain: string }
  | { kind: 'policy'; chain: string; policy: string };

export interface ChainDeclaration {
  chain: string;
  /** ACCEPT or DROP for a built-in chain, '-' for a user chain (or to leave a policy alone). */
  policy: string;
}

export function isTableName(name: string): name is IptablesTable {
  return (IPTABLES_TABLES as readonly string[]).includes(name);
}

/** `:NAME POLICY [packets:bytes]`. */
export function parseChainDeclaration(line: string): ChainDeclaration {
  const [chain, policy, counters, extra] = line.slice(1).trim().split(/\s+/);
  if (!chain || !policy || extra !== undefined || (counters !== undefined && !/^\[\d+:\d+\]$/.test(counters)))
    throw new IptablesRuleError(`bad chain line \`${line}'`);
  return { chain, policy };
}

function position(text: string | undefined, command: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1)
    throw new IptablesRuleError(`${command}: bad rule number \`${text ?? ''}'`);
  return Number(text);
}

/**
 * One command line. The command must come first (iptables would also take it later in the
 * line; nothing kdp writes does that). With `counters`, a leading `[p:b]` is allowed and ignored.
 */
export function parseRestoreCommand(line: string, counters: boolean): RestoreCommand {
  const args = tokenizeRestoreLine(line);
  if (counters && args[0] !== undefined && /^\[\d+:\d+\]$/.test(args[0])) args.shift();
  const [command, chain, ...rest] = args;
  if (command === undefined) throw new IptablesRuleError('empty line');
  const needChain = () => {
    if (chain === undefined) throw new IptablesRuleError(`${command} needs a chain`);
    return chain;
  };
  switch (command) {
    case '-A':
    case '--append':
      return { kind: 'append', chain: needChain(), rule: parseRule(rest) };
    case '-I':
    case '--insert': {
      const at = rest.length > 0 && /^\d+$/.test(rest[0]) ? position(rest.shift(), command) : 1;
      return { kind: 'insert', chain: needChain(), position: at, rule: parseRule(rest) };
    }
    case '-D':
    case '--delete':
      if (rest.length === 1 && /^\d+$/.test(rest[0]))
        return { kind: 'delete-at', chain: needChain(), position: position(rest[0], command) };
      return { kind: 'delete', chain: needChain(), rule: parseRule(rest) };
    case '-C':
    case '--check':
      return { kind: 'check', chain: needChain(), rule: parseRule(rest) };
    case '-R':
    case '--replace': {
      const at = position(rest.shift(), command);
      return { kind: 'replace', chain: needChain(), position: at, rule: parseRule(rest) };
    }
    case '-F':
    case '--flush':
    case '-X':
    case '--delete-chain':
      if (rest.length > 0) throw new IptablesRuleError(`${command} takes at most a chain name`);
      return { kind: command === '-F' || command === '--flush' ? 'flush' : 'delete-chain', chain };
    case '-N':
    case '--new-chain':
      if (rest.length > 0) throw new IptablesRuleError(`${command} takes a chain name only`);
      return { kind: 'new-chain', chain: needChain() };
    case '-P':
    case '--policy':
      if (rest.length !== 1) throw new IptablesRuleError(`${command} takes a chain and a policy`);
      return { kind: 'policy', chain: needChain(), policy: rest[0] };
    case '-t':
    case '--table':
      throw new IptablesRuleError('The -t option cannot be used in iptables-restore');
    default:
      throw new IptablesRuleError(`unknown command \`${command}' (or not modelled)`);
  }
}

export interface TableBlock {
  table: string;
  /** 1-based line numbers of `*table` and of its COMMIT (undefined when it has none). */
  line: number;
  commitLine?: number;
}

/** Where each `*table` block starts and commits; cheap enough to run on every restore. */
export function tableBlocks(payload: string): TableBlock[] {
  const blocks: TableBlock[] = [];
  let open: TableBlock | undefined;
  let n = 0;
  for (const line of payload.split('\n')) {
    n++;
    if (line.startsWith('*')) {
      open = { table: line.slice(1).trim(), line: n };
      blocks.push(open);
    } else if (open && /^COMMIT\s*$/.test(line)) {
      open.commitLine = n;
      open = undefined;
    }
  }
  return blocks;
}

/** Line `n` (1-based) of the payload, shortened for a message. */
export function payloadLine(payload: string, n: number, max = 300): string {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const next = payload.indexOf('\n', start);
    if (next < 0) return '';
    start = next + 1;
  }
  const end = payload.indexOf('\n', start);
  const line = payload.slice(start, end < 0 ? undefined : end);
  return line.length > max ? `${line.slice(0, max)}...` : line;
}
