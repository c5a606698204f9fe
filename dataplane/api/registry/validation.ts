/**
 * Field validators with upstream's rules and wording. Each returns undefined when the value is
 * valid, or the reason it is not.
 */
import { Address4, Address6 } from 'ip-address';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function dns1123Label(s: string): string | undefined {
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(s)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  }
  return undefined;
}

export function dns1123Subdomain(s: string): string | undefined {
  if (s.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(s)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Service names: they become DNS labels and environment variable names, so no leading digit. */
export function dns1035Label(s: string): string | undefined {
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!DNS1035_LABEL.test(s)) {
    return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  }
  return undefined;
}

/** Label and annotation keys: optional DNS subdomain prefix and a qualified name. */
export function labelKey(k: string): string | undefined {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix === '' || dns1123Subdomain(prefix))) {
    return 'prefix part must be a lowercase RFC 1123 subdomain';
  }
  if (!name || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)";
  }
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(v)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

// ---- addresses ----

/** A bare address: no prefix length and no zone (ip-address accepts both, upstream does not). */
function bare(s: string): boolean {
  return !s.includes('/') && !s.includes('%');
}

/** Whether an address lies in a CIDR (both valid, same family). */
export function cidrContains(net: string, ip: string): boolean {
  if (isIPv4(ip)) return Address4.isValid(net) && new Address4(ip).isInSubnet(new Address4(net));
  return isIPv6(ip) && Address6.isValid(net) && new Address6(ip).isInSubnet(new Address6(net));
}

/** Dotted quad without leading zeros (upstream rejects 010.0.0.1 as ambiguous). A regex, as
 * EndpointSlices carry up to 100 000 addresses and a parser per address shows in write latency. */
const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

export function isIPv4(s: unknown): s is string {
  return typeof s === 'string' && IPV4.test(s);
}

export function isIPv6(s: unknown): s is string {
  return typeof s === 'string' && bare(s) && !s.includes('.') && Address6.isValid(s);
}

export function ipAddress(s: unknown): string | undefined {
  if (isIPv4(s) || isIPv6(s)) return undefined;
  return 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
}

export function ipv4Address(s: unknown): string | undefined {
  return isIPv4(s) ? undefined : 'must be a valid IPv4 address';
}

export function ipv6Address(s: unknown): string | undefined {
  return isIPv6(s) ? undefined : 'must be a valid IPv6 address';
}

export function cidr(s: unknown): string | undefined {
  const msg = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';
  if (typeof s !== 'string' || !/^[^/%]+\/(0|[1-9][0-9]{0,2})$/.test(s)) return msg;
  const [addr] = s.split('/');
  if (Address4.isValid(addr)) return Address4.isValid(s) ? undefined : msg;
  return Address6.isValid(s) && !addr.includes('.') ? undefined : msg;
}

/**
 * Addresses a Service or Endpoints may not point at: they would reach the node itself or
 * nothing at all (upstream's "non-special IP" rule). Assumes a valid address.
 */
export function nonSpecialIP(s: string): string | undefined {
  if (isIPv4(s)) {
    const [a, b, c] = s.split('.').map(Number);
    if (s === '0.0.0.0') return 'may not be unspecified (0.0.0.0)';
    if (a === 127) return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
    if (a === 169 && b === 254) return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
    if (a === 224 && b === 0 && c === 0)
      return 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)';
    // Stricter than upstream: no proxy can forward to a group or broadcast address either.
    if (a >= 224 && a <= 239) return 'may not be a multicast address (224.0.0.0/4, ff00::/8)';
    if (s === '255.255.255.255') return 'may not be the broadcast address (255.255.255.255)';
    return undefined;
  }
  const a6 = new Address6(s);
  if (a6.isUnspecified()) return 'may not be unspecified (::)';
  if (a6.isLoopback()) return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
  if (a6.isLinkLocal()) return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
  if (a6.isInSubnet(new Address6('ff02::/16'))) {
    return 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)';
  }
  if (a6.isMulticast()) return 'may not be a multicast address (224.0.0.0/4, ff00::/8)';
  return undefined;
}

// ---- ports and protocols ----

function isInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n);
}

export function portNumber(n: unknown): string | undefined {
  return isInt(n) && n >= 1 && n <= 65535 ? undefined : 'must be between 1 and 65535, inclusive';
}

export function inRange(n: unknown, min: number, max: number): string | undefined {
  return isInt(n) && n >= min && n <= max ? undefined : `must be between ${min} and ${max}, inclusive`;
}

/** IANA_SVC_NAME (RFC 6335): what a named port (containerPort name, Service targetPort) must be. */
export function ianaServiceName(s: string): string | undefined {
  if (s.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(s))
    return 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)';
  if (!/[a-z]/.test(s)) return 'must contain at least one letter (a-z)';
  if (s.includes('--')) return 'must not contain consecutive hyphens';
  if (s.startsWith('-') || s.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}

/** A port given as number or name (Service targetPort). */
export function portNumberOrName(v: unknown): string | undefined {
  if (typeof v === 'number') return portNumber(v);
  if (typeof v === 'string') return ianaServiceName(v);
  return 'must be a port number or a port name';
}

/** Protocols, sorted as upstream lists them in "supported values". */
export const PROTOCOLS: readonly string[] = ['SCTP', 'TCP', 'UDP'];
