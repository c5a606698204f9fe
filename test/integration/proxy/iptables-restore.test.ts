/**
 * The iptables proxier against the real iptables-restore, as root: in a throwaway kdp-t<random>-
 * namespace, for the nft and the legacy backend, a proxier programs a set of Services that uses
 * every rule form it writes (ClusterIP, affinity, node ports, external IPs, load balancer IPs,
 * both traffic policies with and without local endpoints, REJECT, UDP, SCTP), then partial syncs
 * (an endpoint removed, a Service added, one removed), then cleans up, next to someone else's
 * rules, a DROP policy and a leftover KUBE chain. After each step iptables-save must read back
 * exactly what a proxier fed the same events holds in FakeIptables; the others' rules and policy
 * must survive, the leftover must not; after cleanup no KUBE- chain may be left. withIsolatedKernel removes the namespaces and
 * checks that the host's root namespace (its iptables included) is exactly as before. Run:
 *   node --import tsx --test test/integration/proxy/iptables-restore.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSlice, Service } from '../../../dataplane/api/types.ts';
import { createConntrack } from '../../../dataplane/kernel/conntrack/conntrack.ts';
import type { Conntrack } from '../../../dataplane/kernel/conntrack/interface.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import type { Iptables } from '../../../dataplane/kernel/iptables/interface.ts';
import type { IptablesBackend } from '../../../dataplane/kernel/iptables/types.ts';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import {
  ClusterFeed,
  ep,
  HTTP,
  L1,
  L2,
  R1,
  R2,
  slice,
  svc,
  thisNode,
} from '../../../dataplane/proxy/compliance/index.ts';
import { IptablesProxier } from '../../../dataplane/proxy/iptables/iptables-proxier.ts';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { withIsolatedKernel } from '../kernel/isolated.ts';

const DNS = { name: 'dns', protocol: 'UDP' as const, port: 53, targetPort: 5353, nodePort: 30053 };
const DNS_TARGET = [{ name: 'dns', protocol: 'UDP' as const, port: 5353 }];
const SIG_TARGET = [{ name: 'sig', protocol: 'SCTP' as const, port: 3868 }];

const SERVICES: Service[] = [
  svc('web', '10.96.0.10', {
    type: 'NodePort',
    ports: [{ ...HTTP, nodePort: 30080 }],
    externalIPs: ['198.18.5.1'],
  }),
  svc('sticky', '10.96.0.11', { sessionAffinity: 'ClientIP' }),
  svc(
    'lb',
    '10.96.0.12',
    {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32100,
      ports: [{ ...HTTP, nodePort: 30082 }],
    },
    ['198.18.6.1'],
  ),
  svc(
    'lb-remote',
    '10.96.0.13',
    { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ ...HTTP, nodePort: 30083 }] },
    ['198.18.6.2'],
  ),
  svc(
    'empty',
    '10.96.0.14',
    { type: 'LoadBalancer', ports: [{ ...HTTP, nodePort: 30084 }], externalIPs: ['198.18.5.2'] },
    ['198.18.6.3'],
  ),
  svc('itp', '10.96.0.15', { internalTrafficPolicy: 'Local' }),
  svc('dns', '10.96.0.53', { type: 'NodePort', ports: [DNS] }),
  svc('sig', '10.96.0.40', { ports: [{ name: 'sig', protocol: 'SCTP', port: 3868 }] }),
];

const SLICES: EndpointSlice[] = [
  slice('web', [ep(L1), ep(R1), ep(R2)]),
  slice('sticky', [ep(L2), ep(R1)]),
  slice('lb', [ep(L1), ep(R2)]),
  slice('lb-remote', [ep(R1)]),
  slice('itp', [ep(R2)]),
  slice('dns', [ep(L1), ep(R1)], DNS_TARGET),
  slice('sig', [ep(R1)], SIG_TARGET),
];

const OTHERS = [
  '*filter',
  ':FORWARD DROP [0:0]',
  ':OVERLAY-FWD - [0:0]',
  '-A FORWARD -j OVERLAY-FWD',
  '-A OVERLAY-FWD -s 10.244.0.0/16 -j ACCEPT',
  'COMMIT',
  '*nat',
  ':KUBE-SVC-LEFTOVER - [0:0]',
  '-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
  '-A PREROUTING -j KUBE-SVC-LEFTOVER',
  'COMMIT',
  '',
].join('\n');

/** A proxier on `iptables`, fed by a feed, synced by hand. */
function proxierOn(iptables: Iptables, ns: string, conntrack: Conntrack) {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const proxier = new IptablesProxier({
    nodeName: 'node-a',
    netns: ns,
    iptables,
    conntrack,
    clusterCIDR: '10.244.0.0/16',
    sctp: true,
    clock,
    minSyncPeriodMs: 0,
    log: (level, message, fields) => {
      // A failed sync is an error; a failed conntrack deletion only a warning, but a failure here.
      if (level === 'error' || level === 'warn') errors.push(fields?.error ?? message);
    },
  });
  proxier.start();
  proxier.onNodeAdd(thisNode());
  const feed = new ClusterFeed(proxier);
  const syncs = async () =>
    (await proxier.metrics.syncDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ??
    0;
  let first = true;
  return {
    proxier,
    /** Feeds the difference and waits (bounded) until the sync it triggers has ended. */
    async set(services: readonly Service[], slices: readonly EndpointSlice[]) {
      const before = await syncs();
      feed.apply(services, slices);
      if (first) {
        proxier.onServicesSynced();
        proxier.onEndpointSlicesSynced();
        first = false;
      }
      await clock.advance(0);
      // The real tools run outside the fake clock: poll for the sync's end.
      for (let i = 0; i < 3000 && (await syncs()) === before && errors.length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      if (errors.length) throw errors[0];
      assert.equal(await syncs(), before + 1, 'one sync ran');
    },
  };
}

/** One table of iptables-save output without comments (# lines) and counters, rules in order. */
async function saved(iptables: Iptables, ns: string, table: 'nat' | 'filter'): Promise<string[]> {
  return (await iptables.save(ns, table))
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, '[0:0]'));
}

for (const backend of ['nft', 'legacy'] as IptablesBackend[]) {
  test(`the proxier's restores are accepted by iptables-${backend}-restore and read back as the fake holds them`, async (t) => {
    await withIsolatedKernel(t, async (kernel, cluster) => {
      const ns = `kdp-${cluster}-node-a`;
      await kernel.netns.create(ns);
      const realIpt = createIptables({ prefix: kernel.prefix, backend });
      const fakeIpt = new FakeIptables({ prefix: kernel.prefix, backend });
      const real = proxierOn(realIpt, ns, createConntrack({ prefix: kernel.prefix }));
      const fake = proxierOn(fakeIpt, ns, new FakeConntrack({ prefix: kernel.prefix }));
      const same = async (step: string) => {
        for (const table of ['nat', 'filter'] as const) {
          const [r, f] = [await saved(realIpt, ns, table), await saved(fakeIpt, ns, table)];
          assert.deepEqual(r, f, `${step}: ${table} differs between the kernel and the fake`);
        }
      };
      // Someone else's rules, a policy and a leftover KUBE chain: kept, kept, and removed by full syncs.
      for (const ipt of [realIpt, fakeIpt]) await ipt.restore(ns, OTHERS);
      const steps: [string, Service[], EndpointSlice[]][] = [
        ['full sync', SERVICES, SLICES],
        [
          'an endpoint removed (UDP too)',
          SERVICES,
          SLICES.map((s) =>
            s.metadata.name?.startsWith('web')
              ? slice('web', [ep(L1), ep(R2)])
              : s.metadata.name?.startsWith('dns')
                ? slice('dns', [ep(R1)], DNS_TARGET)
                : s,
          ),
        ],
        [
          'a service added, one removed',
          [...SERVICES.filter((s) => s.metadata.name !== 'sticky'), svc('new', '10.96.0.16')],
          [...SLICES, slice('new', [ep(R1)])],
        ],
      ];
      for (const [step, services, slices] of steps) {
        await real.set(services, slices);
        await fake.set(services, slices);
        assert.equal(real.proxier.lastWrite?.kind, step === 'full sync' ? 'full' : 'partial');
        await same(step);
      }
      const nat = await saved(realIpt, ns, 'nat');
      assert.ok(nat.includes('-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE'));
      assert.ok(!nat.some((l) => l.includes('LEFTOVER')));
      assert.ok((await saved(realIpt, ns, 'filter')).includes(':FORWARD DROP [0:0]'));
      const natRules = nat.filter((l) => l.startsWith('-A KUBE-')).length;
      assert.ok(natRules > 50, `nat holds ${natRules} KUBE rules`);

      await real.proxier.cleanup();
      await fake.proxier.cleanup();
      await same('cleanup');
      for (const table of ['nat', 'filter'] as const)
        assert.deepEqual(
          (await saved(realIpt, ns, table)).filter((l) => l.includes('KUBE-')),
          [],
          `${table} after cleanup`,
        );
      assert.ok((await saved(realIpt, ns, 'filter')).includes('-A OVERLAY-FWD -s 10.244.0.0/16 -j ACCEPT'));
    });
  });
}
