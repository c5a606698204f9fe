/**
 * The net.* sysctls of one fake namespace, with the defaults a fresh namespace has on the
 * kernels kdp runs on, per-link net.ipv4.conf.<link>.* and net.ipv6.conf.<link>.disable_ipv6 keys
 * that come and go with the link, and
 * the one coupling kdp relies on: net.ipv4.ip_forward switches forwarding on every interface
 * (all, default, each link) as the kernel does. A key the namespace does not have is refused
 * like the kernel's /proc/sys refuses it; tests add keys (ipvs, conntrack, ...) by constructor.
 */
import { KERNEL_ERR, kernelError } from '../errors.ts';

const GLOBAL_DEFAULTS: Record<string, string> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv4.ip_local_port_range': '32768\t60999',
  'net.ipv4.ip_nonlocal_bind': '0',
  'net.ipv4.ip_unprivileged_port_start': '1024',
  'net.core.somaxconn': '4096',
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
  'net.ipv6.conf.all.forwarding': '0',
};

/** Per-interface IPv4 keys, present for all, default and every link. */
const CONF_DEFAULTS: Record<string, string> = {
  forwarding: '0',
  rp_filter: '0',
  proxy_arp: '0',
  route_localnet: '0',
  send_redirects: '1',
  accept_local: '0',
};

/** Per-interface IPv6 keys (the few kdp touches), present for all, default and every link. */
const CONF6_DEFAULTS: Record<string, string> = {
  disable_ipv6: '0',
};

function confKey(link: string, name: string, family: 'ipv4' | 'ipv6' = 'ipv4'): string {
  return `net.${family}.conf.${link.replaceAll('.', '/')}.${name}`;
}

/** Every per-interface key of `link`, with the `default` interface's key it starts from. */
function linkKeys(link: string): Array<[key: string, fromKey: string, fallback: string]> {
  return [
    ...Object.entries(CONF_DEFAULTS).map(([name, v]): [string, string, string] => [
      confKey(link, name),
      confKey('default', name),
      v,
    ]),
    ...Object.entries(CONF6_DEFAULTS).map(([name, v]): [string, string, string] => [
      confKey(link, name, 'ipv6'),
      confKey('default', name, 'ipv6'),
      v,
    ]),
  ];
}

export class FakeSysctls {
  private readonly values = new Map<string, string>();

  constructor(extra: Readonly<Record<string, string>> = {}) {
    for (const [k, v] of Object.entries({ ...GLOBAL_DEFAULTS, ...extra })) this.values.set(k, v);
    for (const link of ['all', 'default']) {
      for (const [key, , v] of linkKeys(link)) this.values.set(key, v);
    }
  }

  /** A new link takes the `default` interface's values. */
  addLink(link: string): void {
    for (const [key, from, v] of linkKeys(link)) this.values.set(key, this.values.get(from) ?? v);
  }

  removeLink(link: string): void {
    for (const [key] of linkKeys(link)) this.values.delete(key);
  }

  get(key: string, operation: string, namespace: string): string {
    const v = this.values.get(key);
    if (v === undefined) {
      throw kernelError(
        KERNEL_ERR.notFound,
        `cat: /proc/sys/${key.replaceAll('.', '/')}: No such file or directory`,
        {
          operation,
          namespace,
        },
      );
    }
    return v;
  }

  set(key: string, value: string, operation: string, namespace: string): void {
    this.get(key, operation, namespace);
    if (/^-?\d+$/.test(this.values.get(key) ?? '') && !/^\s*-?\d+\s*$/.test(value)) {
      throw kernelError(KERNEL_ERR.invalid, `printf: I/O error (not a number: "${value}")`, {
        operation,
        namespace,
      });
    }
    const v = value.trim();
    this.values.set(key, v);
    if (key === 'net.ipv4.ip_forward' || key === confKey('all', 'forwarding')) {
      // The kernel's devinet_forward: one switch for every interface, present and future.
      for (const k of this.values.keys())
        if (/^net\.ipv4\.conf\.[^.]+\.forwarding$/.test(k)) this.values.set(k, v);
      this.values.set('net.ipv4.ip_forward', v);
    }
  }

  entries(): [string, string][] {
    return [...this.values];
  }
}
