/**
 * The targets kube-proxy's rules (and a userspace proxy's REDIRECT) use, each as a builder that
 * takes its options and normalises them as iptables does: every MARK form becomes --set-xmark,
 * REJECT gets its default --reject-with, NAT port ranges need a port protocol. Other standard
 * extension targets are refused as not modelled; any other name is a jump to a user chain.
 */
import { isIpv4 } from '../cidr.ts';
import type { IptablesRule, IptablesTarget, PortRange } from './types.ts';
import { IptablesRuleError, invertU32, parseMarkPair, parseNatPorts, parseU32 } from './rule-values.ts';

export interface TargetBuilder {
  readonly name: string;
  take(option: string, negated: boolean, value: () => string): boolean;
  finish(protocol: IptablesRule['protocol']): IptablesTarget;
}

const REJECT_TYPES: Record<string, string> = {
  'icmp-net-unreachable': 'icmp-net-unreachable',
  'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited',
  'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'icmp-admin-prohibited': 'icmp-admin-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
};

/** Real extension targets the fake does not model: refused rather than taken for chain names. */
const UNMODELLED_TARGETS = new Set([
  'LOG',
  'NFLOG',
  'ULOG',
  'CONNMARK',
  'CT',
  'NOTRACK',
  'TRACE',
  'QUEUE',
  'NFQUEUE',
  'TPROXY',
  'NETMAP',
  'CLASSIFY',
  'TCPMSS',
  'TOS',
  'TTL',
  'DSCP',
  'CHECKSUM',
  'SET',
  'AUDIT',
  'CLUSTERIP',
  'ECN',
]);

const PORT_PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

function needsPortProtocol(protocol: IptablesRule['protocol'], ports: PortRange | undefined): void {
  if (ports && (!protocol || protocol.negated || !PORT_PROTOCOLS.includes(protocol.name)))
    throw new IptablesRuleError('Need TCP, UDP, SCTP or DCCP with port specification');
}

function plain(kind: 'ACCEPT' | 'DROP' | 'RETURN'): TargetBuilder {
  return { name: kind, take: () => false, finish: () => ({ kind }) };
}

function flag(option: string, negated: boolean): true {
  if (negated) throw new IptablesRuleError(`${option} cannot be negated`);
  return true;
}

function rejectTarget(): TargetBuilder {
  let type: string | undefined;
  return {
    name: 'REJECT',
    take(option, negated, value) {
      if (option !== '--reject-with') return false;
      flag(option, negated);
      const given = value();
      type = REJECT_TYPES[given];
      if (!type) throw new IptablesRuleError(`unknown reject type \`${given}'`);
      return true;
    },
    finish(protocol) {
      if (type === 'tcp-reset' && (protocol?.name !== 'tcp' || protocol.negated))
        throw new IptablesRuleError('REJECT --reject-with tcp-reset needs -p tcp');
      return { kind: 'REJECT', with: type ?? 'icmp-port-unreachable' };
    },
  };
}

/** `10.1.1.1`, `10.1.1.1:80`, `10.1.1.1:80-90`: one address, optionally ports. */
function natAddress(text: string): { address: string; ports?: PortRange } {
  const [address, ports, extra] = text.split(':');
  if (extra !== undefined || !isIpv4(address))
    throw new IptablesRuleError(`bad IP address \`${text}' (one IPv4 address is modelled, not a range)`);
  return ports === undefined ? { address } : { address, ports: parseNatPorts(ports) };
}

function natTarget(kind: 'DNAT' | 'SNAT'): TargetBuilder {
  const toOption = kind === 'DNAT' ? '--to-destination' : '--to-source';
  let to: { address: string; ports?: PortRange } | undefined;
  const flags = { random: false, randomFully: false, persistent: false };
  return {
    name: kind,
    take(option, negated, value) {
      if (option === toOption) {
        flag(option, negated);
        if (to) throw new IptablesRuleError(`multiple ${toOption} are not modelled`);
        to = natAddress(value());
      } else if (option === '--random') flags.random = flag(option, negated);
      else if (option === '--persistent') flags.persistent = flag(option, negated);
      else if (option === '--random-fully' && kind === 'SNAT') flags.randomFully = flag(option, negated);
      else return false;
      return true;
    },
    finish(protocol) {
      if (!to) throw new IptablesRuleError(`${kind} needs ${toOption}`);
      needsPortProtocol(protocol, to.ports);
      if (kind === 'DNAT') return { kind, ...to, random: flags.random, persistent: flags.persistent };
      return { kind, ...to, ...flags };
    },
  };
}

function portsTarget(kind: 'MASQUERADE' | 'REDIRECT'): TargetBuilder {
  let ports: PortRange | undefined;
  let random = false;
  let randomFully = false;
  return {
    name: kind,
    take(option, negated, value) {
      if (option === '--to-ports') {
        flag(option, negated);
        ports = parseNatPorts(value());
      } else if (option === '--random') random = flag(option, negated);
      else if (option === '--random-fully' && kind === 'MASQUERADE') randomFully = flag(option, negated);
      else return false;
      return true;
    },
    finish(protocol) {
      needsPortProtocol(protocol, ports);
      if (kind === 'REDIRECT') return { kind, ports, random };
      return { kind, ports, random, randomFully };
    },
  };
}

const MARK_OPTIONS = new Set(['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark']);

function markTarget(): TargetBuilder {
  let mark: { value: number; mask: number } | undefined;
  const set = (m: { value: number; mask: number }) => {
    if (mark)
      throw new IptablesRuleError(
        'MARK: only one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark',
      );
    mark = m;
  };
  return {
    name: 'MARK',
    take(option, negated, value) {
      if (!MARK_OPTIONS.has(option)) return false;
      flag(option, negated);
      if (option === '--set-xmark') set(parseMarkPair(value()));
      else if (option === '--set-mark') {
        const m = parseMarkPair(value());
        set({ value: m.value, mask: (m.mask | m.value) >>> 0 });
      } else if (option === '--and-mark') set({ value: 0, mask: invertU32(parseU32(value())) });
      else if (option === '--or-mark') {
        const v = parseU32(value());
        set({ value: v, mask: v });
      } else set({ value: parseU32(value()), mask: 0 });
      return true;
    },
    finish() {
      if (!mark) throw new IptablesRuleError('MARK target: one of the mark options is required');
      return { kind: 'MARK', ...mark };
    },
  };
}

const TARGETS: Record<string, () => TargetBuilder> = {
  ACCEPT: () => plain('ACCEPT'),
  DROP: () => plain('DROP'),
  RETURN: () => plain('RETURN'),
  REJECT: rejectTarget,
  DNAT: () => natTarget('DNAT'),
  SNAT: () => natTarget('SNAT'),
  MASQUERADE: () => portsTarget('MASQUERADE'),
  REDIRECT: () => portsTarget('REDIRECT'),
  MARK: markTarget,
};

/** Names a chain may not take because they are targets (nft refuses them, legacy fails later). */
export function isTargetName(name: string): boolean {
  return name in TARGETS || UNMODELLED_TARGETS.has(name);
}

/** The builder of a standard or extension target; undefined when `name` is a user chain. */
export function createTarget(name: string): TargetBuilder | undefined {
  if (UNMODELLED_TARGETS.has(name)) throw new IptablesRuleError(`target \`${name}' is not modelled`);
  return TARGETS[name]?.();
}
