/**
 * The helpers of the Iptables interface, shared by the real implementation and the fake so both
 * make the same decisions: read the chains involved, compare the canonical text of the wanted
 * rules with what is there, and write what is missing (or present, to delete) in one --noflush
 * restore. How chains are read is up to the caller: the fake looks at its state, the real one
 * asks the backend for just those chains where that is cheap (see iptables.ts).
 */
import { parseRule } from './rule-parse.ts';
import type { IptablesTable, JumpRule, RestoreOptions } from './types.ts';

export interface ChainQuery {
  name: string;
  /** Whether the caller needs the chain's rules, or only whether it exists. */
  rules: boolean;
}

export interface JumpIo {
  /** The `-A CHAIN ...` lines of each existing chain ([] when rules were not asked for); missing chains are left out. */
  readChains(ns: string, table: IptablesTable, chains: readonly ChainQuery[]): Promise<Map<string, string[]>>;
  restore(ns: string, payload: string, options: RestoreOptions): Promise<void>;
}

/** Chain names declared in iptables-save text (`:NAME POLICY [p:b]`), in its order. */
export function savedChains(saved: string): string[] {
  const chains: string[] = [];
  for (const line of saved.split('\n')) if (line.startsWith(':')) chains.push(line.slice(1).split(/\s+/)[0]);
  return chains;
}

/** The chains and their `-A` lines in iptables-save (or -S) text. */
export function savedRules(saved: string): Map<string, string[]> {
  const chains = new Map<string, string[]>(savedChains(saved).map((c) => [c, []]));
  for (const line of saved.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const chain = line.slice(3, line.indexOf(' ', 3) < 0 ? undefined : line.indexOf(' ', 3));
    (chains.get(chain) ?? chains.set(chain, []).get(chain)!).push(line);
  }
  return chains;
}

/**
 * The jump's rule in canonical form, as iptables-save prints it after `-A FROM `. It is valid
 * restore syntax too (save's quoting is what restore reads).
 */
export function jumpRuleText(jump: JumpRule): string {
  const args = [...(jump.match ?? [])];
  if (jump.comment !== undefined) args.push('-m', 'comment', '--comment', jump.comment);
  args.push('-j', jump.to);
  return parseRule(args).text;
}

function jumpLine(jump: JumpRule): string {
  return `-A ${jump.from} ${jumpRuleText(jump)}`;
}

function byTable(jumps: readonly JumpRule[]): Map<IptablesTable, JumpRule[]> {
  const out = new Map<IptablesTable, JumpRule[]>();
  for (const j of jumps) out.set(j.table, [...(out.get(j.table) ?? []), j]);
  return out;
}

/** What to read for a set of jumps: the built-in chains' rules, the targets' existence. */
function queries(list: readonly JumpRule[], targets: boolean): ChainQuery[] {
  const from = [...new Set(list.map((j) => j.from))].map((name) => ({ name, rules: true }));
  const to = [...new Set(list.map((j) => j.to))].filter((n) => !from.some((f) => f.name === n));
  return targets ? [...from, ...to.map((name) => ({ name, rules: false }))] : from;
}

export async function ensureJumps(io: JumpIo, ns: string, jumps: readonly JumpRule[]): Promise<number> {
  const blocks: string[] = [];
  let changes = 0;
  for (const [table, list] of byTable(jumps)) {
    const found = await io.readChains(ns, table, queries(list, true));
    const lines = new Set([...found.values()].flat());
    const block: string[] = [];
    for (const jump of list) {
      if (!found.has(jump.to)) {
        block.push(`-N ${jump.to}`);
        found.set(jump.to, []);
      }
      const line = jumpLine(jump);
      if (lines.has(line)) continue;
      lines.add(line);
      block.push(jump.position === 'prepend' ? `-I ${jump.from} 1 ${jumpRuleText(jump)}` : line);
    }
    if (block.length) blocks.push(`*${table}`, ...block, 'COMMIT');
    changes += block.length;
  }
  if (blocks.length) await io.restore(ns, blocks.join('\n') + '\n', { noflush: true });
  return changes;
}

export async function deleteJumps(io: JumpIo, ns: string, jumps: readonly JumpRule[]): Promise<number> {
  const blocks: string[] = [];
  let changes = 0;
  for (const [table, list] of byTable(jumps)) {
    const lines = new Set([...(await io.readChains(ns, table, queries(list, false))).values()].flat());
    const block = [...new Set(list.map(jumpLine))].filter((l) => lines.has(l)).map((l) => `-D ${l.slice(3)}`);
    if (block.length) blocks.push(`*${table}`, ...block, 'COMMIT');
    changes += block.length;
  }
  if (blocks.length) await io.restore(ns, blocks.join('\n') + '\n', { noflush: true });
  return changes;
}

export async function deleteChains(
  io: JumpIo,
  ns: string,
  table: IptablesTable,
  chains: readonly string[],
): Promise<number> {
  const wanted = [...new Set(chains)];
  const existing = await io.readChains(
    ns,
    table,
    wanted.map((name) => ({ name, rules: false })),
  );
  const doomed = wanted.filter((c) => existing.has(c));
  if (doomed.length === 0) return 0;
  // Declaring a chain under --noflush empties it, so every rule between the doomed chains is
  // gone before the first -X; a jump from any other chain still refuses the whole block.
  const payload = [
    `*${table}`,
    ...doomed.map((c) => `:${c} - [0:0]`),
    ...doomed.map((c) => `-X ${c}`),
    'COMMIT',
  ];
  await io.restore(ns, payload.join('\n') + '\n', { noflush: true });
  return doomed.length;
}
