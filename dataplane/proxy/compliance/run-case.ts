/**
 * Runs compliance cases against a mode: builds a harness, brings the proxier to the case's state
 * (through informer-style events, as the agent would), traces every flow, and lists every way the
 * result differs from the case. Each case runs in two ways, because a mode must get the same
 * result however it got there:
 * - 'full': everything is there before the first sync;
 * - 'incremental': the first sync sees nothing, the next one the Services, the last one the
 *   EndpointSlices, so the final rules come from partial syncs.
 */
import type { EndpointSlice, Service } from '../../api/types.ts';
import type { Proxier } from '../proxier-contract.ts';
import { CLUSTER_CIDR, defaultSource, THIS_NODE, thisNode } from './case-topology.ts';
import type {
  ComplianceCase,
  ComplianceEnv,
  FlowCase,
  FlowResult,
  ModeHarness,
  ModeUnderTest,
} from './types.ts';

export type Variant = 'full' | 'incremental';
export const VARIANTS: readonly Variant[] = ['full', 'incremental'];

/** Feeds a proxier the differences between the objects it was given last and `services`/`slices`. */
export class ClusterFeed {
  private services = new Map<string, Service>();
  private slices = new Map<string, EndpointSlice>();

  constructor(private readonly proxier: Proxier) {}

  apply(services: readonly Service[], slices: readonly EndpointSlice[]): void {
    const key = (o: Service | EndpointSlice) => `${o.metadata.namespace}/${o.metadata.name}`;
    this.services = this.diff(this.services, services, key, {
      add: (o) => this.proxier.onServiceAdd(o),
      update: (a, b) => this.proxier.onServiceUpdate(a, b),
      remove: (o) => this.proxier.onServiceDelete(o),
    });
    this.slices = this.diff(this.slices, slices, key, {
      add: (o) => this.proxier.onEndpointSliceAdd(o),
      update: (a, b) => this.proxier.onEndpointSliceUpdate(a, b),
      remove: (o) => this.proxier.onEndpointSliceDelete(o),
    });
  }

  private diff<T>(
    before: Map<string, T>,
    now: readonly T[],
    key: (o: T) => string,
    on: { add(o: T): void; update(a: T, b: T): void; remove(o: T): void },
  ): Map<string, T> {
    const next = new Map(now.map((o) => [key(o), o]));
    for (const [k, o] of before) if (!next.has(k)) on.remove(o);
    for (const [k, o] of next) {
      const old = before.get(k);
      if (!old) on.add(o);
      else if (JSON.stringify(old) !== JSON.stringify(o)) on.update(old, o);
    }
    return next;
  }
}

export function envOf(c: ComplianceCase): ComplianceEnv {
  const cidr = c.env?.clusterCIDR;
  return {
    nodeName: THIS_NODE,
    clusterCIDR: cidr === null ? undefined : (cidr ?? CLUSTER_CIDR),
    masqueradeAll: c.env?.masqueradeAll ?? false,
  };
}

/** Brings a fresh harness's proxier to the case's state the way `variant` says. */
async function program(h: ModeHarness, c: ComplianceCase, variant: Variant): Promise<void> {
  const feed = new ClusterFeed(h.proxier);
  h.proxier.onNodeAdd(thisNode());
  if (variant === 'full') feed.apply(c.services, c.slices);
  h.proxier.onServicesSynced();
  h.proxier.onEndpointSlicesSynced();
  await h.settle();
  if (variant === 'incremental') {
    feed.apply(c.services, []);
    await h.settle();
    feed.apply(c.services, c.slices);
    await h.settle();
  }
}

const EPSILON = 1e-6;

function sorted(list: readonly string[]): string[] {
  return [...list].sort();
}

/** How `r` differs from what `flow` expects; empty when it does not. */
export function checkFlow(flow: FlowCase, r: FlowResult): string[] {
  const problems: string[] = [];
  const want = typeof flow.expect === 'string' ? [flow.expect] : sorted(flow.expect);
  if (JSON.stringify(r.outcomes) !== JSON.stringify(want))
    problems.push(`goes to ${r.outcomes.join(', ') || 'nowhere'}, expected ${want.join(', ')}`);
  const endpoints = typeof flow.expect === 'string' ? [] : want;
  if (flow.masquerade !== undefined && endpoints.length > 0) {
    const expected =
      flow.masquerade === true ? endpoints : flow.masquerade === false ? [] : sorted(flow.masquerade);
    if (JSON.stringify(r.masqueraded) !== JSON.stringify(expected))
      problems.push(`masqueraded to [${r.masqueraded.join(', ')}], expected [${expected.join(', ')}]`);
  }
  if ((flow.even ?? endpoints.length > 1) && endpoints.length > 1) {
    const uneven = endpoints.filter((e) => Math.abs((r.shares[e] ?? 0) - 1 / endpoints.length) > EPSILON);
    if (uneven.length)
      problems.push(
        `uneven shares: ${endpoints.map((e) => `${e} ${(r.shares[e] ?? 0).toFixed(4)}`).join(', ')}`,
      );
  }
  return problems;
}

/** Runs one case in one variant; the differences found, as `flow: problem` lines. */
export async function runCase(mode: ModeUnderTest, c: ComplianceCase, variant: Variant): Promise<string[]> {
  const h = await mode.create(envOf(c));
  const problems: string[] = [];
  try {
    await program(h, c, variant);
    for (const caseFlow of c.flows) {
      const flow: FlowCase =
        caseFlow.unservedClusterIPPort && mode.capabilities.rejectsUnservedClusterIPPorts
          ? { ...caseFlow, expect: 'REJECT' }
          : caseFlow;
      const packet = {
        from: flow.from,
        source: flow.source ?? defaultSource(flow.from),
        to: flow.to,
        port: flow.port,
        protocol: flow.protocol ?? 'TCP',
      };
      const r = await h.trace(packet);
      problems.push(...checkFlow(flow, r).map((p) => `${flow.name}: ${p}`));
      if (flow.sticky && typeof flow.expect !== 'string') {
        for (const endpoint of flow.expect) {
          const again = await h.trace(packet, { returning: endpoint });
          if (JSON.stringify(again.outcomes) !== JSON.stringify([endpoint]))
            problems.push(
              `${flow.name}: a client returning from ${endpoint} goes to ${again.outcomes.join(', ')}`,
            );
        }
      }
    }
  } finally {
    await h.close();
  }
  return problems;
}

/** Whether `mode` can run `c` at all. */
export function supports(mode: ModeUnderTest, c: ComplianceCase): boolean {
  return (c.requires ?? []).every((cap) => mode.capabilities[cap]);
}
