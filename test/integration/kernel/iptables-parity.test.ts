/**
 * FakeIptables against the kernel: every case runs the same restores (and helpers) through the
 * real iptables-restore, with the nft and the legacy backend, each in a fresh kdp-t<random>-
 * namespace, and through the fake. Both must succeed or both refuse with KDP_ERR_KERNEL_REJECTED,
 * and leave the same iptables-save chains and rules; a refused block must change nothing of its
 * table. withIsolatedKernel checks afterwards that the host's root namespace, its iptables
 * included, is exactly as before. Run as root:
 *   node --import tsx --test test/integration/kernel/iptables-parity.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import type { Iptables } from '../../../dataplane/kernel/iptables/interface.ts';
import type { IptablesBackend } from '../../../dataplane/kernel/iptables/types.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import {
  KUBE_PROXY_JUMPS,
  kubeShapedPayload,
} from '../../../dataplane/kernel/testing/iptables-kube-shape.ts';
import { snapshotRoot } from '../helpers/root-snapshot.ts';
import { withIsolatedKernel } from './isolated.ts';

type Step = (ipt: Iptables, ns: string) => Promise<unknown>;

const BASE = `*nat
:KUBE-A - [0:0]
:KUBE-B - [0:0]
:KUBE-C - [0:0]
-A PREROUTING -j KUBE-A
-A OUTPUT -j KUBE-C
-A KUBE-A -j KUBE-B
-A KUBE-B -j RETURN
-A KUBE-C -j RETURN
COMMIT
`;

/** Every match and target the fake models, in spellings iptables normalises. */
const EVERYTHING = `*filter
:KUBE-T - [0:0]
-A FORWARD -j KUBE-T
-A KUBE-T -m conntrack --ctstate ESTABLISHED,RELATED,NEW -j ACCEPT
-A KUBE-T -m conntrack ! --ctstate DNAT,INVALID,UNTRACKED,SNAT -j ACCEPT
-A KUBE-T -p tcp --dport 80 --sport 1000:2000 -m comment --comment "with \\"quote\\" inside" -j REJECT --reject-with tcp-reset
-A KUBE-T -p udp -m udp ! --dport 53 -j REJECT --reject-with icmp-host-unreachable
-A KUBE-T -p tcp -m multiport ! --dports 80,443,8000:8080 -j DROP
-A KUBE-T -p sctp -m sctp --dport 9 -i eth0 ! -o cni0 -j ACCEPT
-A KUBE-T -m addrtype ! --dst-type LOCAL --src-type LOCAL -j RETURN
-A KUBE-T -m mark --mark 16/0x10 -j RETURN
-A KUBE-T -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-T -s 10.1.2.3/8 -d 10.96.0.10 -i eth+ -j ACCEPT
-A KUBE-T -m comment --comment simple -m comment --comment "" -j ACCEPT
-A KUBE-T -p 6 -j ACCEPT
-A KUBE-T ! -p udp -m recent ! --update --hitcount 3 --rttl -j ACCEPT
-A KUBE-T -m recent --remove --name bar --rdest --mask 255.255.0.0 -j ACCEPT
-A KUBE-T -m statistic --mode nth ! --every 3 --packet 2 -j ACCEPT
COMMIT
*nat
:KUBE-N - [0:0]
:KUBE-P - [0:0]
-A OUTPUT -j KUBE-N
-A POSTROUTING -j KUBE-P
-A KUBE-N -m statistic --mode random --probability 0.3333333333 -j RETURN
-A KUBE-N -m statistic --mode random ! --probability 0.2 -j RETURN
-A KUBE-N -m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap -j RETURN
-A KUBE-N -m recent --name KUBE-SEP-X --set -p tcp -j DNAT --to-destination 10.1.1.1:80-90
-A KUBE-N -p sctp --dport 9 -j DNAT --to-destination 10.1.1.2:9
-A KUBE-N -p udp -j REDIRECT --to-ports 8080 --random
-A KUBE-N -j MARK --set-mark 0x10/0x30
-A KUBE-N -j MARK --and-mark 0xff
-A KUBE-N -j MARK --or-mark 0x4000
-A KUBE-N -j MARK --xor-mark 0x4000
-A KUBE-N -d 10.0.0.0/255.255.0.0 -j RETURN
-A KUBE-P -p tcp -j MASQUERADE --to-ports 1000-2000 --random
-A KUBE-P -j MASQUERADE --random-fully
-A KUBE-P -p udp -j SNAT --to-source 1.2.3.4:100-200 --random-fully --persistent
-A KUBE-P -o eth0 -j SNAT --to-source 1.2.3.4
COMMIT
`;

const restore =
  (payload: string, noflush = true): Step =>
  (ipt, ns) =>
    ipt.restore(ns, payload, { noflush });

const CASES: [name: string, steps: Step[]][] = [
  ['every modelled match and target', [restore(EVERYTHING, false)]],
  [
    "kube-proxy's shape with NodePorts, then its jumps",
    [
      restore(kubeShapedPayload({ services: 20, endpointsPerService: 3, nodePorts: true })),
      (i, n) => i.ensureJumps(n, KUBE_PROXY_JUMPS),
    ],
  ],
  [
    'jumps added, removed, chains deleted',
    [
      (i, n) => i.ensureJumps(n, KUBE_PROXY_JUMPS),
      (i, n) => i.ensureJumps(n, [{ table: 'nat', from: 'OUTPUT', to: 'KUBE-FIRST', position: 'prepend' }]),
      (i, n) => i.deleteJumps(n, KUBE_PROXY_JUMPS.slice(0, 4)),
      (i, n) => i.deleteChains(n, 'filter', ['KUBE-NODEPORTS', 'KUBE-EXTERNAL-SERVICES']),
    ],
  ],
  [
    'flush: the whole table is replaced',
    [
      restore(BASE),
      restore('*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-A - [0:0]\n-A KUBE-A -j ACCEPT\nCOMMIT\n', false),
    ],
  ],
  [
    'noflush: declared user chains emptied, built-ins kept',
    [
      restore(BASE),
      restore('*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-A - [0:0]\n-A KUBE-A -j ACCEPT\nCOMMIT\n'),
    ],
  ],
  [
    'stale chains declared then deleted',
    [
      restore(BASE),
      restore('*nat\n:KUBE-A - [0:0]\n:KUBE-B - [0:0]\n-A KUBE-A -j RETURN\n-X KUBE-B\nCOMMIT\n'),
    ],
  ],
  [
    '-N, -I positions, -R, -D',
    [
      restore(BASE),
      restore(
        '*nat\n-N KUBE-NEW\n-I KUBE-A 1 -j KUBE-NEW\n-I KUBE-A -j RETURN\n-I KUBE-A 3 -j KUBE-C\n-R KUBE-C 1 -j ACCEPT\n-D KUBE-A 1\n-D KUBE-A -j KUBE-C\nCOMMIT\n',
      ),
    ],
  ],
  [
    'policy and counters',
    [restore('*filter\n:FORWARD DROP [5:6]\n:KUBE-F - [0:0]\n-A KUBE-F -j RETURN\nCOMMIT\n', false)],
  ],
  [
    'an unreachable loop is allowed',
    [restore('*nat\n:KUBE-L - [0:0]\n:KUBE-K - [0:0]\n-A KUBE-L -j KUBE-K\n-A KUBE-K -j KUBE-L\nCOMMIT\n')],
  ],
  [
    'refused: jump to a missing chain',
    [restore(BASE), restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j KUBE-NOPE\nCOMMIT\n')],
  ],
  [
    'refused: jump to a chain declared later',
    [restore(BASE), restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j KUBE-LATER\n:KUBE-LATER - [0:0]\nCOMMIT\n')],
  ],
  [
    'refused: rule in an undeclared chain',
    [restore(BASE), restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-Z -j RETURN\nCOMMIT\n')],
  ],
  [
    'refused: deleting a referenced chain',
    [restore(BASE), restore('*nat\n:KUBE-X - [0:0]\n-X KUBE-B\nCOMMIT\n')],
  ],
  ['refused: deleting a non-empty chain', [restore(BASE), restore('*nat\n-F KUBE-A\n-X KUBE-B\nCOMMIT\n')]],
  ['refused: deleting a missing chain', [restore(BASE), restore('*nat\n-X KUBE-NOSUCH\nCOMMIT\n')]],
  ['refused: deleting a missing rule', [restore(BASE), restore('*nat\n-D KUBE-A -j KUBE-C\nCOMMIT\n')]],
  [
    'refused: a malformed rule',
    [restore(BASE), restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-A -p tcp --dportx 80 -j RETURN\nCOMMIT\n')],
  ],
  ['refused: no COMMIT', [restore(BASE), restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j RETURN\n')]],
  [
    'refused: the second table; the first stays',
    [
      restore(BASE),
      restore(
        '*filter\n:KUBE-F - [0:0]\n-A KUBE-F -j RETURN\nCOMMIT\n*nat\n:KUBE-N - [0:0]\n-A KUBE-N -j KUBE-NOPE\nCOMMIT\n',
      ),
    ],
  ],
  [
    'refused: the first table; the second never runs',
    [
      restore(BASE),
      restore(
        '*filter\n:KUBE-F - [0:0]\n-A KUBE-F -j KUBE-NOPE\nCOMMIT\n*nat\n:KUBE-N - [0:0]\n-A KUBE-N -j RETURN\nCOMMIT\n',
      ),
    ],
  ],
  [
    'refused: MASQUERADE reachable from PREROUTING',
    [restore('*nat\n:KUBE-M - [0:0]\n-A PREROUTING -j KUBE-M\n-A KUBE-M -j MASQUERADE\nCOMMIT\n')],
  ],
  [
    'refused: DNAT reachable from POSTROUTING',
    [
      restore(
        '*nat\n:KUBE-A - [0:0]\n-A PREROUTING -j KUBE-A\n-A KUBE-A -p tcp -j DNAT --to-destination 1.1.1.1:80\n-A POSTROUTING -j KUBE-A\nCOMMIT\n',
      ),
    ],
  ],
  [
    'refused: a reachable loop',
    [
      restore(
        '*filter\n:KUBE-L - [0:0]\n:KUBE-K - [0:0]\n-A INPUT -j KUBE-L\n-A KUBE-L -j KUBE-K\n-A KUBE-K -j KUBE-L\nCOMMIT\n',
      ),
    ],
  ],
  ['refused: REJECT in nat', [restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j REJECT\nCOMMIT\n')]],
  ['refused: DROP in nat', [restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j DROP\nCOMMIT\n')]],
  [
    'refused: jump to a built-in chain',
    [restore('*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j PREROUTING\nCOMMIT\n')],
  ],
  ['refused: a chain named like a target', [restore('*nat\n:ACCEPT - [0:0]\nCOMMIT\n')]],
  ['refused: -i in OUTPUT', [restore('*filter\n-A OUTPUT -i eth0 -j ACCEPT\nCOMMIT\n')]],
  [
    'refused: a chain name of 29 characters',
    [restore('*nat\n:KUBE-SVC-ABCDEFGHIJKLMNOPQRST - [0:0]\nCOMMIT\n')],
  ],
];

/** Outcome of every step: 'ok' or the error code (and, for legacy, the blamed line). */
async function run(
  steps: Step[],
  ipt: Iptables,
  ns: string,
): Promise<{ outcomes: string[]; lines: unknown[] }> {
  const outcomes: string[] = [];
  const lines: unknown[] = [];
  for (const step of steps) {
    try {
      await step(ipt, ns);
      outcomes.push('ok');
    } catch (e) {
      if (!isKdpError(e)) throw e;
      outcomes.push(e.code);
      lines.push(e.details?.line);
    }
  }
  return { outcomes, lines };
}

/** iptables-save without comments and counters, tables sorted, without tables that hold nothing. */
function normalise(saved: string): string[] {
  const tables = saved
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, '[0:0]'))
    .join('\n')
    .split(/(?=^\*)/m);
  return tables
    .map((t) => t.trimEnd())
    .filter((t) => /^-A |^:\S+ (DROP|-) /m.test(t))
    .sort();
}

for (const backend of ['nft', 'legacy'] as IptablesBackend[]) {
  test(`the fake restores like iptables-${backend}-restore: same outcomes, same rules`, async (t) => {
    await withIsolatedKernel(t, async (kernel, cluster) => {
      const real = createIptables({ prefix: kernel.prefix, backend });
      const mismatches: string[] = [];
      for (const [i, [name, steps]] of CASES.entries()) {
        const ns = `kdp-${cluster}-ipt${i}`;
        await kernel.netns.create(ns);
        const fake = new FakeIptables({ prefix: kernel.prefix, backend });
        const [got, want] = [await run(steps, fake, ns), await run(steps, real, ns)];
        if (got.outcomes.join() !== want.outcomes.join())
          mismatches.push(`${name}: fake ${got.outcomes.join()}, kernel ${want.outcomes.join()}`);
        const [f, r] = [normalise(await fake.save(ns)), normalise(await real.save(ns))];
        if (JSON.stringify(f) !== JSON.stringify(r))
          mismatches.push(`${name}:\nfake:\n${f.join('\n')}\nkernel:\n${r.join('\n')}`);
        if (got.lines.join() !== want.lines.join())
          t.diagnostic(
            `${name}: fake blames line ${got.lines.join()}, iptables-${backend} ${want.lines.join()}`,
          );
        await kernel.netns.delete(ns);
      }
      assert.deepEqual(mismatches, []);
    });
  });
}

test('the host root namespace has none of these rules: its iptables-save sections hold no KUBE- chain', async () => {
  // Read by the snapshot helper only; nothing here runs iptables in the root namespace itself.
  const { sections } = await snapshotRoot();
  for (const name of ['iptables-save', 'iptables-legacy-save', 'nft list ruleset'])
    assert.doesNotMatch(sections[name], /KUBE-/, name);
});
