/**
 * Parses the arguments of one rule (what follows `-A CHAIN` in a restore payload) the way
 * iptables does: base options (-s -d -i -o -p, with `!`), `-m` modules and their options, the
 * implicit protocol match that `-p tcp --dport 80` loads, and `-j` with a standard target, an
 * extension target or a user chain. An option goes to the target first, then to the loaded
 * matches in order, then to the implicit protocol match, as in iptables' own parser. The result
 * carries its canonical iptables-save text, so two spellings of one rule compare equal.
 */
import { createMatch, implicitProtocolMatch, type MatchBuilder } from './rule-matches.ts';
import { formatRule } from './rule-format.ts';
import { createTarget, isTargetName, type TargetBuilder } from './rule-targets.ts';
import { IptablesRuleError, parseAddress, parseInterface } from './rule-values.ts';
import type { IptablesRule, IptablesTarget } from './types.ts';

/** The kernel's chain name limit: 29 bytes with the terminating NUL. */
export const MAX_CHAIN_NAME = 28;

const PROTOCOLS: Record<string, NonNullable<IptablesRule['protocol']>['name'] | 'all'> = {
  tcp: 'tcp',
  '6': 'tcp',
  udp: 'udp',
  '17': 'udp',
  sctp: 'sctp',
  '132': 'sctp',
  icmp: 'icmp',
  '1': 'icmp',
  all: 'all',
  '0': 'all',
};

/** Throws unless `name` can be a user-defined chain. */
export function assertChainName(name: string): void {
  if (name.length === 0 || name.length > MAX_CHAIN_NAME)
    throw new IptablesRuleError(`Invalid chain name \`${name}' (${MAX_CHAIN_NAME} chars max)`);
  if (name.startsWith('-') || name === '!' || /\s/.test(name))
    throw new IptablesRuleError(`Invalid chain name \`${name}'`);
  if (isTargetName(name))
    throw new IptablesRuleError(`chain name \`${name}' may not clash with a target name`);
}

function noNegation(negated: boolean, option: string): void {
  if (negated) throw new IptablesRuleError(`${option} cannot be negated`);
}

function notTwice(present: unknown, option: string): void {
  if (present !== undefined) throw new IptablesRuleError(`multiple ${option} flags not allowed`);
}

function takenByLast(
  matches: MatchBuilder[],
  option: string,
  negated: boolean,
  value: () => string,
): boolean {
  for (let k = matches.length - 1; k >= 0; k--) if (matches[k].take(option, negated, value)) return true;
  return false;
}

export function parseRule(args: readonly string[]): IptablesRule {
  const rule: Omit<IptablesRule, 'text'> = { matches: [] };
  const matches: MatchBuilder[] = [];
  let target: TargetBuilder | undefined;
  let chainTarget: string | undefined;
  let jumped = false;
  let pendingNot = false;
  let i = 0;
  const valueOf = (option: string) => () => {
    if (i >= args.length) throw new IptablesRuleError(`option "${option}" requires an argument`);
    return args[i++];
  };

  while (i < args.length) {
    const arg = args[i++];
    if (arg === '!') {
      if (pendingNot) throw new IptablesRuleError('multiple consecutive ! not allowed');
      pendingNot = true;
      continue;
    }
    const negated = pendingNot;
    pendingNot = false;
    const value = valueOf(arg);
    switch (arg) {
      case '-s':
      case '--source':
      case '--src':
        notTwice(rule.source, '-s');
        rule.source = { cidr: parseAddress(value()), negated };
        break;
      case '-d':
      case '--destination':
      case '--dst':
        notTwice(rule.destination, '-d');
        rule.destination = { cidr: parseAddress(value()), negated };
        break;
      case '-i':
      case '--in-interface':
        notTwice(rule.inInterface, '-i');
        rule.inInterface = { name: parseInterface(value()), negated };
        break;
      case '-o':
      case '--out-interface':
        notTwice(rule.outInterface, '-o');
        rule.outInterface = { name: parseInterface(value()), negated };
        break;
      case '-p':
      case '--protocol': {
        notTwice(rule.protocol, '-p');
        const given = value();
        const name = PROTOCOLS[given.toLowerCase()];
        if (!name) throw new IptablesRuleError(`unknown protocol \`${given}' specified (not modelled)`);
        if (name === 'all') noNegation(negated, '-p all');
        else rule.protocol = { name, negated };
        break;
      }
      case '-m':
      case '--match':
        noNegation(negated, arg);
        matches.push(createMatch(value()));
        break;
      case '-j':
      case '--jump': {
        noNegation(negated, arg);
        if (jumped) throw new IptablesRuleError('multiple -j flags not allowed');
        jumped = true;
        const name = value();
        target = createTarget(name);
        if (!target) {
          assertChainName(name);
          chainTarget = name;
        }
        break;
      }
      case '-c':
      case '--set-counters':
        // Counters on a rule line: iptables keeps them only with --counters; they are not modelled.
        value();
        value();
        break;
      default:
        if (!arg.startsWith('-') || arg === '-') throw new IptablesRuleError(`Bad argument \`${arg}'`);
        if (target?.take(arg, negated, value)) break;
        // The last loaded match that knows the option takes it (`-m tcp --dport 80 -m tcp --sport 5`
        // is two tcp matches), as in iptables-legacy; iptables-nft prints such twins merged.
        if (takenByLast(matches, arg, negated, value)) break;
        if (!matches.some((m) => m.module === rule.protocol?.name)) {
          const implicit = implicitProtocolMatch(rule.protocol);
          if (implicit?.take(arg, negated, value)) {
            matches.push(implicit);
            break;
          }
        }
        throw new IptablesRuleError(`unknown option "${arg}" (or not modelled)`);
    }
  }
  if (pendingNot) throw new IptablesRuleError('a trailing ! negates nothing');
  rule.matches = matches.map((m) => m.finish(rule.protocol));
  const finished: IptablesTarget | undefined = chainTarget
    ? { kind: 'chain', chain: chainTarget }
    : target?.finish(rule.protocol);
  if (finished) rule.target = finished;
  return { ...rule, text: formatRule(rule) };
}
