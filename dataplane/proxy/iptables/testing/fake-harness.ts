/**
 * The iptables mode in the compliance suite on a fake kernel: an IptablesProxier programming a
 * FakeIptables (which refuses what the kernel would) on a hand-driven clock, with every flow
 * answered by the packet tracer walking the programmed rules. Also what the mode's own unit tests
 * build on (`createFakeIptablesSetup`).
 */
import type { Log } from '../../../log.ts';
import { FakeConntrack } from '../../../kernel/testing/fake-conntrack.ts';
import { FakeIptables } from '../../../kernel/testing/fake-iptables.ts';
import type { IptablesRuleset } from '../../../kernel/iptables/types.ts';
import { tracePacket, type TraceNode, type TraceResult } from '../../../kernel/testing/iptables-tracer.ts';
import { THIS_NODE_IP, THIS_NODE_POD_GATEWAY } from '../../compliance/case-topology.ts';
import type { ComplianceEnv, FlowResult, ModeHarness, ModeUnderTest } from '../../compliance/types.ts';
import { FakeClock } from '../../testing/fake-clock.ts';
import { IptablesProxier, type IptablesProxierOptions } from '../iptables-proxier.ts';

export const FAKE_NODE_NS = 'kdp-fake-node-a';

/** The proxier's node as the tracer sees it: its address and the pods' gateway are local. */
export const TRACE_NODE: TraceNode = { localAddresses: [THIS_NODE_IP, THIS_NODE_POD_GATEWAY] };

export interface FakeIptablesSetup {
  proxier: IptablesProxier;
  iptables: FakeIptables;
  conntrack: FakeConntrack;
  clock: FakeClock;
  /** Errors the proxier logged (failed syncs), oldest first. */
  errors: unknown[];
  /** Lets pending changes sync (minSyncPeriod is 0); throws the first error a sync logged. */
  settle(): Promise<void>;
}

export type FakeSetupOptions = Partial<Omit<IptablesProxierOptions, 'iptables' | 'conntrack'>> & {
  /** Fakes to share (a restarted agent on the same kernel); new ones by default. */
  iptables?: FakeIptables;
  conntrack?: FakeConntrack;
};

/** An IptablesProxier on fakes, started, with minSyncPeriod 0 so `settle()` syncs at once. */
export function createFakeIptablesSetup(opts: FakeSetupOptions = {}): FakeIptablesSetup {
  const clock = new FakeClock();
  const iptables = opts.iptables ?? new FakeIptables();
  const conntrack = opts.conntrack ?? new FakeConntrack();
  const errors: unknown[] = [];
  const log = errorsInto(errors);
  const proxier = new IptablesProxier({
    nodeName: 'node-a',
    netns: FAKE_NODE_NS,
    clusterCIDR: '10.244.0.0/16',
    clock,
    minSyncPeriodMs: 0,
    log,
    ...opts,
    iptables,
    conntrack,
  });
  proxier.start();
  return {
    proxier,
    iptables,
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

/** A Log keeping the errors a proxier logs (failed syncs), so `settle()` can throw the first. */
export function errorsInto(errors: unknown[]): Log {
  return (level, message, fields) => {
    if (level === 'error') errors.push(fields?.error ?? new Error(message));
  };
}

/**
 * Where one of the suite's flows lands in an iptables ruleset, by the packet tracer. A
 * `returning` client is first traced once to learn which recent-lists (session affinity) its
 * earlier packets to that endpoint set, then traced again with those lists holding it.
 */
export function traceFlow(
  ruleset: IptablesRuleset,
  ...[flow, opts = {}]: Parameters<ModeHarness['trace']>
): FlowResult {
  const packet = {
    from: flow.from === 'node' ? ('local' as const) : flow.from,
    source: flow.source,
    destination: flow.to,
    protocol: flow.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp',
    port: flow.port,
  };
  let recent: string[] | undefined;
  if (opts.returning !== undefined) {
    const first = tracePacket(ruleset, TRACE_NODE, packet);
    const had = first.paths.filter((p) => p.verdict === 'ACCEPT' && p.destination === opts.returning);
    recent = [...new Set(had.flatMap((p) => p.recentSet))];
  }
  return flowResult(tracePacket(ruleset, TRACE_NODE, packet, recent ? { recent } : {}));
}

/** A tracer result in the suite's terms. */
export function flowResult(t: TraceResult): FlowResult {
  const name = (o: string) => (o === 'ACCEPT' ? 'DELIVERED' : o);
  const shares: Record<string, number> = {};
  for (const [o, share] of Object.entries(t.shares)) shares[name(o)] = share;
  const masqueraded = t.paths
    .filter((p) => p.verdict === 'ACCEPT' && p.dnat && (p.masquerade || p.snat !== undefined))
    .map((p) => p.destination);
  return { outcomes: t.outcomes.map(name).sort(), masqueraded: [...new Set(masqueraded)].sort(), shares };
}

export const iptablesOnFakeKernel: ModeUnderTest = {
  name: 'iptables (fake kernel)',
  capabilities: { sctp: true },
  async create(env: ComplianceEnv): Promise<ModeHarness> {
    const s = createFakeIptablesSetup({
      nodeName: env.nodeName,
      clusterCIDR: env.clusterCIDR,
      masqueradeAll: env.masqueradeAll,
      sctp: true,
    });
    return {
      proxier: s.proxier,
      settle: () => s.settle(),
      trace: async (flow, opts) => traceFlow(s.iptables.ruleset(FAKE_NODE_NS), flow, opts),
      close: () => s.proxier.stop(),
    };
  },
};
