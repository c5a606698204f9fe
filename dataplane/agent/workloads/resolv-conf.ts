/**
 * The resolv.conf a pod's processes see, as a kubelet writes it (pkg/kubelet/network/dns):
 *
 *   ClusterFirst (default)   nameserver <cluster DNS>, search <ns>.svc.<domain> svc.<domain>
 *                            <domain>, options ndots:5; hostNetwork pods fall back to Default
 *   ClusterFirstWithHostNet  the same, for hostNetwork pods too
 *   Default                  the host's resolv.conf
 *   None                     only what dnsConfig says
 *
 * dnsConfig is then merged: its nameservers and searches are appended (duplicates dropped; at most
 * 3 nameservers and 32 search domains), its options replace same-named ones. Without a cluster DNS
 * (`kdp up --dns=false`) ClusterFirst falls back to Default, as a kubelet without --cluster-dns.
 * `undefined` means "the host's file as it is" (nothing to mount over it).
 */
import type { Pod } from '../../api/types.ts';

export interface ClusterDns {
  /** The kube-dns Service's address; none when the cluster has no DNS. */
  nameserver?: string;
  /** Default cluster.local. */
  domain?: string;
}

interface Parsed {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export function parseResolvConf(text: string): Parsed {
  const out: Parsed = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const [key, ...fields] = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && fields[0]) out.nameservers.push(fields[0]);
    else if (key === 'search' || key === 'domain') out.searches = fields.filter(Boolean);
    else if (key === 'options')
      for (const f of fields) {
        const [name, value] = f.split(':');
        if (name) out.options.push(value === undefined ? { name } : { name, value });
      }
  }
  return out;
}

function render(p: Parsed): string {
  const lines: string[] = [];
  if (p.searches.length) lines.push(`search ${p.searches.join(' ')}`);
  for (const ns of p.nameservers) lines.push(`nameserver ${ns}`);
  if (p.options.length)
    lines.push(
      `options ${p.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)).join(' ')}`,
    );
  return `${lines.join('\n')}\n`;
}

const unique = (xs: string[]) => [...new Set(xs)];

/** The pod's resolv.conf, or undefined for the host's own. `hostResolvConf` is its text. */
export function podResolvConf(pod: Pod, dns: ClusterDns, hostResolvConf: string): string | undefined {
  const domain = dns.domain ?? 'cluster.local';
  const namespace = pod.metadata.namespace ?? 'default';
  let policy = (pod.spec.dnsPolicy as string | undefined) ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && pod.spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  if (policy === 'ClusterFirst' && !dns.nameserver) policy = 'Default';
  const config = pod.spec.dnsConfig as
    | { nameservers?: string[]; searches?: string[]; options?: { name?: string; value?: string }[] }
    | undefined;
  let base: Parsed;
  if (policy === 'None') base = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default') {
    if (!config) return undefined;
    base = parseResolvConf(hostResolvConf);
  } else {
    base = {
      nameservers: [dns.nameserver!],
      searches: [`${namespace}.svc.${domain}`, `svc.${domain}`, domain],
      options: [{ name: 'ndots', value: '5' }],
    };
  }
  if (config) {
    base.nameservers = unique([...base.nameservers, ...(config.nameservers ?? [])]);
    base.searches = unique([...base.searches, ...(config.searches ?? [])]);
    for (const o of config.options ?? []) {
      if (!o.name) continue;
      base.options = base.options.filter((b) => b.name !== o.name);
      base.options.push(o.value === undefined ? { name: o.name } : { name: o.name, value: o.value });
    }
  }
  base.nameservers = base.nameservers.slice(0, MAX_NAMESERVERS);
  base.searches = base.searches.slice(0, MAX_SEARCHES);
  return render(base);
}
