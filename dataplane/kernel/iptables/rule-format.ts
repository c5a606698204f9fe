/**
 * Prints a parsed rule exactly as iptables-save (1.8.9, nft and legacy alike) prints it: the base
 * matches in a fixed order (-s -d -i -o -p), then each match module in load order with its
 * options in the module's own order, then the target with normalised options. Checked line by
 * line against the kernel in test/unit/kernel/iptables-rules.test.ts (cases taken from real
 * iptables-save output) and test/integration/kernel/iptables-parity.test.ts.
 */
import { formatProbability, hex } from './rule-values.ts';
import type { IptablesMatch, IptablesRule, IptablesTarget, PortRange } from './types.ts';

const FULL_MASK = 0xffffffff;

/** A value as iptables-save quotes it: bare when only [A-Za-z0-9_-], else quoted and escaped. */
export function saveString(value: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

function not(negated: boolean): string {
  return negated ? '! ' : '';
}

function colonRange(r: PortRange): string {
  return r.from === r.to ? `${r.from}` : `${r.from}:${r.to}`;
}

function dashRange(r: PortRange): string {
  return r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`;
}

function formatMatch(m: IptablesMatch): string {
  const parts = [`-m ${m.module}`];
  switch (m.module) {
    case 'tcp':
    case 'udp':
    case 'sctp':
      if (m.sport && (m.sport.from !== 0 || m.sport.to !== 65535 || m.sport.negated))
        parts.push(`${not(m.sport.negated)}--sport ${colonRange(m.sport)}`);
      if (m.dport && (m.dport.from !== 0 || m.dport.to !== 65535 || m.dport.negated))
        parts.push(`${not(m.dport.negated)}--dport ${colonRange(m.dport)}`);
      break;
    case 'comment':
      parts.push(`--comment ${saveString(m.comment)}`);
      break;
    case 'addrtype':
      if (m.srcType) parts.push(`${not(m.srcType.negated)}--src-type ${m.srcType.types.join(',')}`);
      if (m.dstType) parts.push(`${not(m.dstType.negated)}--dst-type ${m.dstType.types.join(',')}`);
      break;
    case 'mark':
      parts.push(`${not(m.negated)}--mark ${hex(m.value)}${m.mask === FULL_MASK ? '' : `/${hex(m.mask)}`}`);
      break;
    case 'conntrack':
      parts.push(`${not(m.negated)}--ctstate ${m.states.join(',')}`);
      break;
    case 'statistic':
      if (m.mode === 'random')
        parts.push(`--mode random${m.negated ? ' !' : ''} --probability ${formatProbability(m.fraction)}`);
      else {
        parts.push(`--mode nth ${not(m.negated)}--every ${m.every} --packet ${m.packet}`);
      }
      break;
    case 'recent':
      parts.push(`${not(m.negated)}--${m.command}`);
      if (m.seconds !== undefined) parts.push(`--seconds ${m.seconds}`);
      if (m.reap) parts.push('--reap');
      if (m.hitcount !== undefined) parts.push(`--hitcount ${m.hitcount}`);
      if (m.rttl) parts.push('--rttl');
      parts.push(`--name ${m.name}`, `--mask ${m.mask}`, m.side === 'source' ? '--rsource' : '--rdest');
      break;
    case 'multiport':
      parts.push(`${not(m.negated)}--${m.direction} ${m.ports.map(colonRange).join(',')}`);
      break;
  }
  return parts.join(' ');
}

function formatTarget(t: IptablesTarget): string {
  switch (t.kind) {
    case 'chain':
      return `-j ${t.chain}`;
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return `-j ${t.kind}`;
    case 'REJECT':
      return `-j REJECT --reject-with ${t.with}`;
    case 'DNAT':
    case 'SNAT': {
      const to = `${t.address}${t.ports ? `:${dashRange(t.ports)}` : ''}`;
      const parts = [`-j ${t.kind} ${t.kind === 'DNAT' ? '--to-destination' : '--to-source'} ${to}`];
      if (t.random) parts.push('--random');
      if (t.kind === 'SNAT' && t.randomFully) parts.push('--random-fully');
      if (t.persistent) parts.push('--persistent');
      return parts.join(' ');
    }
    case 'MASQUERADE':
    case 'REDIRECT': {
      const parts = [`-j ${t.kind}`];
      if (t.ports) parts.push(`--to-ports ${dashRange(t.ports)}`);
      if (t.random) parts.push('--random');
      if (t.kind === 'MASQUERADE' && t.randomFully) parts.push('--random-fully');
      return parts.join(' ');
    }
    case 'MARK':
      return `-j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
  }
}

/** The rule's canonical text, without the leading `-A CHAIN`. */
export function formatRule(rule: Omit<IptablesRule, 'text'>): string {
  const parts: string[] = [];
  if (rule.source) parts.push(`${not(rule.source.negated)}-s ${rule.source.cidr}`);
  if (rule.destination) parts.push(`${not(rule.destination.negated)}-d ${rule.destination.cidr}`);
  if (rule.inInterface) parts.push(`${not(rule.inInterface.negated)}-i ${rule.inInterface.name}`);
  if (rule.outInterface) parts.push(`${not(rule.outInterface.negated)}-o ${rule.outInterface.name}`);
  if (rule.protocol) parts.push(`${not(rule.protocol.negated)}-p ${rule.protocol.name}`);
  for (const m of rule.matches) parts.push(formatMatch(m));
  if (rule.target) parts.push(formatTarget(rule.target));
  return parts.join(' ');
}
