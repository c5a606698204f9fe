/**
 * How a refused iptables-restore becomes a typed error. The real tools blame a line in four
 * ways (seen with iptables 1.8.9, both backends): `line N failed` (legacy, at the rule or at the
 * table's COMMIT), `Error occurred at line: N` (a rule iptables itself cannot parse; nft may name
 * the COMMIT line for a missing jump target), `line N: RULE_APPEND failed (...)` (nft, the
 * kernel refused a rule) and `COMMIT expected at line N`. The error names the line, quotes it
 * from the payload, and lists the tables committed before the refused one, since
 * iptables-restore commits each `*table` block on its own.
 */
import { KdpError } from '../../errors.ts';
import { KERNEL_ERR } from '../errors.ts';
import { payloadLine, tableBlocks } from './restore-format.ts';

const LINE_PATTERNS = [
  /\bline (\d+) failed/,
  /Error occurred at line: (\d+)/,
  /^line (\d+): /m,
  /COMMIT expected at line (\d+)/,
];

/** The payload line the tool blamed, if its message names one. */
export function blamedLine(stderr: string): number | undefined {
  for (const re of LINE_PATTERNS) {
    const m = re.exec(stderr);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** The tool's reason without its banner, usage hint and line bookkeeping. */
export function restoreReason(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Try `/.test(l) && !/^Error occurred at line/.test(l))
    .map((l) => l.replace(/^iptables(-nft|-legacy)?-restore( v[\d.]+ \([^)]*\))?: ?/, ''))
    .filter((l) => l)
    .join('; ');
}

/** Tables whose COMMIT came before `line`: iptables-restore kept them. */
export function committedBefore(payload: string, line: number): string[] {
  return tableBlocks(payload)
    .filter((b) => b.commitLine !== undefined && b.commitLine < line)
    .map((b) => b.table);
}

export interface RestoreRefusal {
  namespace: string;
  /** The command, e.g. `iptables-nft-restore --noflush`. */
  operation: string;
  payload: string;
  /** 1-based; undefined when the tool named no line. */
  line: number | undefined;
  reason: string;
  cause?: unknown;
}

export function restoreRejected(r: RestoreRefusal): KdpError {
  const text = r.line === undefined ? '' : payloadLine(r.payload, r.line);
  const committedTables = r.line === undefined ? [] : committedBefore(r.payload, r.line);
  const where =
    r.line === undefined ? 'payload refused' : `line ${r.line} refused (${text || 'end of input'})`;
  const kept = committedTables.length ? `; tables committed before it: ${committedTables.join(', ')}` : '';
  return new KdpError(
    KERNEL_ERR.rejected,
    `${r.operation} in namespace ${r.namespace}: ${where}: ${r.reason}${kept}`,
    {
      cause: r.cause,
      details: { namespace: r.namespace, operation: r.operation, line: r.line, text, committedTables },
    },
  );
}
