/**
 * Restore payloads in kube-proxy's shape (the chains and rules its iptables mode writes on a full
 * sync: filter KUBE-SERVICES/KUBE-EXTERNAL-SERVICES/KUBE-FORWARD/KUBE-NODEPORTS/
 * KUBE-PROXY-FIREWALL, nat KUBE-SERVICES dispatch, one KUBE-SVC chain per service port with
 * statistic load balancing, one KUBE-SEP chain per endpoint with hairpin masquerade and DNAT,
 * KUBE-MARK-MASQ and KUBE-POSTROUTING), and the jumps from built-in chains it ensures. For
 * measuring iptables-restore at scale and for parity tests between the fake and the kernel;
 * the real proxier generates its own rules.
 */
import { createHash } from 'node:crypto';
import type { JumpRule } from '../iptables/types.ts';

export interface KubeShapeOptions {
  services: number;
  endpointsPerService: number;
  /** Give every service a NodePort (30000 + index); default false. */
  nodePorts?: boolean;
  /** `-m comment` on every rule, as kube-proxy below its large-cluster threshold; default true. */
  comments?: boolean;
  /** The pod CIDR traffic from outside of is masqueraded; default 10.244.0.0/16. */
  podCidr?: string;
}

export const KUBE_MARK_MASQ_BIT = '0x4000';

/** The jumps kube-proxy's iptables mode keeps in built-in chains. */
export const KUBE_PROXY_JUMPS: readonly JumpRule[] = [
  { table: 'filter', from: 'INPUT', to: 'KUBE-NODEPORTS', comment: 'kubernetes health check service ports' },
  {
    table: 'filter',
    from: 'INPUT',
    to: 'KUBE-EXTERNAL-SERVICES',
    match: ['-m', 'conntrack', '--ctstate', 'NEW'],
    comment: 'kubernetes externally-visible service portals',
  },
  {
    table: 'filter',
    from: 'FORWARD',
    to: 'KUBE-EXTERNAL-SERVICES',
    match: ['-m', 'conntrack', '--ctstate', 'NEW'],
    comment: 'kubernetes externally-visible service portals',
  },
  {
    table: 'filter',
    from: 'FORWARD',
    to: 'KUBE-SERVICES',
    match: ['-m', 'conntrack', '--ctstate', 'NEW'],
    comment: 'kubernetes service portals',
  },
  {
    table: 'filter',
    from: 'OUTPUT',
    to: 'KUBE-SERVICES',
    match: ['-m', 'conntrack', '--ctstate', 'NEW'],
    comment: 'kubernetes service portals',
  },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-FORWARD', comment: 'kubernetes forwarding rules' },
  { table: 'nat', from: 'PREROUTING', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'OUTPUT', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'POSTROUTING', to: 'KUBE-POSTROUTING', comment: 'kubernetes postrouting rules' },
];

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** First 16 base32 characters of sha256(text): kube-proxy's chain-name hash. */
export function chainHash(text: string): string {
  const bytes = createHash('sha256').update(text).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length === 16) break;
  }
  return out;
}

/** ClusterIP of service i: 10.96.0.0/16 from .0.10 on. */
export function serviceIp(i: number): string {
  const n = i + 10;
  return `10.96.${(n >> 8) & 255}.${n & 255}`;
}

/** Endpoint e of service i, spread over 10.244.0.0/16 then onwards. */
export function endpointIp(i: number, e: number, perService: number): string {
  const n = i * perService + e + 2;
  return `10.${244 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** kube-proxy's probability text for the i-th of n remaining endpoints: 1/(n-i), 10 decimals. */
function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}

export function kubeShapedPayload(o: KubeShapeOptions): string {
  const comments = o.comments ?? true;
  const podCidr = o.podCidr ?? '10.244.0.0/16';
  const c = (text: string) => (comments ? `-m comment --comment "${text}" ` : '');
  const filterChains = [
    'KUBE-SERVICES',
    'KUBE-EXTERNAL-SERVICES',
    'KUBE-FORWARD',
    'KUBE-NODEPORTS',
    'KUBE-PROXY-FIREWALL',
  ];
  const filter = ['*filter', ...filterChains.map((n) => `:${n} - [0:0]`)];
  filter.push(
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    `-A KUBE-FORWARD ${c('kubernetes forwarding rules')}-m mark --mark ${KUBE_MARK_MASQ_BIT}/${KUBE_MARK_MASQ_BIT} -j ACCEPT`,
    `-A KUBE-FORWARD ${c('kubernetes forwarding conntrack rule')}-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    'COMMIT',
  );
  const natChains = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'].map(
    (n) => `:${n} - [0:0]`,
  );
  const natRules = [
    `-A KUBE-POSTROUTING -m mark ! --mark ${KUBE_MARK_MASQ_BIT}/${KUBE_MARK_MASQ_BIT} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${KUBE_MARK_MASQ_BIT}`,
    `-A KUBE-POSTROUTING ${c('kubernetes service traffic requiring SNAT')}-j MASQUERADE --random-fully`,
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${KUBE_MARK_MASQ_BIT}`,
  ];
  const dispatch: string[] = [];
  for (let i = 0; i < o.services; i++) {
    const name = `ns${i % 100}/svc${i}:http`;
    const svc = `KUBE-SVC-${chainHash(`${name}tcp`)}`;
    const ip = serviceIp(i);
    natChains.push(`:${svc} - [0:0]`);
    dispatch.push(`-A KUBE-SERVICES ${c(`${name} cluster IP`)}-m tcp -p tcp -d ${ip} --dport 80 -j ${svc}`);
    natRules.push(
      `-A ${svc} ${c(`${name} cluster IP`)}-m tcp -p tcp -d ${ip} --dport 80 ! -s ${podCidr} -j KUBE-MARK-MASQ`,
    );
    if (o.nodePorts) {
      const ext = `KUBE-EXT-${chainHash(`${name}tcp`)}`;
      natChains.push(`:${ext} - [0:0]`);
      natRules.push(
        `-A KUBE-NODEPORTS ${c(name)}-m tcp -p tcp --dport ${30000 + i} -j ${ext}`,
        `-A ${ext} ${c(`masquerade traffic for ${name} external destinations`)}-j KUBE-MARK-MASQ`,
        `-A ${ext} -j ${svc}`,
      );
    }
    for (let e = 0; e < o.endpointsPerService; e++) {
      const ep = endpointIp(i, e, o.endpointsPerService);
      const sep = `KUBE-SEP-${chainHash(`${name}tcp${ep}:8080`)}`;
      const remaining = o.endpointsPerService - e;
      const lb = remaining > 1 ? `-m statistic --mode random --probability ${probability(remaining)} ` : '';
      natChains.push(`:${sep} - [0:0]`);
      natRules.push(
        `-A ${svc} ${c(`${name} -> ${ep}:8080`)}${lb}-j ${sep}`,
        `-A ${sep} ${c(name)}-s ${ep} -j KUBE-MARK-MASQ`,
        `-A ${sep} ${c(name)}-m tcp -p tcp -j DNAT --to-destination ${ep}:8080`,
      );
    }
  }
  dispatch.push(
    `-A KUBE-SERVICES ${c('kubernetes service nodeports; NOTE: this must be the last rule in this chain')}-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
  );
  return [...filter, '*nat', ...natChains, ...natRules, ...dispatch, 'COMMIT', ''].join('\n');
}
