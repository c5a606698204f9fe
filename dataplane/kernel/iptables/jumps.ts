/**
 * The helpers of the Iptables interface built on save and restore alone, shared by the real
 * implementation and the fake so both do exactly the same reads and writes: read a table's
 * iptables-save text, compare the canonical text of the wanted rules with its lines, write what
 * is missing (or present, to delete) in one --noflush restore.
 */
import { parseRule } from './rule-parse.ts';
import type { IptablesTable, JumpRule, RestoreOptions } from './types.ts';

export interface SaveRestore {
  save(ns: string, table: IptablesTable): Promise<string>;
  restore(ns: string, payload: string, options: RestoreOptions): Promise<void>;
}

/** Chain names declared in iptables-save text (`:NAME POLICY [p:b]`), in its order. */
export function savedChains(saved: string): string[] {
  const chains: string[] = [];
  for (const line of saved.split('\n')) if (line.startsWith(':')) chains.push(line.slice(1).split(/\s+/)[0]);
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

export async function ensureJumps(io: SaveRestore, ns: string, jumps: readonly JumpRule[]): Promise<number> {
  const blocks: string[] = [];
  let changes = 0;
  for (const [table, list] of byTable(jumps)) {
    const saved = await io.save(ns, table);
    const chains = new Set(savedChains(saved));
    const lines = new Set(saved.split('\n'));
    const block: string[] = [];
    for (const jump of list) {
      if (!chains.has(jump.to)) {
        block.push(`-N ${jump.to}`);
        chains.add(jump.to);
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

export async function deleteJumps(io: SaveRestore, ns: string, jumps: readonly JumpRule[]): Promise<number> {
  const blocks: string[] = [];
  let changes = 0;
  for (const [table, list] of byTable(jumps)) {
    const lines = new Set((await io.save(ns, table)).split('\n'));
    const block = [...new Set(list.map(jumpLine))].filter((l) => lines.has(l)).map((l) => `-D ${l.slice(3)}`);
    if (block.length) blocks.push(`*${table}`, ...block, 'COMMIT');
    changes += block.length;
  }
  if (blocks.length) await io.restore(ns, blocks.join('\n') + '\n', { noflush: true });
  return changes;
}

export async function deleteChains(
  io: SaveRestore,
  ns: string,
  table: IptablesTable,
  chains: readonly string[],
): Promise<number> {
  const existing = new Set(savedChains(await io.save(ns, table)));
  const doomed = [...new Set(chains)].filter((c) => existing.has(c));
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
