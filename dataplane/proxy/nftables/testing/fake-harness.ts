/**
 * The nftables mode in the compliance suite on a fake kernel: an NftablesProxier programming a
 * FakeNftables (which refuses what the kernel would) on a hand-driven clock, every flow answered
 * by the nft packet tracer walking the table the proxier wrote.
 */
import type { Log } from '../../../log.ts';
import { FakeConntrack } from '../../../kernel/testing/fake-conntrack.ts';
import type { FakeNftTable } from '../../../kernel/testing/fake-nftables.ts';
import { FakeNftables } from '../../../kernel/testing/fake-nftables.ts';
import { traceNft } from '../../../kernel/testing/nft-tracer.ts';
import type { FlowResult, ModeHarness, ModeUnderTest } from '../../compliance/types.ts';
import { flowResult, TRACE_NODE } from '../../iptables/testing/fake-harness.ts';
import { FakeClock } from '../../testing/fake-clock.ts';
import { NftablesProxier, type NftablesProxierOptions } from '../nftables-proxier.ts';

export const FAKE_NODE_NS = 'kdp-fake-node-a';

export interface FakeNftSetup {
  proxier: NftablesProxier;
  nftables: FakeNftables;
  conntrack: FakeConntrack;
  clock: FakeClock;
  errors: unknown[];
  settle(): Promise<void>;
}

export type FakeNftSetupOptions = Partial<Omit<NftablesProxierOptions, 'nftables' | 'conntrack'>> & {
  nftables?: FakeNftables;
  conntrack?: FakeConntrack;
};

/** An NftablesProxier on fakes, started, with minSyncPeriod 0 so `settle()` syncs at once. */
export function createFakeNftSetup(opts: FakeNftSetupOptions = {}): FakeNftSetup {
  const clock = new FakeClock();
  const nftables = opts.nftables ?? new FakeNftables();
  const conntrack = opts.conntrack ?? new FakeConntrack();
  const errors: unknown[] = [];
  const log: Log = (level, message, fields) => {
    if (level === 'error') errors.push(fields?.error ?? new Error(message));
  };
  const proxier = new NftablesProxier({
    nodeName: 'node-a',
    netns: FAKE_NODE_NS,
    clusterCIDR: '10.244.0.0/16',
    clock,
    minSyncPeriodMs: 0,
    log,
    ...opts,
    nftables,
    conntrack,
  });
  proxier.start();
  return {
    proxier,
    nftables,
    conntrack,
    clock,
    errors,
    async settle() {
      const before = errors.length;
      await clock.advance(0);
      if (errors.length > before) throw errors[before];
    },
  };
}

/** A compliance flow traced through `table`; `returning`: the client had this endpoint before. */
export function traceFlow(
  table: FakeNftTable | undefined,
  flow: Parameters<ModeHarness['trace']>[0],
  returning?: string,
): FlowResult {
  if (!table) throw new Error('table ip kube-proxy does not exist');
  const packet = {
    from: flow.from === 'node' ? ('local' as const) : flow.from,
    source: flow.source,
    destination: flow.to,
    protocol: flow.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp',
    port: flow.port,
  };
  let inSets: string[] | undefined;
  if (returning !== undefined) {
    const first = traceNft(table, TRACE_NODE, packet);
    const had = first.paths.filter((p) => p.verdict === 'ACCEPT' && p.destination === returning);
    inSets = [...new Set(had.flatMap((p) => p.recentSet))];
  }
  return flowResult(traceNft(table, TRACE_NODE, packet, { inSets }));
}

export const nftablesOnFakeKernel: ModeUnderTest = {
  name: 'nftables (fake kernel)',
  capabilities: { sctp: false, rejectsUnservedClusterIPPorts: true },
  async create(env) {
    const s = createFakeNftSetup({
      nodeName: env.nodeName,
      clusterCIDR: env.clusterCIDR,
      masqueradeAll: env.masqueradeAll,
    });
    return {
      proxier: s.proxier,
      settle: () => s.settle(),
      trace: async (flow, opts = {}) => traceFlow(s.nftables.table(FAKE_NODE_NS), flow, opts.returning),
      close: () => s.proxier.stop(),
    };
  },
};
