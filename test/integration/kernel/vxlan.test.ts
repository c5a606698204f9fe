/**
 * The real kernel's vxlan links and FDB entries through iproute2 (links.addVxlan, kernel.fdb),
 * answering as the FakeKernel does (test/unit/kernel/vxlan-fake.test.ts), and the vxlan overlay
 * backend on two namespaces joined by a veth: pings cross flannel.1 both ways, and a second
 * start (a restarted agent) keeps the device, its MAC and its entries.
 * Run as root: node --import tsx --test test/integration/kernel/vxlan.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';
import { NetworkPlan } from '../../../dataplane/kernel/network-plan.ts';
import type { OverlayNode } from '../../../dataplane/overlay/backend.ts';
import { createOverlayBackend } from '../../../dataplane/overlay/backends/registry.ts';
import { withIsolatedKernel } from './isolated.ts';

/** Two namespaces whose eth0s are the two ends of one veth, on 198.18.0.0/16. */
async function pair(k: Kernel, cluster: string): Promise<[string, string]> {
  const a = `kdp-${cluster}-a`;
  const b = `kdp-${cluster}-b`;
  const plan = new NetworkPlan().createNamespace(a).createNamespace(b);
  plan.addVeth({ ns: a, name: 'eth0', peerNs: b, peerName: 'eth0' });
  for (const [ns, ip] of [
    [a, '198.18.0.1'],
    [b, '198.18.0.2'],
  ]) {
    plan.addAddress(ns, 'eth0', `${ip}/16`).setLink(ns, 'eth0', { up: true }).setLink(ns, 'lo', { up: true });
  }
  await k.ops.apply(plan);
  return [a, b];
}

test('vxlan links and FDB entries: created, listed and refused as the fake does', async (t) => {
  await withIsolatedKernel(t, async (k, cluster) => {
    const [a] = await pair(k, cluster);
    const spec = { ns: a, name: 'flannel.1', vni: 1, local: '198.18.0.1', dev: 'eth0', port: 8472 };
    await k.links.addVxlan({ ...spec, address: '0a:58:0a:f4:00:00' });
    const link = (await k.links.list(a)).find((l) => l.name === 'flannel.1');
    assert.equal(link?.kind, 'vxlan');
    assert.equal(link?.mtu, 1450, "the kernel's default leaves room for the outer headers");
    assert.equal(link?.address, '0a:58:0a:f4:00:00');
    assert.deepEqual(link?.vxlan, { vni: 1, local: '198.18.0.1', dev: 'eth0', port: 8472, learning: false });
    await assert.rejects(k.links.addVxlan({ ...spec, name: 'vx2' }), (e) => isKdpError(e, KERNEL_ERR.exists));

    const entry = { dev: 'flannel.1', lladdr: '0a:58:0a:f4:01:00', dst: '198.18.0.2' };
    await k.fdb.add(a, entry);
    await assert.rejects(k.fdb.add(a, { ...entry, dst: '198.18.0.3' }), (e) =>
      isKdpError(e, KERNEL_ERR.exists),
    );
    await k.fdb.append(a, entry);
    assert.deepEqual(await k.fdb.list(a, 'flannel.1'), [{ ...entry, state: 'permanent' }]);
    await k.fdb.replace(a, { ...entry, dst: '198.18.0.3' });
    assert.deepEqual(await k.fdb.list(a, 'flannel.1'), [{ ...entry, dst: '198.18.0.3', state: 'permanent' }]);
    await k.fdb.delete(a, entry); // another VTEP's: the kernel changes nothing and says nothing
    await assert.rejects(k.fdb.delete(a, { ...entry, lladdr: '0a:58:0a:f4:09:00' }), (e) =>
      isKdpError(e, KERNEL_ERR.notFound),
    );
    await k.fdb.delete(a, { ...entry, dst: '198.18.0.3' });
    assert.deepEqual(await k.fdb.list(a, 'flannel.1'), []);
    await assert.rejects(k.fdb.list(a, 'nope0'), (e) => isKdpError(e, KERNEL_ERR.notFound));
  });
});

test('the vxlan backend carries traffic between two nodes and survives a restart', async (t) => {
  await withIsolatedKernel(t, async (k, cluster) => {
    const [a, b] = await pair(k, cluster);
    const nodes: OverlayNode[] = [
      { name: 'a', podCidr: '10.244.0.0/24', underlayIp: '198.18.0.1' },
      { name: 'b', podCidr: '10.244.1.0/24', underlayIp: '198.18.0.2' },
    ];
    const backend = (ns: string) =>
      createOverlayBackend('vxlan', {
        kernel: k,
        netns: ns,
        uplink: 'eth0',
        clusterCidr: '10.244.0.0/16',
        log: () => {},
      });
    const [ba, bb] = [backend(a), backend(b)];
    const [sa, sb] = [await ba.start(nodes[0]), await bb.start(nodes[1])];
    assert.equal(sa.podMtu, 1450);
    const lease = (n: OverlayNode, data: unknown) => ({ ...n, backendType: 'vxlan', backendData: data });
    await ba.sync([lease(nodes[1], sb.backendData)]);
    await bb.sync([lease(nodes[0], sa.backendData)]);
    const routes = (await k.routes.list(a)).filter((r) => r.dev === 'flannel.1');
    assert.deepEqual(
      routes.map((r) => [r.dst, r.via, r.onlink]),
      [['10.244.1.0/24', '10.244.1.0', true]],
    );
    // From a's flannel.1 address to b's and back, through the tunnel (no ARP: learning is off).
    await k.netns.exec(a, ['ping', '-c', '2', '-W', '2', '-M', 'do', '-s', '1422', '10.244.1.0']);
    await k.netns.exec(b, ['ping', '-c', '1', '-W', '2', '10.244.0.0']);

    // A restarted agent: same MAC, nothing written, traffic still flows.
    await ba.close();
    const again = backend(a);
    assert.deepEqual((await again.start(nodes[0])).backendData, sa.backendData);
    await again.sync([lease(nodes[1], sb.backendData)]);
    await k.netns.exec(a, ['ping', '-c', '1', '-W', '2', '10.244.1.0']);
    // The peer leaves: its entries go, and so does the way to it.
    await again.sync([]);
    assert.deepEqual(await k.fdb.list(a, 'flannel.1'), []);
    await assert.rejects(k.netns.exec(a, ['ping', '-c', '1', '-W', '1', '10.244.1.0']));
  });
});
