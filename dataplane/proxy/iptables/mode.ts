/**
 * The iptables mode's entry in the registry (proxy/modes.ts): what it needs from the host, its
 * flag (--iptables-backend), how it makes a node's proxier and how it cleans up after one.
 */
import type { Conntrack } from '../../kernel/conntrack/interface.ts';
import { createIptables, IPTABLES_BACKENDS, IPTABLES_BINARIES } from '../../kernel/iptables/iptables.ts';
import type { Iptables } from '../../kernel/iptables/interface.ts';
import type { IptablesBackend } from '../../kernel/iptables/types.ts';
import { defineProxyMode, type ProxierContext } from '../mode-spec.ts';
import { cleanupIptables } from './cleanup.ts';
import { IPTABLES_METRIC_NAMES } from './metrics.ts';
import { createIptablesProxier, IptablesProxier } from './proxier.ts';

export interface IptablesModeOptions {
  backend: IptablesBackend;
}

/** The kernel facilities an iptables proxier programs: the real tools, or fakes in tests. */
export interface IptablesKernel {
  iptables: Iptables;
  conntrack: Conntrack;
}

function settings(ctx: ProxierContext) {
  const { nodeName, netns, clusterCIDR, minSyncPeriodMs, syncPeriodMs, log } = ctx;
  return { nodeName, netns, clusterCIDR, minSyncPeriodMs, syncPeriodMs, log };
}

/** A node's iptables proxier on the given kernel facilities (tests: fakes). */
export function iptablesProxierOn(kernel: IptablesKernel, ctx: ProxierContext): IptablesProxier {
  return new IptablesProxier({ ...settings(ctx), ...kernel });
}

export const iptablesMode = defineProxyMode<IptablesModeOptions>({
  name: 'iptables',
  summary: "kube-proxy's iptables rules, one iptables-restore per sync",
  flags: [
    {
      name: 'iptables-backend',
      help: 'iptables tools: nft (iptables-nft, the default as on current distributions) or legacy',
      values: IPTABLES_BACKENDS,
      default: 'nft',
    },
  ],
  options: (flags) => ({ backend: flags['iptables-backend'] as IptablesBackend }),
  missing(host, { backend }) {
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
  create: (ctx, { backend }) => createIptablesProxier({ ...settings(ctx), backend, prefix: ctx.prefix }),
  async cleanup(netns, { prefix, host }) {
    // Whichever backend the proxier used: the nft and legacy tables are separate kernel state.
    const done: string[] = [];
    for (const backend of IPTABLES_BACKENDS.filter((b) => host.hasProgram(IPTABLES_BINARIES[b].save))) {
      const r = await cleanupIptables(createIptables({ prefix, backend }), netns);
      if (r.chains) done.push(`${r.chains} KUBE-* chains and the jumps to them (${backend})`);
    }
    return done.join('; ') || undefined;
  },
  metrics: IPTABLES_METRIC_NAMES,
  compliance: {
    fake: async () => (await import('./testing/fake-harness.ts')).iptablesOnFakeKernel,
    kernel: async (kernel) => (await import('./testing/kernel-harness.ts')).iptablesOnRealKernel(kernel),
  },
});
