/**
 * FakeNftables: the table guard, transactions that commit whole or not at all, the kernel's
 * refusals kdp relies on, and a listed table loading back into an identical one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeNftables } from '../../../dataplane/kernel/testing/fake-nftables.ts';

const NS = 'kdp-t-node';

test('only table ip/ip6 kube-proxy, only in kdp namespaces', async () => {
  const nft = new FakeNftables();
  await assert.rejects(nft.apply(NS, 'add table ip filter\n'), { code: 'KDP_ERR_KERNEL_INVALID' });
  await assert.rejects(nft.apply(NS, 'add table inet kube-proxy\n'), { code: 'KDP_ERR_KERNEL_INVALID' });
  await assert.rejects(nft.apply('', 'add table ip kube-proxy\n'), { code: 'KDP_ERR_KERNEL_HOST_NAMESPACE' });
  await assert.rejects(nft.apply('netns1', 'add table ip kube-proxy\n'), {
    code: 'KDP_ERR_KERNEL_HOST_NAMESPACE',
  });
  await nft.apply(NS, 'add table ip kube-proxy\nadd table ip6 kube-proxy\n');
  assert.ok(nft.table(NS, 'ip6'));
});

test('a failing command leaves the table as it was; the kernel refusals', async () => {
  const nft = new FakeNftables();
  await nft.apply(
    NS,
    'add table ip kube-proxy\nadd chain ip kube-proxy a\nadd rule ip kube-proxy a accept\n',
  );
  const before = await nft.listTable(NS, 'ip');
  const refused = [
    'add chain ip kube-proxy b\nadd rule ip kube-proxy b jump missing\n',
    'add rule ip kube-proxy nope accept\n',
    'delete chain ip kube-proxy a\n',
    'add chain ip kube-proxy b\nadd rule ip kube-proxy b ip saddr @nope accept\n',
    'add map ip kube-proxy m { type ipv4_addr : verdict ; }\nadd element ip kube-proxy m { 1.2.3.4 : goto missing }\n',
    'delete element ip kube-proxy m { 1.2.3.4 }\n',
  ];
  for (const script of refused)
    await assert.rejects(nft.apply(NS, script), { code: 'KDP_ERR_KERNEL_REJECTED' }, script);
  assert.equal(await nft.listTable(NS, 'ip'), before);
  await nft.apply(NS, 'flush chain ip kube-proxy a\ndelete chain ip kube-proxy a\n');
  assert.equal(nft.table(NS)!.chains.size, 0);
});

test('a listed table loads back identical (as the real-kernel harness reads the kernel)', async () => {
  const nft = new FakeNftables();
  await nft.apply(
    NS,
    [
      'add table ip kube-proxy { comment "rules for kube-proxy" ; }',
      'add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }',
      'add chain ip kube-proxy svc',
      'add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }',
      'add rule ip kube-proxy nat-prerouting ip daddr . meta l4proto . th dport vmap @service-ips',
      'add rule ip kube-proxy svc numgen random mod 2 vmap { 0 : goto svc, 1 : drop }',
      'add element ip kube-proxy service-ips { 10.96.0.1 . tcp . 80 : goto svc, 10.96.0.2 . udp . 53 : drop }',
    ].join('\n'),
  );
  const listed = (await nft.listTable(NS, 'ip'))!;
  const copy = new FakeNftables();
  await copy.apply(NS, listed);
  assert.equal(await copy.listTable(NS, 'ip'), listed);
  assert.equal(copy.table(NS)!.sets.get('service-ips')!.elements.get('10.96.0.2 . udp . 53'), 'drop');
});
