// Shared pieces of the iptables mode's unit tests: a proxier on fakes fed through the compliance
// suite's ClusterFeed, generated clusters in the shape of upstream's rule-count test, counts of
// the rules and chains the proxier owns, and a tracer shortcut.
import type { EndpointSlice, Service, ServiceSpec } from '../../../../dataplane/api/types.ts';
import { ClusterFeed, ep, slice, svc, thisNode } from '../../../../dataplane/proxy/compliance/index.ts';
import {
  createFakeIptablesSetup,
  FAKE_NODE_NS,
  flowResult,
  TRACE_NODE,
  type FakeIptablesSetup,
  type FakeSetupOptions,
} from '../../../../dataplane/proxy/iptables/testing/fake-harness.ts';
import { tracePacket, type TracePacket } from '../../../../dataplane/kernel/testing/iptables-tracer.ts';
import type { IptablesTable } from '../../../../dataplane/kernel/iptables/types.ts';

export const NS = FAKE_NODE_NS;

export interface Cluster extends FakeIptablesSetup {
  feed: ClusterFeed;
  /** Sets the cluster's objects (events for the differences) and lets the proxier sync. */
  set(services: readonly Service[], slices: readonly EndpointSlice[]): Promise<void>;
}

/** A proxier on fakes that has done its first (full) sync of `services` and `slices`. */
export async function cluster(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  opts: FakeSetupOptions = {},
): Promise<Cluster> {
  const s = createFakeIptablesSetup(opts);
  const feed = new ClusterFeed(s.proxier);
  s.proxier.onNodeAdd(thisNode());
  feed.apply(services, slices);
  s.proxier.onServicesSynced();
  s.proxier.onEndpointSlicesSynced();
  await s.settle();
  return {
    ...s,
    feed,
    async set(sv, sl) {
      feed.apply(sv, sl);
      await s.settle();
    },
  };
}

/** Upstream's generateServiceEndpoints: `n` Services svc<i> (10.0.0.1+i, port 80+i) with `m` endpoints each. */
export function generated(
  n: number,
  m: number,
  spec: (i: number) => Partial<ServiceSpec> = () => ({}),
): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc${i}`;
    services.push(
      svc(name, `10.0.${(i + 1) >> 8}.${(i + 1) & 255}`, {
        ports: [{ name: '8080', protocol: 'TCP', port: 80 + i, targetPort: 8080 }],
        ...spec(i),
      }),
    );
    const eps = Array.from({ length: m }, (_, j) => ep(`172.16.${(j + 1) >> 8}.${(j + 1) & 255}`));
    slices.push(slice(name, eps, [{ name: '8080', protocol: 'TCP', port: 8080 }]));
  }
  return { services, slices };
}

/** Rules in the KUBE-* chains of a table (the jumps from built-in chains left out). */
export function kubeRules(c: FakeIptablesSetup, table: IptablesTable): number {
  let n = 0;
  for (const chain of c.iptables.ruleset(NS).get(table)?.values() ?? [])
    if (!chain.builtin && chain.name.startsWith('KUBE-')) n += chain.rules.length;
  return n;
}

/** KUBE-* chains of a table. */
export function kubeChains(c: FakeIptablesSetup, table: IptablesTable): string[] {
  return [...(c.iptables.ruleset(NS).get(table)?.keys() ?? [])].filter((n) => n.startsWith('KUBE-')).sort();
}

/** Where a new connection goes, in the compliance suite's terms. */
export function trace(c: FakeIptablesSetup, packet: TracePacket) {
  return flowResult(tracePacket(c.iptables.ruleset(NS), TRACE_NODE, packet));
}

/** Lines of the last restore payload the fake received. */
export function lastPayload(c: FakeIptablesSetup): string[] {
  return (c.iptables.lastRestore?.payload ?? '').split('\n').filter((l) => l !== '');
}
