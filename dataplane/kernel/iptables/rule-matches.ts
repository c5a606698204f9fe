/**
 * The match modules kube-proxy's rules use (tcp/udp/sctp, comment, addrtype, mark, conntrack,
 * statistic, recent, multiport), each as a builder that takes its own options while a rule is
 * parsed and checks the result once the rule is complete, with iptables' defaults filled in
 * (recent's DEFAULT name and full mask, a comment cut to 255 characters). A module or option
 * outside this set is refused as "not modelled", so the fake never accepts what it cannot trace.
 */
import { ADDR_TYPES, CT_STATES, type AddrType, type CtState, type IptablesMatch } from './types.ts';
import type { IptablesRule, PortProtocol, PortRange } from './types.ts';
import {
  IptablesRuleError,
  parseAddress,
  parseMarkPair,
  parsePortRange,
  parseProbability,
  parseU32,
} from './rule-values.ts';

export interface MatchBuilder {
  readonly module: string;
  /** Consumes `option` if it belongs to this module; false when it does not. */
  take(option: string, negated: boolean, value: () => string): boolean;
  /** The finished match; throws when it is incomplete or does not fit the rule's protocol. */
  finish(protocol: IptablesRule['protocol']): IptablesMatch;
}

/** The kernel keeps at most 256 bytes with the terminating NUL; iptables cuts longer comments. */
const MAX_COMMENT = 255;
const MAX_MULTIPORT = 15;
const PORT_PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

function once<T>(current: T | undefined, option: string): void {
  if (current !== undefined) throw new IptablesRuleError(`multiple ${option} options are not allowed`);
}

function noNegation(negated: boolean, option: string): void {
  if (negated) throw new IptablesRuleError(`${option} cannot be negated`);
}

function needsPortProtocol(protocol: IptablesRule['protocol'], module: string): void {
  if (!protocol || protocol.negated || !PORT_PROTOCOLS.includes(protocol.name))
    throw new IptablesRuleError(`${module} needs \`-p tcp', \`-p udp' or \`-p sctp'`);
}

function portMatch(module: PortProtocol): MatchBuilder {
  let sport: (PortRange & { negated: boolean }) | undefined;
  let dport: (PortRange & { negated: boolean }) | undefined;
  return {
    module,
    take(option, negated, value) {
      if (option === '--sport' || option === '--source-port') {
        once(sport, '--sport');
        sport = { ...parsePortRange(value()), negated };
      } else if (option === '--dport' || option === '--destination-port') {
        once(dport, '--dport');
        dport = { ...parsePortRange(value()), negated };
      } else return false;
      return true;
    },
    finish(protocol) {
      if (!protocol || protocol.negated || protocol.name !== module)
        throw new IptablesRuleError(`the ${module} match needs \`-p ${module}'`);
      return { module, sport, dport };
    },
  };
}

function commentMatch(): MatchBuilder {
  let comment: string | undefined;
  return {
    module: 'comment',
    take(option, negated, value) {
      if (option !== '--comment') return false;
      noNegation(negated, option);
      once(comment, option);
      comment = value().slice(0, MAX_COMMENT);
      return true;
    },
    finish() {
      if (comment === undefined) throw new IptablesRuleError('comment match: --comment is required');
      return { module: 'comment', comment };
    },
  };
}

function addrTypes(text: string): AddrType[] {
  const types = text.split(',').map((t) => t.toUpperCase());
  for (const t of types)
    if (!(ADDR_TYPES as readonly string[]).includes(t))
      throw new IptablesRuleError(`addrtype: unknown type \`${t}'`);
  return ADDR_TYPES.filter((t) => types.includes(t));
}

function addrtypeMatch(): MatchBuilder {
  const m: Extract<IptablesMatch, { module: 'addrtype' }> = { module: 'addrtype' };
  return {
    module: 'addrtype',
    take(option, negated, value) {
      if (option === '--src-type') {
        once(m.srcType, option);
        m.srcType = { types: addrTypes(value()), negated };
      } else if (option === '--dst-type') {
        once(m.dstType, option);
        m.dstType = { types: addrTypes(value()), negated };
      } else return false;
      return true;
    },
    finish() {
      if (!m.srcType && !m.dstType) throw new IptablesRuleError('addrtype needs --src-type or --dst-type');
      return m;
    },
  };
}

function markMatch(): MatchBuilder {
  let m: Extract<IptablesMatch, { module: 'mark' }> | undefined;
  return {
    module: 'mark',
    take(option, negated, value) {
      if (option !== '--mark') return false;
      once(m, option);
      m = { module: 'mark', ...parseMarkPair(value()), negated };
      return true;
    },
    finish() {
      if (!m) throw new IptablesRuleError('mark match: --mark is required');
      return m;
    },
  };
}

function conntrackMatch(): MatchBuilder {
  let m: Extract<IptablesMatch, { module: 'conntrack' }> | undefined;
  return {
    module: 'conntrack',
    take(option, negated, value) {
      if (option !== '--ctstate') return false;
      once(m, option);
      const given = value().split(',');
      for (const s of given)
        if (!(CT_STATES as readonly string[]).includes(s))
          throw new IptablesRuleError(`conntrack: bad ctstate \`${s}'`);
      const states: CtState[] = CT_STATES.filter((s) => given.includes(s));
      m = { module: 'conntrack', states, negated };
      return true;
    },
    finish() {
      if (!m) throw new IptablesRuleError('conntrack: only --ctstate is modelled, and it is missing');
      return m;
    },
  };
}

function statisticMatch(): MatchBuilder {
  let mode: string | undefined;
  let fraction: number | undefined;
  let every: number | undefined;
  let packet: number | undefined;
  let negated = false;
  return {
    module: 'statistic',
    take(option, neg, value) {
      if (option === '--mode') {
        noNegation(neg, option);
        once(mode, option);
        mode = value();
        if (mode !== 'random' && mode !== 'nth')
          throw new IptablesRuleError(`statistic: bad mode \`${mode}'`);
      } else if (option === '--probability') {
        once(fraction, option);
        fraction = parseProbability(value());
        negated ||= neg;
      } else if (option === '--every') {
        once(every, option);
        every = parseU32(value());
        negated ||= neg;
      } else if (option === '--packet') {
        noNegation(neg, option);
        once(packet, option);
        packet = parseU32(value());
      } else return false;
      return true;
    },
    finish() {
      if (mode === 'random') {
        if (fraction === undefined || every !== undefined || packet !== undefined)
          throw new IptablesRuleError('statistic --mode random takes --probability only');
        return { module: 'statistic', mode, fraction, negated };
      }
      if (mode === 'nth') {
        if (
          every === undefined ||
          every === 0 ||
          packet === undefined ||
          packet >= every ||
          fraction !== undefined
        )
          throw new IptablesRuleError('statistic --mode nth needs --every N and --packet below N');
        return { module: 'statistic', mode, every, packet, negated };
      }
      throw new IptablesRuleError('statistic: --mode is required');
    },
  };
}

const RECENT_COMMANDS = ['set', 'rcheck', 'update', 'remove'] as const;

function recentMatch(): MatchBuilder {
  let command: (typeof RECENT_COMMANDS)[number] | undefined;
  let negated = false;
  let name: string | undefined;
  let seconds: number | undefined;
  let hitcount: number | undefined;
  let mask: string | undefined;
  let side: 'source' | 'dest' | undefined;
  let reap = false;
  let rttl = false;
  return {
    module: 'recent',
    take(option, neg, value) {
      const cmd = RECENT_COMMANDS.find((c) => option === `--${c}`);
      if (cmd) {
        if (command) throw new IptablesRuleError('recent: only one of --set, --rcheck, --update, --remove');
        command = cmd;
        negated = neg;
        return true;
      }
      if (option === '--name') {
        noNegation(neg, option);
        once(name, option);
        name = value();
        if (name.length === 0 || name.length > 200) throw new IptablesRuleError('recent: bad --name');
      } else if (option === '--seconds') {
        once(seconds, option);
        seconds = parseU32(value());
      } else if (option === '--hitcount') {
        once(hitcount, option);
        hitcount = parseU32(value());
      } else if (option === '--mask') {
        once(mask, option);
        mask = parseAddress(value()).split('/')[0];
      } else if (option === '--rsource' || option === '--rdest') {
        side = option === '--rsource' ? 'source' : 'dest';
      } else if (option === '--reap') reap = true;
      else if (option === '--rttl') rttl = true;
      else return false;
      noNegation(neg, option);
      return true;
    },
    finish() {
      if (!command)
        throw new IptablesRuleError('recent: one of --set, --rcheck, --update, --remove is required');
      const checks = command === 'rcheck' || command === 'update';
      if ((seconds !== undefined || hitcount !== undefined || reap) && !checks)
        throw new IptablesRuleError('recent: --seconds, --hitcount and --reap need --rcheck or --update');
      if (reap && seconds === undefined) throw new IptablesRuleError('recent: --reap needs --seconds');
      return {
        module: 'recent',
        command,
        negated,
        name: name ?? 'DEFAULT',
        seconds,
        reap,
        hitcount,
        rttl,
        mask: mask ?? '255.255.255.255',
        side: side ?? 'source',
      };
    },
  };
}

const MULTIPORT_OPTIONS: Record<string, 'sports' | 'dports' | 'ports'> = {
  '--sports': 'sports',
  '--source-ports': 'sports',
  '--dports': 'dports',
  '--destination-ports': 'dports',
  '--ports': 'ports',
};

function multiportMatch(): MatchBuilder {
  let m: Extract<IptablesMatch, { module: 'multiport' }> | undefined;
  return {
    module: 'multiport',
    take(option, negated, value) {
      const direction = MULTIPORT_OPTIONS[option];
      if (!direction) return false;
      if (m) throw new IptablesRuleError('multiport can only have one option');
      const ports = value().split(',').map(parsePortRange);
      const slots = ports.reduce((n, p) => n + (p.from === p.to ? 1 : 2), 0);
      if (slots > MAX_MULTIPORT)
        throw new IptablesRuleError(`too many ports specified (at most ${MAX_MULTIPORT})`);
      m = { module: 'multiport', direction, ports, negated };
      return true;
    },
    finish(protocol) {
      needsPortProtocol(protocol, 'multiport');
      if (!m) throw new IptablesRuleError('multiport needs --sports, --dports or --ports');
      return m;
    },
  };
}

const MATCHES: Record<string, () => MatchBuilder> = {
  tcp: () => portMatch('tcp'),
  udp: () => portMatch('udp'),
  sctp: () => portMatch('sctp'),
  comment: commentMatch,
  addrtype: addrtypeMatch,
  mark: markMatch,
  conntrack: conntrackMatch,
  statistic: statisticMatch,
  recent: recentMatch,
  multiport: multiportMatch,
};

export function createMatch(module: string): MatchBuilder {
  const make = MATCHES[module];
  if (!make) throw new IptablesRuleError(`match \`${module}' is not modelled`);
  return make();
}

/** The implicit match `-p tcp --dport 80` loads when an option belongs to no loaded match. */
export function implicitProtocolMatch(protocol: IptablesRule['protocol']): MatchBuilder | undefined {
  if (!protocol || protocol.negated || !PORT_PROTOCOLS.includes(protocol.name)) return undefined;
  return createMatch(protocol.name);
}
