/**
 * The part of table kube-proxy that does not depend on Services, in upstream's shape: the base
 * chains at upstream's hooks and priorities (filter chains 10 before DNAT so they see the
 * addresses clients used; one output filter chain 10 after it), the jumps from them, the
 * dispatch and check chains with their verdict maps, masquerading by the mark, and the sets and
 * maps the service ports fill in.
 */
import {
  CLUSTER_IPS,
  CLUSTER_IPS_CHECK,
  FIREWALL_CHECK,
  FIREWALL_IPS,
  MARK_MASQ,
  MASQUERADING,
  NODEPORT_ENDPOINTS_CHECK,
  NODEPORT_IPS,
  NO_ENDPOINT_NODEPORTS,
  NO_ENDPOINT_SERVICES,
  REJECT_CHAIN,
  SERVICE_ENDPOINTS_CHECK,
  SERVICE_IPS,
  SERVICE_NODEPORTS,
  SERVICES,
} from './nft-names.ts';

export const BASE_CHAINS: readonly {
  name: string;
  type: 'filter' | 'nat';
  hook: string;
  priority: number;
}[] = [
  { name: 'filter-prerouting', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: -110 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: -110 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-output-post-dnat', type: 'filter', hook: 'output', priority: -90 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** [base chain, rule] in upstream's order. */
const JUMPS: readonly [string, string][] = [
  ['filter-prerouting', `ct state new jump ${FIREWALL_CHECK}`],
  ['filter-input', `ct state new jump ${NODEPORT_ENDPOINTS_CHECK}`],
  ['filter-input', `ct state new jump ${SERVICE_ENDPOINTS_CHECK}`],
  ['filter-forward', `ct state new jump ${SERVICE_ENDPOINTS_CHECK}`],
  ['filter-forward', `ct state new jump ${CLUSTER_IPS_CHECK}`],
  ['filter-output', `ct state new jump ${SERVICE_ENDPOINTS_CHECK}`],
  ['filter-output', `ct state new jump ${FIREWALL_CHECK}`],
  ['filter-output-post-dnat', `ct state new jump ${CLUSTER_IPS_CHECK}`],
  ['nat-prerouting', `jump ${SERVICES}`],
  ['nat-output', `jump ${SERVICES}`],
  ['nat-postrouting', `jump ${MASQUERADING}`],
];

/** Node ports on every local address but loopback (upstream's default nodePortAddresses). */
const NODEPORT_DESTINATION = 'fib daddr type local ip daddr != 127.0.0.0/8';

function hex8(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Rules of the fixed regular chains. */
export function fixedChainRules(masqueradeMark: number): [string, string[]][] {
  const mark = hex8(masqueradeMark);
  return [
    [
      SERVICES,
      [
        `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`,
        `${NODEPORT_DESTINATION} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`,
      ],
    ],
    [SERVICE_ENDPOINTS_CHECK, [`ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`]],
    [
      NODEPORT_ENDPOINTS_CHECK,
      [`${NODEPORT_DESTINATION} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`],
    ],
    [
      CLUSTER_IPS_CHECK,
      [`ip daddr @${CLUSTER_IPS} reject comment "Reject traffic to invalid ports of ClusterIPs"`],
    ],
    [FIREWALL_CHECK, [`ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS}`]],
    [REJECT_CHAIN, ['reject']],
    [MARK_MASQ, [`meta mark set meta mark | ${mark}`]],
    [
      MASQUERADING,
      [
        `meta mark & ${mark} == ${hex8(0)} return`,
        `meta mark set meta mark ^ ${mark}`,
        'masquerade fully-random',
      ],
    ],
  ];
}

/** Everything fixed, as commands on `family kube-proxy`: sets, chains, rules. */
export function fixedScript(family: string, masqueradeMark: number): string[] {
  const t = `${family} kube-proxy`;
  const addr = family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
  const lines = [
    `add table ${t} { comment "rules for kube-proxy" ; }`,
    `add set ${t} ${CLUSTER_IPS} { type ${addr} ; comment "Active ClusterIPs" ; }`,
    `add set ${t} ${NODEPORT_IPS} { type ${addr} ; comment "IPs that accept NodePort traffic" ; }`,
    `add map ${t} ${SERVICE_IPS} { type ${addr} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${t} ${SERVICE_NODEPORTS} { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add map ${t} ${NO_ENDPOINT_SERVICES} { type ${addr} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${t} ${NO_ENDPOINT_NODEPORTS} { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${t} ${FIREWALL_IPS} { type ${addr} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
  ];
  for (const b of BASE_CHAINS)
    lines.push(`add chain ${t} ${b.name} { type ${b.type} hook ${b.hook} priority ${b.priority} ; }`);
  const fixed = fixedChainRules(masqueradeMark);
  for (const [name] of fixed) lines.push(`add chain ${t} ${name}`);
  for (const [chain, rule] of JUMPS) lines.push(`add rule ${t} ${chain} ${rule}`);
  for (const [name, rules] of fixed) for (const r of rules) lines.push(`add rule ${t} ${name} ${r}`);
  return lines;
}
