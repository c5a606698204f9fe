/**
 * The iptables mode on the real kernel for the compliance suite: each case's proxier programs a
 * throwaway namespace (under the test's prefix) through the real iptables-restore (nft and legacy
 * backends) and conntrack tools; each flow is then traced through what the kernel holds, read
 * back with iptables-save and loaded into the fake (whose tracer walks rules as the kernel does).
 * So every case checks that the kernel accepts the rules exactly as written, and that they still
 * route each flow right after the kernel's own translation (nft turns rules into nftables
 * expressions and back). Root only; the integration tier runs it.
 */
import type { Log } from '../../../agent/log.ts';
import { createConntrack } from '../../../kernel/conntrack/conntrack.ts';
import type { Kernel } from '../../../kernel/interfaces.ts';
import { createIptables, IPTABLES_BACKENDS } from '../../../kernel/iptables/iptables.ts';
import type { IptablesBackend } from '../../../kernel/iptables/types.ts';
import { FakeIptables } from '../../../kernel/testing/fake-iptables.ts';
import { tracePacket } from '../../../kernel/testing/iptables-tracer.ts';
import type { ModeHarness, ModeUnderTest } from '../../compliance/types.ts';
import { FakeClock } from '../../testing/fake-clock.ts';
import { InFlight } from '../../testing/in-flight.ts';
import { IptablesProxier } from '../proxier.ts';
import { flowResult, TRACE_NODE } from './fake-harness.ts';

/** Whether this kernel has SCTP conntrack and xt_sctp: programming an SCTP rule into a scratch namespace. */
async function kernelHasSctp(backend: IptablesBackend, prefix: string, ns: string): Promise<boolean> {
  const ipt = createIptables({ prefix, backend });
  try {
    await ipt.restore(ns, '*filter\n-A INPUT -p sctp -m sctp --dport 1 -j ACCEPT\nCOMMIT\n');
    return true;
  } catch {
    return false;
  }
}

function realMode(backend: IptablesBackend, kernel: Kernel, sctp: boolean): ModeUnderTest {
  const prefix = kernel.prefix;
  let n = 0;
  return {
    name: `iptables (${backend}, real kernel, traced)`,
    capabilities: { sctp },
    async create(env): Promise<ModeHarness> {
      const ns = `${prefix}case-${++n}`;
      await kernel.netns.create(ns);
      const calls = new InFlight();
      const iptables = calls.wrap(createIptables({ prefix, backend }));
      const clock = new FakeClock();
      const errors: unknown[] = [];
      const log: Log = (level, message, fields) => {
        if (level === 'error') errors.push(fields?.error ?? new Error(message));
      };
      const proxier = new IptablesProxier({
        nodeName: env.nodeName,
        netns: ns,
        iptables,
        conntrack: calls.wrap(createConntrack({ prefix })),
        clusterCIDR: env.clusterCIDR,
        masqueradeAll: env.masqueradeAll,
        sctp,
        clock,
        minSyncPeriodMs: 0,
        log,
      });
      proxier.start();
      return {
        proxier,
        async settle() {
          // The real tools answer in real time: let due syncs run until one round starts nothing.
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
          // What the kernel holds, as iptables-save prints it, in a fake the tracer can walk.
          const fake = new FakeIptables({ prefix });
          await fake.restore(ns, await iptables.save(ns));
          const ruleset = fake.ruleset(ns);
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
        },
        async close() {
          await proxier.stop();
          await kernel.netns.delete(ns);
        },
      };
    },
  };
}

/** One harness per iptables backend, on `kernel` (namespaces under its prefix). */
export async function iptablesOnRealKernel(kernel: Kernel): Promise<ModeUnderTest[]> {
  const probe = `${kernel.prefix}sctp-probe`;
  await kernel.netns.create(probe);
  try {
    const modes: ModeUnderTest[] = [];
    for (const backend of IPTABLES_BACKENDS)
      modes.push(realMode(backend, kernel, await kernelHasSctp(backend, kernel.prefix, probe)));
    return modes;
  } finally {
    await kernel.netns.delete(probe);
  }
}
