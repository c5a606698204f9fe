/**
 * checkRules, shared by the real Iptables and the fake: the rules to look for become `-C` lines of
 * one --noflush restore (a check changes nothing, so no table is written: legacy commits only a
 * changed table, nft sends no transaction), and the refusal's blamed line says which rule or at
 * least which table is missing. A refusal for any other reason (missing namespace, tool) is not
 * a missing rule and is rethrown.
 */
import { KdpError } from '../../errors.ts';
import { KERNEL_ERR } from '../errors.ts';
import type { RulesByTable } from './interface.ts';
import { IPTABLES_TABLES, type IptablesTable, type MissingRule } from './types.ts';

interface CheckLine {
  table: IptablesTable;
  rule?: string;
}

/** The `-C` payload and, per payload line (1-based), the table and rule it checks. */
export function checkPayload(rules: RulesByTable): { text: string; lines: CheckLine[] } {
  const text: string[] = [];
  // lines[n - 1] is payload line n.
  const lines: CheckLine[] = [];
  for (const table of IPTABLES_TABLES) {
    const list = rules[table];
    if (!list?.length) continue;
    text.push(`*${table}`);
    lines.push({ table });
    for (const rule of list) {
      if (!rule.startsWith('-A ')) throw new TypeError(`checkRules takes -A lines, got: ${rule}`);
      text.push(`-C ${rule.slice(3)}`);
      lines.push({ table, rule });
    }
    text.push('COMMIT');
    lines.push({ table });
  }
  return { text: text.length ? text.join('\n') + '\n' : '', lines };
}

export async function checkRules(
  rules: RulesByTable,
  restore: (payload: string) => Promise<void>,
): Promise<MissingRule | undefined> {
  const { text, lines } = checkPayload(rules);
  if (!text) return undefined;
  try {
    await restore(text);
    return undefined;
  } catch (e) {
    if (!(e instanceof KdpError) || e.code !== KERNEL_ERR.rejected) throw e;
    const line = e.details?.line;
    const at = typeof line === 'number' ? lines[line - 1] : undefined;
    return { table: at?.table ?? lines[0].table, ...(at?.rule ? { rule: at.rule } : {}), reason: e.message };
  }
}
