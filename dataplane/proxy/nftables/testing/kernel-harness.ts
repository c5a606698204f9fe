/**
 * The nftables mode on the real kernel for the compliance suite: each case's proxier programs a
 * throwaway namespace (under the test's prefix) through the real `nft -f -` and conntrack tools;
 * each flow is then traced through what the kernel holds, read back with `nft list table` and
 * loaded into the fake (whose tracer walks it as the kernel does). So every case checks that the
 * kernel accepts each script as written (its own validation: a dnat reachable from a filter
 * chain, a jump to a missing chain, ...), and that the table it lists back routes every flow.
 * Root only; the integration tier runs it.
 */
import type { Log } from '../../../log.ts';
import { createConntrack } from '../../../kernel/conntrack/conntrack.ts';
import type { Kernel } from '../../../kernel/interfaces.ts';
import { createNftables } from '../../../kernel/nftables/nftables.ts';
import { FakeNftables } from '../../../kernel/testing/fake-nftables.ts';
import type { ModeHarness, ModeUnderTest } from '../../compliance/types.ts';
import { FakeClock } from '../../testing/fake-clock.ts';
import { InFlight } from '../../testing/in-flight.ts';
import { NftablesProxier } from '../nftables-proxier.ts';
import { traceFlow } from './fake-harness.ts';

export function nftablesOnRealKernel(kernel: Kernel): ModeUnderTest {
  const prefix = kernel.prefix;
  let n = 0;
  return {
    name: 'nftables (real kernel, traced)',
    capabilities: { sctp: false, rejectsUnservedClusterIPPorts: true },
    async create(env): Promise<ModeHarness> {
      const ns = `${prefix}case-${++n}`;
      await kernel.netns.create(ns);
      const calls = new InFlight();
      const nftables = calls.wrap(createNftables({ prefix }));
      const clock = new FakeClock();
      const errors: unknown[] = [];
      const log: Log = (level, message, fields) => {
        if (level === 'error') errors.push(fields?.error ?? new Error(message));
      };
      const proxier = new NftablesProxier({
        nodeName: env.nodeName,
        netns: ns,
        nftables,
        conntrack: calls.wrap(createConntrack({ prefix })),
        clusterCIDR: env.clusterCIDR,
        masqueradeAll: env.masqueradeAll,
        clock,
        minSyncPeriodMs: 0,
        log,
      });
      proxier.start();
      return {
        proxier,
        async settle() {
          const before = errors.length;
          for (;;) {
            const started = calls.started;
            await clock.advance(0);
            await calls.idle();
            if (calls.started === started) break;
          }
          if (errors.length > before) throw errors[before];
        },
        async trace(flow, opts = {}) {
          const listed = await nftables.listTable(ns, 'ip');
          const fake = new FakeNftables({ prefix });
          if (listed !== undefined) await fake.apply(ns, listed);
          return traceFlow(fake.table(ns, 'ip'), flow, opts.returning);
        },
        async close() {
          await proxier.stop();
          await kernel.netns.delete(ns);
        },
      };
    },
  };
}
