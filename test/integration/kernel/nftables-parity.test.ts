/**
 * FakeNftables against the real kernel: the same scripts applied to both must succeed or fail
 * alike (the kernel's refusals the fake models), and what the kernel then lists, loaded into a
 * fake, must equal the fake's own table (so the fake's parser reads the kernel's printing, and the
 * kernel keeps rule text as the mode writes it). Also the guard: nothing but table kube-proxy.
 * Run as root:
 *   node --import tsx --test test/integration/kernel/nftables-parity.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KdpError } from '../../../dataplane/errors.ts';
import { createNftables } from '../../../dataplane/kernel/nftables/nftables.ts';
import { FakeNftables, formatTable } from '../../../dataplane/kernel/testing/fake-nftables.ts';
import { withIsolatedKernel } from './isolated.ts';

const T = 'ip kube-proxy';
const SETUP = [
  `add table ${T}`,
  `add chain ${T} nat-prerouting { type nat hook prerouting priority -100 ; }`,
  `add chain ${T} filter-input { type filter hook input priority -110 ; }`,
  `add chain ${T} services`,
  `add chain ${T} svc-a`,
  `add chain ${T} ep-a`,
  `add chain ${T} mark-for-masquerade`,
  `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
  `add set ${T} aff-a { type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }`,
  `add rule ${T} nat-prerouting jump services`,
  `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
  `add rule ${T} mark-for-masquerade meta mark set meta mark | 0x00004000`,
  `add rule ${T} svc-a ip daddr 10.96.0.1 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
  `add rule ${T} svc-a ip saddr @aff-a goto ep-a`,
  `add rule ${T} svc-a numgen random mod 1 vmap { 0 : goto ep-a }`,
  `add rule ${T} ep-a ip saddr 10.244.1.5 jump mark-for-masquerade`,
  `add rule ${T} ep-a update @aff-a { ip saddr }`,
  `add rule ${T} ep-a meta l4proto tcp dnat to 10.244.1.5:8080`,
  `add rule ${T} filter-input fib daddr type local ip daddr != 127.0.0.0/8 ct state new reject`,
  `add element ${T} service-ips { 10.96.0.1 . tcp . 80 : goto svc-a }`,
].join('\n');

const CASES: { name: string; script: string; ok: boolean }[] = [
  {
    name: 'flush and refill a chain',
    script: `flush chain ${T} ep-a\nadd rule ${T} ep-a meta l4proto tcp dnat to 10.244.1.6:8080`,
    ok: true,
  },
  { name: 'a jump to a missing chain', script: `add rule ${T} services jump nowhere`, ok: false },
  { name: 'a rule into a missing chain', script: `add rule ${T} nowhere accept`, ok: false },
  { name: 'deleting a chain that has rules', script: `delete chain ${T} ep-a`, ok: false },
  {
    name: 'deleting a chain still jumped to',
    script: `flush chain ${T} mark-for-masquerade\ndelete chain ${T} mark-for-masquerade`,
    ok: false,
  },
  {
    name: 'an element pointing at a missing chain',
    script: `add element ${T} service-ips { 10.96.0.2 . tcp . 80 : goto nowhere }`,
    ok: false,
  },
  {
    name: 'deleting a missing element',
    script: `delete element ${T} service-ips { 10.96.0.9 . tcp . 80 }`,
    ok: false,
  },
  {
    name: 'replacing an element (delete, add)',
    script: `delete element ${T} service-ips { 10.96.0.1 . tcp . 80 }\nadd element ${T} service-ips { 10.96.0.1 . tcp . 80 : drop }`,
    ok: true,
  },
  {
    name: 'a later failure undoes the whole script',
    script: `add chain ${T} extra\nadd rule ${T} extra jump nowhere`,
    ok: false,
  },
];

test('FakeNftables and the kernel accept and refuse the same scripts and hold the same table', async (t) => {
  await withIsolatedKernel(t, async (kernel) => {
    const ns = `${kernel.prefix}nft-parity`;
    await kernel.netns.create(ns);
    const real = createNftables({ prefix: kernel.prefix });
    for (const c of CASES) {
      await t.test(c.name, async () => {
        await real.deleteTable(ns, 'ip');
        const fake = new FakeNftables({ prefix: kernel.prefix });
        await real.apply(ns, SETUP);
        await fake.apply(ns, SETUP);
        const outcome = async (nft: FakeNftables | ReturnType<typeof createNftables>) =>
          nft.apply(ns, c.script).then(
            () => 'ok',
            (e: KdpError) => e.code,
          );
        const [r, f] = [await outcome(real), await outcome(fake)];
        assert.equal(r, c.ok ? 'ok' : 'KDP_ERR_KERNEL_REJECTED', `kernel: ${r}`);
        assert.equal(f, r, 'fake as the kernel');
        const loaded = new FakeNftables({ prefix: kernel.prefix });
        await loaded.apply(ns, (await real.listTable(ns, 'ip'))!);
        const norm = (x: FakeNftables) => {
          const table = x.table(ns)!;
          // The kernel prints `timeout 10m` for 600s and adds no comment: compare rules and elements.
          for (const s of table.sets.values()) s.spec = { map: s.spec.map, type: s.spec.type };
          for (const ch of table.chains.values())
            ch.spec = { ...ch.spec, policy: ch.spec.policy ?? 'accept' };
          return formatTable(table).split('\n').sort().join('\n');
        };
        assert.equal(norm(loaded), norm(fake));
      });
    }
    await t.test('only table kube-proxy, never the host', async () => {
      await assert.rejects(real.apply(ns, 'add table ip filter\n'), { code: 'KDP_ERR_KERNEL_INVALID' });
      await assert.rejects(real.apply(ns, 'flush ruleset\n'), { code: 'KDP_ERR_KERNEL_INVALID' });
      await assert.rejects(real.apply('', `add table ${T}\n`), { code: 'KDP_ERR_KERNEL_HOST_NAMESPACE' });
      assert.equal(await real.deleteTable(ns, 'ip6'), false);
    });
    await kernel.netns.delete(ns);
  });
});
