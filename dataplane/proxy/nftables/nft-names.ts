/**
 * The names of the nftables mode's objects, as kube-proxy's nftables mode gives them, so
 * `nft list table ip kube-proxy` on a kdp node reads like one on a kube-proxy node: fixed chains,
 * sets and maps, and per service port / endpoint chains named by a prefix and
 * `HASH-ns/name/proto/port[__ip/port]`, HASH being 8 base32 characters of sha256 of the rest
 * (`ns1/svc1` port p80 tcp is `service-ULMVA6XW-ns1/svc1/tcp/p80`, as in upstream's tests).
 */
import crypto from 'node:crypto';

export const TABLE = 'kube-proxy';

export const SERVICES = 'services';
export const SERVICE_IPS = 'service-ips';
export const SERVICE_NODEPORTS = 'service-nodeports';
export const NODEPORT_IPS = 'nodeport-ips';
export const CLUSTER_IPS = 'cluster-ips';
export const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
export const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
export const REJECT_CHAIN = 'reject-chain';
export const CLUSTER_IPS_CHECK = 'cluster-ips-check';
export const FIREWALL_IPS = 'firewall-ips';
export const FIREWALL_CHECK = 'firewall-check';
export const MARK_MASQ = 'mark-for-masquerade';
export const MASQUERADING = 'masquerading';

/** Prefixes of the per-object chains and sets; a chain with one of them is the sync's to manage. */
export const SERVICE_PREFIX = 'service-';
export const LOCAL_PREFIX = 'local-';
export const EXTERNAL_PREFIX = 'external-';
export const ENDPOINT_PREFIX = 'endpoint-';
export const AFFINITY_PREFIX = 'affinity-';

/** nftables allows 128 characters; upstream keeps 16 for the prefix. */
const BASE_MAX = 128 - 16;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** `HASH-name`, cut to fit with `...` (the hash keeps a cut name unique). */
export function hashAndTruncate(name: string): string {
  const hash = base32(crypto.createHash('sha256').update(name).digest()).slice(0, 8);
  const full = `${hash}-${name}`;
  return full.length > BASE_MAX ? `${full.slice(0, BASE_MAX - 3)}...` : full;
}

/** `ns/name/proto/port` hashed: the base of a service port's chains. */
export function servicePortBase(namespace: string, name: string, protocol: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}`);
}

/** `ns/name/proto/port__ip/port` hashed: the base of an endpoint's chain and affinity set. */
export function endpointBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  endpoint: string,
): string {
  const colon = endpoint.lastIndexOf(':');
  const ipPort = `${endpoint.slice(0, colon).replace(/^\[|\]$/g, '')}/${endpoint.slice(colon + 1)}`;
  return hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}__${ipPort}`);
}
