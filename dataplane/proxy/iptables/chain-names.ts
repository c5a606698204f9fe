/**
 * The names the iptables mode gives its chains, exactly as kube-proxy does, so that
 * `iptables-save` on a kdp node reads like one on a kube-proxy node and a user's grep for
 * KUBE-SVC-<hash> finds the same chain: fixed top-level chains, and per service port / endpoint
 * chains named by a prefix and 16 base32 characters of sha256(ServicePortName + protocol
 * [+ endpoint]). Also the probability text of the statistic match, printed as Go's %0.10f.
 */
import crypto from 'node:crypto';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';

/** Top-level chains of the filter table, declared (emptied) by every full sync, in upstream's order. */
export const FILTER_CHAINS = [
  KUBE_SERVICES,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_PROXY_FIREWALL,
] as const;
/** Top-level chains of the nat table, in upstream's order. */
export const NAT_CHAINS = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ] as const;

/** Per service port: the Cluster-policy endpoints (upstream's "cluster policy chain"). */
export const SVC_PREFIX = 'KUBE-SVC-';
/** Per service port: the Local-policy endpoints. */
export const SVL_PREFIX = 'KUBE-SVL-';
/** Per service port: external destinations (node ports, external IPs, load balancer IPs). */
export const EXT_PREFIX = 'KUBE-EXT-';
/** Per service port: loadBalancerSourceRanges (kdp's model has none; only cleaned up). */
export const FW_PREFIX = 'KUBE-FW-';
/** Per endpoint of a service port. */
export const SEP_PREFIX = 'KUBE-SEP-';

const SERVICE_CHAIN_PREFIXES = [SVC_PREFIX, SVL_PREFIX, EXT_PREFIX, FW_PREFIX, SEP_PREFIX];

/** A per-service or per-endpoint chain (what a full sync deletes when nothing uses it any more). */
export function isServiceChain(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** One-shot crypto.hash (Node >= 20.12) is ~3x faster than createHash for short inputs. */
const sha256: (text: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'buffer')
    : (text) => crypto.createHash('sha256').update(text).digest();

/** The first 16 characters of RFC 4648 base32 (standard alphabet) of sha256(text): 80 bits. */
export function hash16(text: string): string {
  const d = sha256(text);
  let out = '';
  // 16 characters x 5 bits = the first 10 bytes, taken as two groups of 5 bytes = 8 characters.
  for (let g = 0; g < 10; g += 5) {
    const hi = d[g]; // bits 39..32 of the 40-bit group
    const lo = ((d[g + 1] << 24) | (d[g + 2] << 16) | (d[g + 3] << 8) | d[g + 4]) >>> 0;
    out +=
      BASE32[hi >> 3] +
      BASE32[((hi & 7) << 2) | (lo >>> 30)] +
      BASE32[(lo >>> 25) & 31] +
      BASE32[(lo >>> 20) & 31] +
      BASE32[(lo >>> 15) & 31] +
      BASE32[(lo >>> 10) & 31] +
      BASE32[(lo >>> 5) & 31] +
      BASE32[lo & 31];
  }
  return out;
}

/** The hash part of a service port's chains: ServicePortName string + lower-case protocol. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol.toLowerCase());
}

/** KUBE-SEP-<hash of ServicePortName + protocol + "ip:port">. */
export function endpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return SEP_PREFIX + hash16(servicePortName + protocol.toLowerCase() + endpoint);
}

const probabilities: string[] = [];

/**
 * 1/n with ten decimals as Go's %0.10f prints the float64 nearest to it: the exact binary value
 * rounded to nearest, ties to even (1/2048 is exactly ...125 and prints ...12, where JavaScript's
 * toFixed would print ...13). Cached, as upstream precomputes them.
 */
export function probability(n: number): string {
  let text = probabilities[n];
  if (text !== undefined) return text;
  // toFixed(100) is exact for these values: 1/n has at most ~75 significant decimal places here.
  const exact = (1 / n).toFixed(100);
  const point = exact.indexOf('.');
  const kept = exact.slice(0, point + 11);
  const rest = exact.slice(point + 11).replace(/0+$/, '');
  const up = rest > '5' || (rest === '5' && Number(kept.at(-1)) % 2 === 1);
  if (!up) text = kept;
  else {
    const scaled = BigInt(kept.replace('.', '')) + 1n;
    const digits = scaled.toString().padStart(11, '0');
    text = `${digits.slice(0, -10)}.${digits.slice(-10)}`;
  }
  probabilities[n] = text;
  return text;
}
