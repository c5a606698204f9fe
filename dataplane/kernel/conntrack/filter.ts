/**
 * What the real and the fake conntrack share: the checks on a filter (IPv4 addresses, a port
 * only with a protocol), the conntrack(8) arguments it becomes, the matching the fake does
 * with the same meaning, and the parser of `conntrack -L` lines.
 */
import { isIpv4 } from '../cidr.ts';
import { KERNEL_ERR, kernelError } from '../errors.ts';
import type { ConntrackEntry, ConntrackFilter, ConntrackTuple } from './interface.ts';

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/** Throws KDP_ERR_KERNEL_INVALID for a filter the tool would refuse or that would match everything. */
export function checkFilter(
  filter: ConntrackFilter,
  operation: string,
  ns: string,
  forDelete: boolean,
): void {
  const invalid = (message: string) => {
    throw kernelError(KERNEL_ERR.invalid, message, { operation, namespace: ns });
  };
  if (filter.protocol !== undefined && !PROTOCOLS.includes(filter.protocol))
    invalid(`protocol must be tcp, udp or sctp, got "${filter.protocol}"`);
  for (const key of ['origSrc', 'origDst', 'dstNat'] as const) {
    const ip = filter[key];
    if (ip !== undefined && !isIpv4(ip)) invalid(`${key} must be an IPv4 address, got "${ip}"`);
  }
  if (filter.origDstPort !== undefined) {
    if (!Number.isInteger(filter.origDstPort) || filter.origDstPort < 1 || filter.origDstPort > 65535)
      invalid(`port must be an integer from 1 to 65535, got ${filter.origDstPort}`);
    if (filter.protocol === undefined) invalid('a port filter needs a protocol');
  }
  const given = Object.values(filter).filter((v) => v !== undefined).length;
  if (forDelete && given === 0) invalid('refusing to delete every entry: give at least one filter field');
}

/** conntrack(8) arguments for a filter, in the order kube-proxy writes them. */
export function filterArgs(filter: ConntrackFilter): string[] {
  const args: string[] = [];
  if (filter.origSrc !== undefined) args.push('--orig-src', filter.origSrc);
  if (filter.origDst !== undefined) args.push('--orig-dst', filter.origDst);
  if (filter.protocol !== undefined) args.push('-p', filter.protocol);
  if (filter.origDstPort !== undefined) args.push('--dport', String(filter.origDstPort));
  if (filter.dstNat !== undefined) args.push('--dst-nat', filter.dstNat);
  return args;
}

/** Was the original destination rewritten (the reply comes from somewhere else)? */
export function isDnated(e: ConntrackEntry): boolean {
  return e.original.dst !== e.reply.src || e.original.dport !== e.reply.sport;
}

export function entryMatches(e: ConntrackEntry, f: ConntrackFilter): boolean {
  if (f.protocol !== undefined && e.protocol !== f.protocol) return false;
  if (f.origSrc !== undefined && e.original.src !== f.origSrc) return false;
  if (f.origDst !== undefined && e.original.dst !== f.origDst) return false;
  if (f.origDstPort !== undefined && e.original.dport !== f.origDstPort) return false;
  if (f.dstNat !== undefined && (e.reply.src !== f.dstNat || !isDnated(e))) return false;
  return true;
}

/** How many entries the tool said it deleted (`N flow entries have been deleted.`). */
export function deletedCount(stderr: string): number | undefined {
  const m = /(\d+) flow entries have been deleted/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/**
 * One `conntrack -L` line:
 * `udp 17 29 src=A dst=B sport=P dport=Q [UNREPLIED] src=B dst=A sport=Q dport=P mark=0 use=1`.
 */
export function parseEntry(line: string): ConntrackEntry | undefined {
  const words = line.trim().split(/\s+/);
  if (words.length < 4 || !/^\d+$/.test(words[1]) || !/^\d+$/.test(words[2])) return undefined;
  const entry: ConntrackEntry = {
    protocol: words[0],
    timeout: Number(words[2]),
    original: { src: '', dst: '' },
    reply: { src: '', dst: '' },
    flags: [],
    mark: 0,
  };
  let tuple: ConntrackTuple | undefined;
  for (const w of words.slice(3)) {
    const flag = /^\[([A-Z_]+)\]$/.exec(w);
    if (flag) {
      entry.flags.push(flag[1]);
      continue;
    }
    const eq = w.indexOf('=');
    if (eq < 0) {
      if (!tuple) entry.state = w;
      continue;
    }
    const [key, value] = [w.slice(0, eq), w.slice(eq + 1)];
    if (key === 'src') tuple = tuple === undefined ? entry.original : entry.reply;
    if (key === 'src' || key === 'dst') tuple![key] = value;
    else if ((key === 'sport' || key === 'dport') && tuple) tuple[key] = Number(value);
    else if (key === 'mark') entry.mark = Number(value);
  }
  return entry.original.src ? entry : undefined;
}
