/**
 * The rules that do not belong to any service: the jumps from built-in chains into kube-proxy's
 * chains (ensured before each full sync, outside the restore, because the built-in chains hold
 * other people's rules too), KUBE-POSTROUTING / KUBE-MARK-MASQ (masquerade what was marked,
 * clearing the mark so a re-traversing packet is not masqueraded twice), KUBE-FORWARD (accept
 * marked and established traffic even under a DROP policy, drop INVALID), and the last rule of
 * nat KUBE-SERVICES, which sends traffic for the node's own addresses to KUBE-NODEPORTS.
 */
import type { JumpRule } from '../../kernel/iptables/types.ts';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from './chain-names.ts';
import { comment } from './rule-text.ts';

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

function jump(
  table: 'filter' | 'nat',
  from: string,
  to: string,
  comment: string,
  match?: string[],
): JumpRule {
  return { table, from, to, comment, ...(match ? { match } : {}), position: 'prepend' };
}

const EXTERNAL = 'kubernetes externally-visible service portals';
const PORTALS = 'kubernetes service portals';
const FIREWALL = 'kubernetes load balancer firewall';

/** Upstream's jumps, in the order it ensures them (each prepended, so the last ends up first). */
export const KUBE_PROXY_JUMP_RULES: readonly JumpRule[] = [
  jump('filter', 'INPUT', KUBE_EXTERNAL_SERVICES, EXTERNAL, NEW),
  jump('filter', 'FORWARD', KUBE_EXTERNAL_SERVICES, EXTERNAL, NEW),
  jump('filter', 'INPUT', KUBE_NODEPORTS, 'kubernetes health check service ports'),
  jump('filter', 'FORWARD', KUBE_SERVICES, PORTALS, NEW),
  jump('filter', 'OUTPUT', KUBE_SERVICES, PORTALS, NEW),
  jump('filter', 'FORWARD', KUBE_FORWARD, 'kubernetes forwarding rules'),
  jump('filter', 'INPUT', KUBE_PROXY_FIREWALL, FIREWALL, NEW),
  jump('filter', 'OUTPUT', KUBE_PROXY_FIREWALL, FIREWALL, NEW),
  jump('filter', 'FORWARD', KUBE_PROXY_FIREWALL, FIREWALL, NEW),
  jump('nat', 'OUTPUT', KUBE_SERVICES, PORTALS),
  jump('nat', 'PREROUTING', KUBE_SERVICES, PORTALS),
  jump('nat', 'POSTROUTING', KUBE_POSTROUTING, 'kubernetes postrouting rules'),
];

export function postroutingRules(mark: string): string[] {
  return [
    `-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`,
    `-A ${KUBE_POSTROUTING} ${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
    `-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`,
  ];
}

export function forwardRules(mark: string): string[] {
  return [
    `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP`,
    `-A ${KUBE_FORWARD} ${comment('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A ${KUBE_FORWARD} ${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  ];
}

/** Where node ports are served: every local address (addrtype LOCAL) or the node's own IPs. */
export type NodePortAddresses = 'all' | 'node-ips';

const TAIL_COMMENT = comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain');

/**
 * The last rule(s) of nat KUBE-SERVICES. With 'all', loopback is excluded as upstream does when
 * localhost node ports are off (kdp does not set route_localnet, so they could not work anyway).
 */
export function nodePortsTail(mode: NodePortAddresses, nodeIPs: readonly string[]): string[] {
  if (mode === 'all')
    return [
      `-A ${KUBE_SERVICES} ${TAIL_COMMENT} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${KUBE_NODEPORTS}`,
    ];
  return nodeIPs.map((ip) => `-A ${KUBE_SERVICES} ${TAIL_COMMENT} -d ${ip} -j ${KUBE_NODEPORTS}`);
}
