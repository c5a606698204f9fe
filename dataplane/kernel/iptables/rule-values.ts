/**
 * Parsers for the values inside iptables rules (addresses, ports, marks, probabilities) that
 * normalise them the way iptables does before the kernel sees them: an address becomes its
 * network with a prefix length, a probability becomes the kernel's 31-bit fraction, a mark any of
 * C's number forms. A bad value throws IptablesRuleError, which the caller turns into a refusal
 * of the whole line.
 */
import { ipv4ToNumber, isIpv4, numberToIpv4 } from '../cidr.ts';
import type { PortRange } from './types.ts';

/** Why one rule or restore line is malformed; carries no line number (the caller adds it). */
export class IptablesRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IptablesRuleError';
  }
}

const U32_MAX = 0xffffffff;
/** The kernel keeps a statistic probability as a fraction of 2^31. */
export const STATISTIC_ONE = 0x80000000;

/** 10.1.2.3 -> 10.1.2.3/32; 10.1.2.3/8 -> 10.0.0.0/8; 10.0.0.0/255.255.0.0 -> 10.0.0.0/16. */
export function parseAddress(text: string): string {
  const [ip, mask, extra] = text.split('/');
  if (extra !== undefined || !isIpv4(ip))
    throw new IptablesRuleError(`host/network \`${text}' not found (only IPv4 addresses are modelled)`);
  let prefix = 32;
  if (mask !== undefined) {
    if (/^\d+$/.test(mask) && Number(mask) <= 32) prefix = Number(mask);
    else if (isIpv4(mask)) prefix = maskToPrefix(mask, text);
    else throw new IptablesRuleError(`invalid mask \`${mask}' specified`);
  }
  const bits = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(32 - prefix);
  return `${numberToIpv4(ipv4ToNumber(ip) & bits)}/${prefix}`;
}

function maskToPrefix(mask: string, text: string): number {
  const n = ipv4ToNumber(mask);
  for (let p = 0; p <= 32; p++) {
    const bits = p === 0 ? 0n : ((1n << BigInt(p)) - 1n) << BigInt(32 - p);
    if (bits === n) return p;
  }
  throw new IptablesRuleError(`non-contiguous mask in \`${text}' is not modelled`);
}

export function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535)
    throw new IptablesRuleError(`invalid port/service \`${text}' specified`);
  return Number(text);
}

/** `80`, `1000:2000`, `:2000`, `1000:` as tcp/udp/sctp and multiport take them. */
export function parsePortRange(text: string): PortRange {
  const parts = text.split(':');
  if (parts.length > 2) throw new IptablesRuleError(`invalid port range \`${text}'`);
  const from = parts[0] === '' ? 0 : parsePort(parts[0]);
  const to = parts.length === 1 ? from : parts[1] === '' ? 65535 : parsePort(parts[1]);
  if (from > to) throw new IptablesRuleError(`invalid port range \`${text}': ${from} > ${to}`);
  return { from, to };
}

/** `80` or `80-90`, as NAT targets take them. */
export function parseNatPorts(text: string): PortRange {
  const parts = text.split('-');
  if (parts.length > 2) throw new IptablesRuleError(`invalid port range \`${text}'`);
  const from = parsePort(parts[0]);
  const to = parts.length === 2 ? parsePort(parts[1]) : from;
  if (from === 0 || from > to) throw new IptablesRuleError(`invalid port range \`${text}'`);
  return { from, to };
}

/** An unsigned 32-bit number in any of strtoul's bases: 0x10, 020, 16. */
export function parseU32(text: string): number {
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) n = parseInt(text, 8);
  else if (/^[1-9]\d*$/.test(text)) n = Number(text);
  else throw new IptablesRuleError(`bad value \`${text}'`);
  if (!Number.isSafeInteger(n) || n > U32_MAX) throw new IptablesRuleError(`value \`${text}' out of range`);
  return n;
}

/** `value[/mask]`; a missing mask is 0xffffffff. */
export function parseMarkPair(text: string): { value: number; mask: number } {
  const [value, mask, extra] = text.split('/');
  if (extra !== undefined) throw new IptablesRuleError(`bad mark \`${text}'`);
  return { value: parseU32(value), mask: mask === undefined ? U32_MAX : parseU32(mask) };
}

/** The kernel's fraction for a probability, rounded as iptables does (lround(p * 2^31)). */
export function parseProbability(text: string): number {
  const p = Number(text);
  if (text.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1)
    throw new IptablesRuleError(`probability \`${text}' is out of range (0 to 1)`);
  return Math.round(STATISTIC_ONE * p);
}

/** The fraction printed as iptables-save does (%.11f of fraction / 2^31, rounding half to even). */
export function formatProbability(fraction: number): string {
  const scaled = BigInt(fraction) * 10n ** 11n;
  const one = BigInt(STATISTIC_ONE);
  let q = scaled / one;
  const twiceRest = 2n * (scaled % one);
  if (twiceRest > one || (twiceRest === one && q % 2n === 1n)) q += 1n;
  const digits = q.toString().padStart(12, '0');
  return `${digits.slice(0, -11)}.${digits.slice(-11)}`;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Inverts the low 32 bits (for --and-mark). */
export function invertU32(n: number): number {
  return ~n >>> 0;
}

/** Interface names as iptables takes them: up to 15 characters, a trailing '+' is a wildcard. */
export function parseInterface(text: string): string {
  if (text.length === 0 || text.length > 15 || /[\s/]/.test(text))
    throw new IptablesRuleError(`interface name \`${text}' must be 1 to 15 characters`);
  return text;
}
