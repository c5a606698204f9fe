/**
 * The compliance suite (dataplane/proxy/compliance) on the iptables mode with the real kernel:
 * each case's proxier programs a throwaway node namespace through the real iptables-restore (nft
 * and legacy backends) and conntrack tools; every flow is then traced through what the kernel
 * holds, read back with iptables-save and loaded into the fake (whose tracer walks rules as the
 * kernel does). So every case checks that the kernel accepts the rules exactly as written, and
 * that they still route each flow right after the kernel's own translation (nft turns rules
 * into nftables expressions and back). Packets themselves are sent by the cluster tests beside
 * this file. Run as root:
 *   node --import tsx --test test/integration/proxy/compliance-kernel.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import { createConntrack } from '../../../dataplane/kernel/conntrack/conntrack.ts';
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import type { IptablesBackend } from '../../../dataplane/kernel/iptables/types.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import {
  ALL_CASES,
  runCase,
  supports,
  VARIANTS,
  type ModeHarness,
  type ModeUnderTest,
} from '../../../dataplane/proxy/compliance/index.ts';
import { IptablesProxier } from '../../../dataplane/proxy/iptables/proxier.ts';
import { errorsInto, traceFlow } from '../../../dataplane/proxy/iptables/testing/fake-harness.ts';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { withIsolatedKernel } from '../kernel/isolated.ts';

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

/** Counts the calls of an object's async methods, so a test can wait until none is in flight. */
class InFlight {
  started = 0;
  running = 0;

  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, key, receiver) => {
        const value = Reflect.get(obj, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const r = (value as (...a: unknown[]) => unknown).apply(obj, args);
          if (!(r instanceof Promise)) return r;
          this.started++;
          this.running++;
          return r.finally(() => this.running--);
        };
      },
    });
  }

  /** Resolves once nothing is in flight. */
  async idle(): Promise<void> {
    while (this.running > 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setImmediate(r));
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
      const log = errorsInto(errors);
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
        async trace(flow, opts) {
          // What the kernel holds, as iptables-save prints it, in a fake the tracer can walk.
          const fake = new FakeIptables({ prefix });
          await fake.restore(ns, await iptables.save(ns));
          return traceFlow(fake.ruleset(ns), flow, opts);
        },
        async close() {
          await proxier.stop();
          await kernel.netns.delete(ns);
        },
      };
    },
  };
}

for (const backend of ['nft', 'legacy'] as const) {
  test(`compliance cases on the real kernel, iptables ${backend}`, async (t) => {
    await withIsolatedKernel(t, async (kernel, cluster) => {
      const probe = `${clusterPrefix(cluster)}probe`;
      await kernel.netns.create(probe);
      const mode = realMode(backend, kernel, await kernelHasSctp(backend, kernel.prefix, probe));
      for (const c of ALL_CASES) {
        for (const variant of VARIANTS) {
          await t.test(`${c.name} (${variant})`, { skip: !supports(mode, c) && 'no SCTP here' }, async () => {
            assert.deepEqual(await runCase(mode, c, variant), []);
          });
        }
      }
    });
  });
}
