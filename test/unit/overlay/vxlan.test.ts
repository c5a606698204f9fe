// The vxlan backend over a (fake) node namespace: flannel.1 made as flannel makes it, per peer an
// FDB entry, a permanent neighbour entry and an onlink route, converged as peers come, change and
// go; a second start (a restarted agent) keeps the device and its entries and writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { exampleLayout } from '../../../dataplane/cluster/testing/example-layout.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import type { OverlayNode } from '../../../dataplane/overlay/backend.ts';
import { createOverlayBackend } from '../../../dataplane/overlay/backends/registry.ts';
import { desiredPeers } from '../../../dataplane/overlay/backends/vxlan/entries.ts';

const local: OverlayNode = { name: 'node-1', podCidr: '10.244.0.0/24', underlayIp: '198.18.0.1' };
const peer = (i: number, mac = `0a:58:0a:f4:0${i}:00`): OverlayNode => ({
  name: `node-${i + 1}`,
  podCidr: `10.244.${i}.0/24`,
  underlayIp: `198.18.0.${i + 1}`,
  backendType: 'vxlan',
  backendData: { VNI: 1, VtepMAC: mac },
});

async function world(cluster: string) {
  const layout = exampleLayout(resolveTopology({ cluster, nodes: 3, podsPerNode: 0 }), { hostGw: false });
  const kernel = new FakeKernel({ prefix: clusterPrefix(cluster) });
  await kernel.ops.apply(layout.plan);
  const netns = layout.nodes[0].netns;
  const warnings: string[] = [];
  const make = () =>
    createOverlayBackend('vxlan', {
      kernel,
      netns,
      uplink: 'eth0',
      clusterCidr: '10.244.0.0/16',
      log: (level, message) => void (level === 'warn' && warnings.push(message)),
    });
  const state = async () => ({
    fdb: (await kernel.fdb.list(netns, 'flannel.1')).map((f) => `${f.lladdr} dst ${f.dst} ${f.state}`),
    neigh: (await kernel.neighbours.list(netns, 'flannel.1')).map((n) => `${n.ip} ${n.lladdr} ${n.state}`),
    routes: (await kernel.routes.list(netns))
      .filter((r) => r.dev === 'flannel.1')
      .map((r) => `${r.dst} via ${r.via}${r.onlink ? ' onlink' : ''}`),
  });
  return { kernel, netns, warnings, make, state };
}

test('start makes flannel.1 as flannel does and says what to publish', async () => {
  const w = await world('tvx1');
  const backend = w.make();
  await assert.rejects(backend.sync([]), (e) => isKdpError(e, 'KDP_ERR_OVERLAY_NOT_STARTED'));
  const started = await backend.start(local);
  assert.deepEqual(started, { backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:00' }, podMtu: 1450 });
  const dev = (await w.kernel.links.list(w.netns)).find((l) => l.name === 'flannel.1');
  assert.deepEqual(dev, {
    name: 'flannel.1',
    kind: 'vxlan',
    mtu: 1450,
    up: true,
    address: '0a:58:0a:f4:00:00',
    vxlan: { vni: 1, local: '198.18.0.1', dev: 'eth0', port: 8472, learning: false },
  });
  assert.deepEqual(await w.kernel.addresses.list(w.netns, 'flannel.1'), [
    { dev: 'flannel.1', cidr: '10.244.0.0/32' },
  ]);
});

test('peers are programmed, changed and removed; unchanged peers cost no kernel call', async () => {
  const w = await world('tvx2');
  const backend = w.make();
  await backend.start(local);
  await backend.sync([peer(1), peer(2)]);
  assert.deepEqual(await w.state(), {
    fdb: ['0a:58:0a:f4:01:00 dst 198.18.0.2 permanent', '0a:58:0a:f4:02:00 dst 198.18.0.3 permanent'],
    neigh: ['10.244.1.0 0a:58:0a:f4:01:00 permanent', '10.244.2.0 0a:58:0a:f4:02:00 permanent'],
    routes: ['10.244.1.0/24 via 10.244.1.0 onlink', '10.244.2.0/24 via 10.244.2.0 onlink'],
  });
  w.kernel.resetCounts();
  await backend.sync([peer(2), peer(1)]);
  assert.equal(w.kernel.calls.size, 0, 'no kernel call at all');

  // node-3 comes back with a new VTEP MAC on a new public address; node-2 leaves.
  await backend.sync([{ ...peer(2, '0a:58:0a:f4:02:99'), underlayIp: '198.18.0.33' }]);
  assert.deepEqual(await w.state(), {
    fdb: ['0a:58:0a:f4:02:99 dst 198.18.0.33 permanent'],
    neigh: ['10.244.2.0 0a:58:0a:f4:02:99 permanent'],
    routes: ['10.244.2.0/24 via 10.244.2.0 onlink'],
  });
  await backend.sync([]);
  assert.deepEqual(await w.state(), { fdb: [], neigh: [], routes: [] });
});

test('peers without vxlan or a VtepMAC are skipped with a reason, reported once', async () => {
  const w = await world('tvx3');
  const backend = w.make();
  await backend.start(local);
  const hostGw = { ...peer(1), backendType: 'host-gw', backendData: null };
  const noMac = { ...peer(2), backendData: { VNI: 1 } };
  await backend.sync([hostGw, noMac]);
  await backend.sync([hostGw, noMac]);
  assert.deepEqual((await w.state()).routes, []);
  assert.equal(w.warnings.length, 2, w.warnings.join('\n'));
  assert.match(w.warnings.join('\n'), /node-2: it runs the host-gw backend/);
  assert.match(w.warnings.join('\n'), /node-3: its backend data has no VtepMAC/);
  const { skipped } = desiredPeers(local, [
    { ...peer(1), podCidr: '10.244.0.0/25' },
    peer(2, '0a:58:0a:f4:01:00'),
    peer(1),
  ]);
  assert.deepEqual(
    skipped.map((s) => s.reason),
    [
      "pod CIDR 10.244.0.0/25 overlaps this node's 10.244.0.0/24",
      "VtepMAC 0a:58:0a:f4:01:00 is another node's too",
    ],
  );
});

test('a restarted agent keeps flannel.1, its MAC and its entries, and writes nothing', async () => {
  const w = await world('tvx4');
  const first = w.make();
  await first.start(local);
  await first.sync([peer(1), peer(2)]);
  await first.close();
  const before = await w.state();
  w.kernel.resetCounts();
  const second = w.make();
  const started = await second.start(local);
  await second.sync([peer(1), peer(2)]);
  assert.deepEqual(started.backendData, { VNI: 1, VtepMAC: '0a:58:0a:f4:00:00' });
  assert.deepEqual(w.kernel.applied, [], 'no link, address, neighbour or route written');
  assert.equal(w.kernel.callCount('fdb.replace') + w.kernel.callCount('fdb.delete'), 0);
  assert.deepEqual(await w.state(), before);
});

test('an incompatible flannel.1 is replaced; a stale address is removed', async () => {
  const w = await world('tvx5');
  await w.kernel.links.addVxlan({
    ns: w.netns,
    name: 'flannel.1',
    vni: 7,
    local: '198.18.0.1',
    dev: 'eth0',
    port: 4789,
  });
  const backend = w.make();
  await backend.start(local);
  const dev = (await w.kernel.links.list(w.netns)).find((l) => l.name === 'flannel.1');
  assert.equal(dev?.vxlan?.vni, 1);
  assert.equal(dev?.vxlan?.port, 8472);
  assert.match(w.warnings.join('\n'), /replacing flannel.1.*VNI 7 port 4789/);

  await w.kernel.addresses.add(w.netns, 'flannel.1', '10.244.77.0/32');
  await w.make().start(local);
  assert.deepEqual(await w.kernel.addresses.list(w.netns, 'flannel.1'), [
    { dev: 'flannel.1', cidr: '10.244.0.0/32' },
  ]);
});
