/**
 * The iptables-restore text of one sync: per table, the built-in chains' policies (for a flushing
 * restore), the chain lines (which, under --noflush, empty an existing chain or create a missing
 * one), the rules, then `-X` for chains nobody uses any more (after every rule that pointed at
 * them has been flushed away), then COMMIT. Filter before nat, as upstream. A table with nothing to write is left out, so a partial sync touches
 * nothing it does not change. Lines are gathered in groups and joined once: at 10k services the
 * payload is ~450k lines.
 */

export interface TableWrite {
  /** Built-in chains and their policies (a flushing restore names them, to keep the policies). */
  policies?: ReadonlyMap<string, string>;
  /** Chains to empty (or create), in the order written. */
  declare: readonly string[];
  /** Groups of `-A CHAIN ...` lines, written in order. */
  rules: readonly (readonly string[])[];
  /** Chains to delete (also declared, so they are empty before `-X`). */
  remove?: readonly string[];
}

export interface RestorePayload {
  text: string;
  /** `-A` lines per table, as written. */
  lines: { filter: number; nat: number };
}

/** Nothing to write; a table with policies is never empty: naming it in a flushing restore empties it. */
function isEmpty(t: TableWrite | undefined): boolean {
  return (
    !t || (!t.policies && t.declare.length === 0 && t.rules.every((g) => g.length === 0) && !t.remove?.length)
  );
}

export function restorePayload(tables: {
  filter?: TableWrite;
  nat?: TableWrite;
}): RestorePayload | undefined {
  const out: string[] = [];
  const lines = { filter: 0, nat: 0 };
  for (const name of ['filter', 'nat'] as const) {
    const t = tables[name];
    if (isEmpty(t)) continue;
    out.push(`*${name}`);
    for (const [chain, policy] of t!.policies ?? []) out.push(`:${chain} ${policy} [0:0]`);
    for (const chain of t!.declare) out.push(`:${chain} - [0:0]`);
    for (const chain of t!.remove ?? []) out.push(`:${chain} - [0:0]`);
    for (const group of t!.rules) {
      for (const line of group) out.push(line);
      lines[name] += group.length;
    }
    for (const chain of t!.remove ?? []) out.push(`-X ${chain}`);
    out.push('COMMIT');
  }
  if (out.length === 0) return undefined;
  out.push('');
  return { text: out.join('\n'), lines };
}
