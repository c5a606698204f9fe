/**
 * The proxy modes by name, as `--proxy-mode` and a topology's proxyMode give them: which exist,
 * whether this host can run one, and the proxier a node agent makes for it. The cluster builder
 * and `kdp up` check the mode before anything is brought up, so a mode that cannot run here fails
 * at once with a message saying why and what to use instead, not as agents dying one by one.
 * 'none' is no proxier at all (kube-proxy not deployed): Services exist but nothing programs them.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Log } from '../log.ts';
import { KdpError } from '../errors.ts';
import type { Conntrack } from '../kernel/conntrack/interface.ts';
import type { Iptables } from '../kernel/iptables/interface.ts';
import { createIptables, IPTABLES_BINARIES } from '../kernel/iptables/iptables.ts';
import type { IptablesBackend } from '../kernel/iptables/types.ts';
import { cleanupIptables } from './iptables/cleanup.ts';
import { createIptablesProxier, IptablesProxier } from './iptables/proxier.ts';
import type { Proxier } from './proxier.ts';

export const PROXY_MODE_UNAVAILABLE = 'KDP_ERR_PROXY_MODE_UNAVAILABLE';
export const PROXY_MODE_UNKNOWN = 'KDP_ERR_PROXY_MODE_UNKNOWN';

export const IPTABLES_BACKENDS: readonly IptablesBackend[] = ['nft', 'legacy'];

/** What a mode needs to know to program one node. */
export interface ProxierDeps {
  /** The Node the proxier programs. */
  nodeName: string;
  /** The node's network namespace (the rules go there). */
  netns: string;
  /** The pod network (kube-proxy's --cluster-cidr): traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR?: string;
  /** iptables mode: nft (default) or legacy tools. */
  iptablesBackend?: IptablesBackend;
  /** Namespace prefix the kernel tools may touch (the cluster's, kdp-<cluster>-). */
  prefix?: string;
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  log?: Log;
  /** Tests: kernel facilities to program instead of the real tools. */
  iptables?: Iptables;
  conntrack?: Conntrack;
}

/** What the availability checks look at; tests give their own. */
export interface HostProbe {
  hasFile(path: string): boolean;
  hasProgram(name: string): boolean;
}

export const realHost: HostProbe = {
  hasFile: (path) => existsSync(path),
  hasProgram: (name) =>
    (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name))),
};

/** A host assumed to have every tool and kernel feature: for clusters whose agents are stand-ins. */
export const ANY_HOST: HostProbe = { hasFile: () => true, hasProgram: () => true };

export interface ModeCheckOptions {
  iptablesBackend?: IptablesBackend;
  host?: HostProbe;
}

interface ModeSpec {
  /** What the host lacks for this mode, or undefined. */
  missing(host: HostProbe, opts: ModeCheckOptions): string | undefined;
  /** Lacking these only degrades the mode. */
  degraded?(host: HostProbe, opts: ModeCheckOptions): string[];
  /** Undefined: the mode is not written yet. null: the mode runs no proxier. */
  create?: ((deps: ProxierDeps) => Proxier) | null;
  /** Removes whatever the mode may have left in a namespace, found by name; returns what it removed. */
  cleanup?(netns: string, opts: CleanupOptions): Promise<string | undefined>;
}

export interface CleanupOptions {
  prefix?: string;
  /** Tests: the one iptables to clean; by default both backends whose tools are installed. */
  iptables?: Iptables;
  host?: HostProbe;
}

const MODES: Record<string, ModeSpec> = {
  iptables: {
    missing(host, opts) {
      const backend = opts.iptablesBackend ?? 'nft';
      const bin = IPTABLES_BINARIES[backend];
      const absent = ['nsenter', bin.restore, bin.save].filter((p) => !host.hasProgram(p));
      if (absent.length === 0) return undefined;
      return `iptables mode (${backend} backend) needs ${absent.join(', ')}: not installed (Debian: apt-get install iptables util-linux)`;
    },
    degraded: (host) => [
      ...(host.hasProgram('conntrack')
        ? []
        : [
            'conntrack(8) is not installed: UDP flows to a removed endpoint stay on it until their conntrack entries time out',
          ]),
      // Pods of one node share its bridge: without br_netfilter a backend's reply to a client on
      // its own node is bridged past the node's conntrack, so it is never un-DNATed.
      ...(host.hasFile('/proc/sys/net/bridge/bridge-nf-call-iptables')
        ? []
        : [
            "br_netfilter is not loaded: connections through a Service to a backend on the client pod's own node fail (modprobe br_netfilter; kdp loads no modules)",
          ]),
    ],
    create: (d) =>
      d.iptables && d.conntrack
        ? new IptablesProxier({ ...common(d), netns: d.netns, iptables: d.iptables, conntrack: d.conntrack })
        : createIptablesProxier({
            ...common(d),
            netns: d.netns,
            backend: d.iptablesBackend,
            prefix: d.prefix,
          }),
    async cleanup(netns, o) {
      // Whichever backend the proxier used: the nft and legacy tables are separate kernel state.
      const host = o.host ?? realHost;
      const all = o.iptables
        ? [o.iptables]
        : IPTABLES_BACKENDS.filter((b) => host.hasProgram(IPTABLES_BINARIES[b].save)).map((backend) =>
            createIptables({ prefix: o.prefix, backend }),
          );
      const done: string[] = [];
      for (const iptables of all) {
        const r = await cleanupIptables(iptables, netns);
        if (r.chains) done.push(`${r.chains} KUBE-* chains and the jumps to them (${iptables.backend})`);
      }
      return done.join('; ') || undefined;
    },
  },
  ipvs: {
    missing: (host) =>
      host.hasFile('/proc/net/ip_vs') || host.hasFile('/sys/module/ip_vs')
        ? undefined
        : 'ipvs mode needs IP_VS in the kernel: this kernel has none; use iptables or the VM runner',
  },
  userspace: { missing: () => undefined },
  none: { missing: () => undefined, create: null },
};

function common(d: ProxierDeps) {
  return {
    nodeName: d.nodeName,
    clusterCIDR: d.clusterCIDR,
    minSyncPeriodMs: d.minSyncPeriodMs,
    syncPeriodMs: d.syncPeriodMs,
    log: d.log,
  };
}

/**
 * kube-proxy --cleanup: removes every mode's leftovers from a node's namespace, whichever mode
 * ran there (or none did). Returns one line per mode that found something.
 */
export async function cleanupProxyModes(netns: string, opts: CleanupOptions = {}): Promise<string[]> {
  const done: string[] = [];
  for (const [mode, s] of Object.entries(MODES)) {
    const removed = await s.cleanup?.(netns, opts);
    if (removed) done.push(`${mode}: removed ${removed}`);
  }
  return done;
}

/** Every mode name kdp knows, runnable here or not. */
export function proxyModeNames(): string[] {
  return Object.keys(MODES);
}

function spec(mode: string): ModeSpec {
  const s = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
  if (!s) {
    throw new KdpError(
      PROXY_MODE_UNKNOWN,
      `unknown proxy mode "${mode}": kdp has ${proxyModeNames().join(', ')}`,
    );
  }
  return s;
}

function notYet(mode: string): KdpError {
  return new KdpError(PROXY_MODE_UNAVAILABLE, `proxy mode ${mode} is not available yet; use iptables`, {
    details: { mode },
  });
}

/**
 * Throws KDP_ERR_PROXY_MODE_UNAVAILABLE when `mode` cannot run on this host (what the host
 * lacks comes first: that holds whatever kdp's version), KDP_ERR_PROXY_MODE_UNKNOWN for a name kdp
 * does not know. Returns what works only partly (a missing conntrack tool).
 */
export function checkProxyMode(mode: string, opts: ModeCheckOptions = {}): { warnings: string[] } {
  const s = spec(mode);
  const host = opts.host ?? realHost;
  const missing = s.missing(host, opts);
  if (missing) throw new KdpError(PROXY_MODE_UNAVAILABLE, missing, { details: { mode } });
  if (s.create === undefined) throw notYet(mode);
  return { warnings: s.degraded?.(host, opts) ?? [] };
}

/**
 * The proxier of `mode` for one node, not started (runProxier starts it); undefined for 'none'.
 * Throws as checkProxyMode for a mode that cannot run here; with fake kernel facilities in
 * `deps` the host's tools are not looked for.
 */
export function createProxier(mode: string, deps: ProxierDeps, host?: HostProbe): Proxier | undefined {
  if (!(deps.iptables && deps.conntrack))
    checkProxyMode(mode, { iptablesBackend: deps.iptablesBackend, host });
  const create = spec(mode).create;
  if (create === undefined) throw notYet(mode);
  return create === null ? undefined : create(deps);
}
