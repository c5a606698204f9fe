/**
 * The nftables mode's rule text against upstream's shapes (names, maps, numgen, affinity), and
 * its partial syncs: a change writes only what changed, removed chains go stale and are deleted
 * later, a restarted proxier writes the same table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSlice, Service } from '../../../../dataplane/api/types.ts';
import { ClusterFeed } from '../../../../dataplane/proxy/compliance/run-case.ts';
import {
  ep,
  L1,
  R1,
  R2,
  slice,
  svc,
  thisNode,
} from '../../../../dataplane/proxy/compliance/case-topology.ts';
import {
  createFakeNftSetup,
  FAKE_NODE_NS,
  traceFlow,
} from '../../../../dataplane/proxy/nftables/testing/fake-harness.ts';
import { servicePortBase } from '../../../../dataplane/proxy/nftables/nft-names.ts';

async function programmed(services: Service[], slices: EndpointSlice[]) {
  const s = createFakeNftSetup();
  const feed = new ClusterFeed(s.proxier);
  s.proxier.onNodeAdd(thisNode());
  feed.apply(services, slices);
  s.proxier.onServicesSynced();
  s.proxier.onEndpointSlicesSynced();
  await s.settle();
  return { ...s, feed };
}

test("chain names hash as upstream's: ns1/svc1 port p80 tcp is ULMVA6XW", () => {
  assert.equal(servicePortBase('ns1', 'svc1', 'TCP', 'p80'), 'ULMVA6XW-ns1/svc1/tcp/p80');
});

test('a NodePort Service with affinity: the rule text of its chains and elements', async () => {
  const web = svc('web', '10.96.0.10', {
    type: 'NodePort',
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
  });
  const s = await programmed([web], [slice('web', [ep(L1), ep(R1)])]);
  const base = servicePortBase('ns1', 'web', 'TCP', 'http');
  const script = s.proxier.lastWrite!.script.split('\n');
  const lines = script.filter((l) => l.includes('ns1/web') || l.includes('10.96.0.10'));
  const t = 'ip kube-proxy';
  const e1 = lines
    .find((l) => l.startsWith(`add chain ${t} endpoint-`) && l.endsWith('__10.244.1.21/8080'))!
    .split(' ')[4];
  const e2 = lines
    .find((l) => l.startsWith(`add chain ${t} endpoint-`) && l.endsWith('__10.244.2.21/8080'))!
    .split(' ')[4];
  const a1 = e1.replace('endpoint-', 'affinity-');
  const a2 = e2.replace('endpoint-', 'affinity-');
  assert.deepEqual(
    lines.sort(),
    [
      `add chain ${t} ${e1}`,
      `add chain ${t} ${e2}`,
      `add chain ${t} external-${base}`,
      `add chain ${t} service-${base}`,
      `add element ${t} cluster-ips { 10.96.0.10 }`,
      `add element ${t} service-ips { 10.96.0.10 . tcp . 80 : goto service-${base} }`,
      `add element ${t} service-nodeports { tcp . 30080 : goto external-${base} }`,
      `add rule ${t} ${e1} ip saddr 10.244.1.21 jump mark-for-masquerade`,
      `add rule ${t} ${e1} meta l4proto tcp dnat to 10.244.1.21:8080`,
      `add rule ${t} ${e1} update @${a1} { ip saddr }`,
      `add rule ${t} ${e2} ip saddr 10.244.2.21 jump mark-for-masquerade`,
      `add rule ${t} ${e2} meta l4proto tcp dnat to 10.244.2.21:8080`,
      `add rule ${t} ${e2} update @${a2} { ip saddr }`,
      `add rule ${t} external-${base} goto service-${base}`,
      `add rule ${t} external-${base} jump mark-for-masquerade`,
      `add rule ${t} service-${base} ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
      `add rule ${t} service-${base} ip saddr @${a1} goto ${e1}`,
      `add rule ${t} service-${base} ip saddr @${a2} goto ${e2}`,
      `add rule ${t} service-${base} numgen random mod 2 vmap { 0 : goto ${e1}, 1 : goto ${e2} }`,
      `add set ${t} ${a1} { type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }`,
      `add set ${t} ${a2} { type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }`,
    ].sort(),
  );
  await s.proxier.stop();
});

test('an endpoint change is a partial sync of that Service only; its old chain is flushed, then deleted later', async () => {
  const a = svc('a', '10.96.0.1');
  const b = svc('b', '10.96.0.2');
  const s = await programmed([a, b], [slice('a', [ep(R1)]), slice('b', [ep(R1)])]);
  assert.equal(s.proxier.lastWrite!.kind, 'full');
  s.feed.apply([a, b], [slice('a', [ep(R2)]), slice('b', [ep(R1)])]);
  await s.settle();
  const w = s.proxier.lastWrite!;
  assert.equal(w.kind, 'partial');
  assert.deepEqual(w.rewritten, ['ns1/a:http/TCP']);
  assert.ok(!w.script.includes('ns1/b'), w.script);
  assert.ok(!w.script.includes('add element'), 'no map element changes: the service chain is the same');
  const old = w.script.split('\n').find((l) => l.startsWith('flush chain ip kube-proxy endpoint-'));
  assert.ok(old?.endsWith('__10.244.2.21/8080'), w.script);
  const flow = {
    from: 'pod' as const,
    source: '10.244.1.10',
    to: '10.96.0.1',
    port: 80,
    protocol: 'TCP' as const,
  };
  assert.deepEqual(traceFlow(s.nftables.table(FAKE_NODE_NS), flow).outcomes, ['10.244.2.22:8080']);
  const stale = old!.split(' ')[4];
  assert.ok(s.nftables.table(FAKE_NODE_NS)!.chains.has(stale), 'kept until the delay passed');
  await s.clock.advance(1000);
  s.feed.apply([a, b], [slice('a', [ep(R2)]), slice('b', [ep(R2)])]);
  await s.settle();
  assert.match(
    s.proxier.lastWrite!.script,
    new RegExp(`delete chain ip kube-proxy ${stale.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
  );
  assert.ok(!s.nftables.table(FAKE_NODE_NS)!.chains.has(stale));
  await s.proxier.stop();
});

test('a restarted proxier on the same kernel writes an identical table; cleanup removes it', async () => {
  const services = [svc('a', '10.96.0.1', { type: 'NodePort' }), svc('b', '10.96.0.2')];
  const slices = [slice('a', [ep(L1), ep(R1)]), slice('b', [])];
  const first = await programmed(services, slices);
  const before = await first.nftables.listTable(FAKE_NODE_NS, 'ip');
  await first.proxier.stop();
  const second = createFakeNftSetup({ nftables: first.nftables });
  new ClusterFeed(second.proxier).apply(services, slices);
  second.proxier.onNodeAdd(thisNode());
  second.proxier.onServicesSynced();
  second.proxier.onEndpointSlicesSynced();
  await second.settle();
  assert.ok(before?.includes('no-endpoint-services'));
  assert.equal(await second.nftables.listTable(FAKE_NODE_NS, 'ip'), before);
  await second.proxier.cleanup();
  assert.equal(await second.nftables.listTable(FAKE_NODE_NS, 'ip'), undefined);
});
