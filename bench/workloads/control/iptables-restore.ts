/**
 * The `iptables-restore` control workload: what iptables-restore itself costs for a kube-proxy
 * shaped ruleset (kubeShapedPayload: N services x 10 endpoints), the floor under every sync, per
 * backend (nft, legacy, and FakeIptables, which needs no root). A trial, in a fresh throwaway
 * namespace: a flushing restore into it (restore_ms), the same again over the rules
 * (restore_again_ms), ensureJumps of kube-proxy's 9 jumps (ensure_jumps_ms), one service's chains
 * restored with --noflush as a partial sync writes them (partial_restore_ms), and `save -t nat`
 * (save_ms). A whole payload with --noflush is not measured: with nft it grows much faster than
 * linearly (minutes at 2k services), which is why the proxier's full syncs flush (see
 * dataplane/kernel/README.md).
 */
import { KdpError } from '../../../dataplane/errors.ts';
import { createIproute2Kernel } from '../../../dataplane/kernel/iproute2/kernel.ts';
import type { Iptables } from '../../../dataplane/kernel/iptables/interface.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import {
  KUBE_PROXY_JUMPS,
  kubeShapedPayload,
} from '../../../dataplane/kernel/testing/iptables-kube-shape.ts';
import type { ControlWorkload, TrialValue, WorkloadInstance } from '../../lib/workload.ts';

/** One service's KUBE-SVC and KUBE-SEP chains of `payload` again, as a partial sync writes them. */
function oneServicePayload(payload: string): string {
  const mine = payload.split('\n').filter((l) => l.startsWith('-A KUBE-S') && l.includes('/svc7:'));
  const chains = [...new Set(mine.map((l) => l.split(' ')[1]!))].filter((c) => c !== 'KUBE-SERVICES');
  return [
    '*nat',
    ...chains.map((c) => `:${c} - [0:0]`),
    ...mine.filter((l) => chains.includes(l.split(' ')[1]!)),
    'COMMIT',
    '',
  ].join('\n');
}

let instances = 0;
const TIMEOUT_MS = 900_000;

export const iptablesRestoreWorkload: ControlWorkload = {
  name: 'iptables-restore',
  description:
    'iptables-restore, ensureJumps and save of a kube-proxy shaped ruleset (services x 10 endpoints)',
  modeDependent: false,
  needsRoot: true,
  variantNeedsRoot: (v) => v.iptables !== 'fake',
  variants: (quick) =>
    quick
      ? [
          { services: 100, iptables: 'fake' },
          { services: 100, iptables: 'nft' },
        ]
      : [
          { services: 1000, iptables: 'nft' },
          { services: 1000, iptables: 'legacy' },
          { services: 10000, iptables: 'nft' },
        ],
  async setup(axes): Promise<WorkloadInstance> {
    const services = Number(axes.params?.services);
    const backend = String(axes.params?.iptables);
    if (!(services > 0) || !['nft', 'legacy', 'fake'].includes(backend))
      throw new KdpError(
        'KDP_ERR_BENCH_VARIANT',
        `iptables-restore: bad variant ${JSON.stringify(axes.params)}`,
      );
    const prefix = `kdp-bench${process.pid}r${++instances}-`;
    const kernel = createIproute2Kernel({ prefix });
    const fake = backend === 'fake';
    const iptables: Iptables = fake
      ? new FakeIptables({ prefix })
      : createIptables({ prefix, backend: backend as 'nft' | 'legacy' });
    const payload = kubeShapedPayload({ services, endpointsPerService: 10 });
    const partial = oneServicePayload(payload);
    let n = 0;
    const timed = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    const ms = (name: string, value: number): TrialValue => ({ name, unit: 'ms', better: 'lower', value });
    return {
      async trial(): Promise<TrialValue[]> {
        const ns = `${prefix}${++n}`;
        if (!fake) await kernel.netns.create(ns);
        try {
          return [
            ms('restore_ms', await timed(() => iptables.restore(ns, payload, { timeoutMs: TIMEOUT_MS }))),
            ms(
              'restore_again_ms',
              await timed(() => iptables.restore(ns, payload, { timeoutMs: TIMEOUT_MS })),
            ),
            ms('ensure_jumps_ms', await timed(() => iptables.ensureJumps(ns, KUBE_PROXY_JUMPS))),
            ms('partial_restore_ms', await timed(() => iptables.restore(ns, partial, { noflush: true }))),
            ms('save_ms', await timed(() => iptables.save(ns, 'nat'))),
          ];
        } finally {
          if (fake) await iptables.restore(ns, '*filter\nCOMMIT\n*nat\nCOMMIT\n');
          else await kernel.netns.delete(ns);
        }
      },
      async close() {
        if (!fake) await kernel.netns.deleteMany(await kernel.netns.list(prefix));
      },
    };
  },
};
