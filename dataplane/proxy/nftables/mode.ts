/**
 * The nftables mode's entry in the registry (proxy/modes.ts): what it needs from the host (the nft
 * binary and a kernel of 5.13 or later as upstream requires), how it makes
 * a node's proxier and how it cleans up after one (table ip/ip6 kube-proxy, nothing else).
 */
import { release } from 'node:os';
import { createNftables } from '../../kernel/nftables/nftables.ts';
import { defineProxyMode, type ProxierContext } from '../mode-spec.ts';
import { createNftablesProxier } from './nftables-proxier.ts';

/** Upstream's floor: older kernels (and the nft of their distributions) break other tables' users. */
export const MIN_KERNEL: readonly [number, number] = [5, 13];

/** "6.18.44-xyz" -> whether it is at least MIN_KERNEL. */
export function kernelNewEnough(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  return major > MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor >= MIN_KERNEL[1]);
}

function settings(ctx: ProxierContext) {
  const { nodeName, netns, clusterCIDR, minSyncPeriodMs, syncPeriodMs, log } = ctx;
  return { nodeName, netns, clusterCIDR, minSyncPeriodMs, syncPeriodMs, log };
}

export const nftablesMode = defineProxyMode<Record<string, never>>({
  name: 'nftables',
  summary: "kube-proxy's nftables ruleset (table ip kube-proxy), one nft transaction per sync",
  flags: [],
  options: () => ({}),
  missing(host) {
    const problems: string[] = [];
    const absent = ['nsenter', 'nft'].filter((p) => !host.hasProgram(p));
    if (absent.length)
      problems.push(`${absent.join(', ')} not installed (Debian: apt-get install nftables util-linux)`);
    // nf_tables built into the kernel shows in no file; a kernel without it fails the first
    // `nft -f -` with "Operation not supported", which the node agent reports.
    if (!kernelNewEnough(release()))
      problems.push(`kernel ${release()} is older than ${MIN_KERNEL.join('.')}, which upstream requires`);
    return problems.length ? `nftables mode needs: ${problems.join('; ')}` : undefined;
  },
  degraded: (host) =>
    host.hasProgram('conntrack')
      ? []
      : [
          'conntrack(8) is not installed: UDP flows to a removed endpoint stay on it until their conntrack entries time out',
        ],
  create: (ctx) => createNftablesProxier({ ...settings(ctx), prefix: ctx.prefix }),
  async cleanup(netns, { prefix, host }) {
    if (!host.hasProgram('nft')) return undefined;
    const nft = createNftables({ prefix });
    const removed: string[] = [];
    for (const family of ['ip', 'ip6'] as const)
      if (await nft.deleteTable(netns, family)) removed.push(`table ${family} kube-proxy`);
    return removed.join(', ') || undefined;
  },
  metrics: [],
  // Loaded only when a compliance test asks for a harness: a running cluster never imports them.
  /* eslint-disable import-x/no-restricted-paths */
  compliance: {
    fake: async () => (await import('./testing/fake-harness.ts')).nftablesOnFakeKernel,
    kernel: async (kernel) => [(await import('./testing/kernel-harness.ts')).nftablesOnRealKernel(kernel)],
  },
  /* eslint-enable import-x/no-restricted-paths */
});
