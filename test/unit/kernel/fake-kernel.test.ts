/**
 * FakeKernel validates as the kernel does (each rule with the code the real implementation
 * raises for it, see test/integration/kernel/parity.test.ts), guards the host namespace, counts
 * calls, and applies plans in the same stages as the real NetworkOps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError, type ErrorCode } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { NetworkPlan } from '../../../dataplane/kernel/plan.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import { exampleLayout } from '../../../dataplane/kernel/testing/example-layout.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';

const A = 'kdp-u-a';
const B = 'kdp-u-b';

async function twoNamespaces(): Promise<FakeKernel> {
  const k = new FakeKernel();
  await k.netns.create(A);
  await k.netns.create(B);
  return k;
}

/** Links as listed, without the MACs the fake hands out (tested on their own below). */
async function linksOf(k: FakeKernel, ns: string) {
  return (await k.links.list(ns)).map(({ address: _mac, ...rest }) => rest);
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, text?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isKdpError(e, code), `expected ${code}, got ${String(e)}`);
    if (text) assert.match((e as Error).message, text);
    return true;
  });
}

test('namespaces: create, list by prefix, exists, delete; duplicates and missing ones refused', async () => {
  const k = await twoNamespaces();
  await k.netns.create('kdp-other-x');
  assert.deepEqual(await k.netns.list('kdp-u-'), [A, B]);
  assert.equal(await k.netns.exists(A), true);
  await rejectsWith(k.netns.create(A), KERNEL_ERR.exists);
  await k.netns.delete(A);
  assert.equal(await k.netns.exists(A), false);
  await rejectsWith(k.netns.delete(A), KERNEL_ERR.notFound);
  assert.equal(k.callCount('netns.create'), 4);
  assert.equal(k.callCount('netns.delete'), 2);
});

test('deleteMany removes every existing namespace even when one is missing, then reports it', async () => {
  const k = await twoNamespaces();
  await rejectsWith(k.netns.deleteMany([A, 'kdp-u-missing', B]), KERNEL_ERR.notFound, /kdp-u-missing/);
  assert.deepEqual(await k.netns.list('kdp-'), []);
});

test('the guard refuses the host namespace and names without the prefix, before anything happens', async () => {
  const k = new FakeKernel({ prefix: 'kdp-u-' });
  await rejectsWith(k.netns.create('default'), KERNEL_ERR.hostNamespace);
  await rejectsWith(k.netns.create('kdp-other-x'), KERNEL_ERR.hostNamespace);
  await rejectsWith(k.links.addBridge('', 'br0'), KERNEL_ERR.hostNamespace, /no namespace/);
  await rejectsWith(k.routes.add('init', { dst: 'default', dev: 'eth0' }), KERNEL_ERR.hostNamespace);
  await rejectsWith(k.sysctl.set('root', 'net.ipv4.ip_forward', '1'), KERNEL_ERR.hostNamespace);
  await rejectsWith(k.netns.exec('host', ['true']), KERNEL_ERR.hostNamespace);
  assert.throws(
    () => k.netns.command('x', ['true']),
    (e) => isKdpError(e, KERNEL_ERR.hostNamespace),
  );
  await k.netns.create('kdp-u-a');
  await rejectsWith(
    k.links.addVeth({ ns: 'kdp-u-a', name: 'v0', peerNs: 'somewhere', peerName: 'eth0' }),
    KERNEL_ERR.hostNamespace,
  );
  await rejectsWith(k.links.moveTo('kdp-u-a', 'lo', 'host'), KERNEL_ERR.hostNamespace);
  assert.throws(
    () => new FakeKernel({ prefix: 'x-' }),
    (e) => isKdpError(e, KERNEL_ERR.invalid),
  );
  assert.equal(k.applied.length, 0);
});

test('interface names longer than 15 characters, or with bad characters, are refused', async () => {
  const k = await twoNamespaces();
  await rejectsWith(
    k.links.addBridge(A, 'abcdefghijklmnop'),
    KERNEL_ERR.invalid,
    /16 characters.*at most 15/,
  );
  await rejectsWith(k.links.addBridge(A, 'a/b'), KERNEL_ERR.invalid);
  await rejectsWith(
    k.links.addVeth({ ns: A, name: 'ok', peerNs: B, peerName: 'x'.repeat(16) }),
    KERNEL_ERR.invalid,
  );
  await k.links.addBridge(A, 'x'.repeat(15));
});

test('a link name already used in the namespace is refused, also for a veth peer', async () => {
  const k = await twoNamespaces();
  await k.links.addBridge(A, 'br0');
  await rejectsWith(k.links.addBridge(A, 'br0'), KERNEL_ERR.exists);
  await k.links.addBridge(B, 'eth0');
  await rejectsWith(k.links.addVeth({ ns: A, name: 'v1', peerNs: B, peerName: 'eth0' }), KERNEL_ERR.exists);
  assert.deepEqual(
    (await k.links.list(A)).map((l) => l.name),
    ['lo', 'br0'],
  );
});

test('a veth peer into a missing namespace is refused', async () => {
  const k = await twoNamespaces();
  await rejectsWith(
    k.links.addVeth({ ns: A, name: 'v1', peerNs: 'kdp-u-missing', peerName: 'eth0' }),
    KERNEL_ERR.notFound,
    /kdp-u-missing/,
  );
  assert.equal((await k.links.list(A)).length, 1);
});

test('veth pairs span namespaces; deleting one end removes both with their addresses and routes', async () => {
  const k = await twoNamespaces();
  await k.links.addVeth({ ns: A, name: 'v1', peerNs: B, peerName: 'eth0', mtu: 1450 });
  await k.links.setUp(B, 'eth0');
  await k.addresses.add(B, 'eth0', '10.0.0.2/24');
  await k.routes.add(B, { dst: 'default', via: '10.0.0.1' });
  assert.deepEqual(await linksOf(k, B), [
    { name: 'lo', kind: 'loopback', mtu: 65536, up: false },
    { name: 'eth0', kind: 'veth', mtu: 1450, up: true },
  ]);
  await k.links.delete(A, 'v1');
  assert.deepEqual(
    (await k.links.list(B)).map((l) => l.name),
    ['lo'],
  );
  assert.deepEqual(await k.addresses.list(B), []);
  assert.deepEqual(await k.routes.list(B), []);
});

test('masters must exist and be bridges', async () => {
  const k = await twoNamespaces();
  await k.links.addVeth({ ns: A, name: 'v1', peerNs: A, peerName: 'v2' });
  await rejectsWith(k.links.setMaster(A, 'v1', 'br0'), KERNEL_ERR.notFound);
  await rejectsWith(k.links.setMaster(A, 'v1', 'v2'), KERNEL_ERR.invalid);
  await k.links.addBridge(A, 'br0');
  await k.links.set(A, 'v1', { master: 'br0', up: true, mtu: 9000 });
  assert.deepEqual(
    (await linksOf(k, A)).find((l) => l.name === 'v1'),
    {
      name: 'v1',
      kind: 'veth',
      mtu: 9000,
      up: true,
      master: 'br0',
    },
  );
  await k.links.setMaster(A, 'v1', null);
  assert.equal((await k.links.list(A)).find((l) => l.name === 'v1')?.master, undefined);
  await rejectsWith(k.links.setUp(A, 'nosuch'), KERNEL_ERR.notFound, /Cannot find device "nosuch"/);
});

test('moving a link drops its addresses, puts it down, and refuses a name taken in the target', async () => {
  const k = await twoNamespaces();
  await k.links.addVeth({ ns: A, name: 'v1', peerNs: A, peerName: 'v2' });
  await k.links.setUp(A, 'v1');
  await k.addresses.add(A, 'v1', '10.1.0.1/24');
  await k.links.moveTo(A, 'v1', B);
  assert.deepEqual(await linksOf(k, B), [
    { name: 'lo', kind: 'loopback', mtu: 65536, up: false },
    { name: 'v1', kind: 'veth', mtu: 1500, up: false },
  ]);
  assert.deepEqual(await k.addresses.list(A), []);
  await k.links.addBridge(A, 'v1');
  await rejectsWith(k.links.moveTo(A, 'v1', B), KERNEL_ERR.exists);
  await rejectsWith(k.links.moveTo(A, 'lo', B), KERNEL_ERR.invalid);
});

test('addresses: duplicates refused, deleting a missing one refused, listing by device', async () => {
  const k = await twoNamespaces();
  await k.links.addBridge(A, 'br0');
  await k.addresses.add(A, 'br0', '10.2.0.1/24');
  await rejectsWith(k.addresses.add(A, 'br0', '10.2.0.1/24'), KERNEL_ERR.exists);
  await rejectsWith(k.addresses.add(A, 'nosuch', '10.2.0.1/24'), KERNEL_ERR.notFound);
  await rejectsWith(k.addresses.add(A, 'br0', '10.2.0.300/24'), KERNEL_ERR.invalid);
  await rejectsWith(k.addresses.add(A, 'br0', '10.2.0.9'), KERNEL_ERR.invalid);
  await rejectsWith(k.addresses.delete(A, 'br0', '10.2.0.9/24'), KERNEL_ERR.notFound);
  assert.deepEqual(await k.addresses.list(A, 'br0'), [{ dev: 'br0', cidr: '10.2.0.1/24' }]);
  await k.addresses.delete(A, 'br0', '10.2.0.1/24');
  assert.deepEqual(await k.addresses.list(A), []);
});

test('routes need a gateway on a connected subnet of an up link, or an up device', async () => {
  const k = await twoNamespaces();
  await k.links.addVeth({ ns: A, name: 'v1', peerNs: B, peerName: 'eth0' });
  await k.addresses.add(A, 'v1', '10.1.0.1/24');
  // v1 is down: its subnet is not connected yet, and a device route over it is refused.
  await rejectsWith(
    k.routes.add(A, { dst: '10.9.0.0/24', via: '10.1.0.2' }),
    KERNEL_ERR.unreachable,
    /invalid gateway/,
  );
  await rejectsWith(k.routes.add(A, { dst: '10.9.0.0/24', dev: 'v1' }), KERNEL_ERR.unreachable, /not up/);
  await k.links.setUp(A, 'v1');
  await rejectsWith(k.routes.add(A, { dst: '10.9.0.0/24', via: '10.7.0.2' }), KERNEL_ERR.unreachable);
  await k.routes.add(A, { dst: '10.9.0.0/24', via: '10.1.0.2' });
  await rejectsWith(k.routes.add(A, { dst: '10.9.0.0/24', via: '10.1.0.3' }), KERNEL_ERR.exists);
  await k.routes.replace(A, { dst: '10.9.0.0/24', via: '10.1.0.3' });
  await k.routes.add(A, { dst: '10.8.0.0/24', via: '10.7.0.2', dev: 'v1', onlink: true });
  await rejectsWith(k.routes.add(A, { dst: '10.9.0.1/24', dev: 'v1' }), KERNEL_ERR.invalid, /prefix/);
  await rejectsWith(k.routes.add(A, { dst: '10.5.0.0/24', dev: 'v1', src: '10.1.0.99' }), KERNEL_ERR.invalid);
  await rejectsWith(k.routes.delete(A, { dst: '10.77.0.0/24' }), KERNEL_ERR.notFound);
  const main = await k.routes.list(A);
  assert.deepEqual(main.map((r) => `${r.dst} ${r.via ?? '-'} ${r.dev} ${r.protocol ?? '-'}`).sort(), [
    '10.1.0.0/24 - v1 kernel',
    '10.8.0.0/24 10.7.0.2 v1 -',
    '10.9.0.0/24 10.1.0.3 v1 -',
  ]);
  assert.ok(
    (await k.routes.list(A, { table: 'all' })).some((r) => r.type === 'local' && r.dst === '10.1.0.1'),
  );
  await k.routes.delete(A, { dst: '10.9.0.0/24' });
  assert.equal((await k.routes.list(A)).length, 2);
});

test('sysctls: defaults, per-link keys, ip_forward switching every interface, unknown keys refused', async () => {
  const k = new FakeKernel({ sysctls: { 'net.ipv4.vs.conntrack': '0' } });
  await k.netns.create(A);
  assert.equal(await k.sysctl.get(A, 'net.ipv4.ip_forward'), '0');
  assert.equal(await k.sysctl.get(A, 'net.ipv4.vs.conntrack'), '0');
  await rejectsWith(k.sysctl.get(A, 'net.ipv4.conf.br0.forwarding'), KERNEL_ERR.notFound);
  await k.links.addBridge(A, 'br0');
  await k.sysctl.set(A, 'net.ipv4.ip_forward', '1');
  assert.equal(await k.sysctl.get(A, 'net.ipv4.conf.br0.forwarding'), '1');
  assert.equal(await k.sysctl.get(A, 'net.ipv4.conf.all.forwarding'), '1');
  await k.links.addBridge(A, 'br1');
  assert.equal(await k.sysctl.get(A, 'net.ipv4.conf.br1.forwarding'), '1');
  await rejectsWith(k.sysctl.set(A, 'net.ipv4.nope', '1'), KERNEL_ERR.notFound);
  await rejectsWith(k.sysctl.set(A, 'net.ipv4.ip_forward', 'yes'), KERNEL_ERR.invalid);
  await rejectsWith(k.sysctl.set(A, 'kernel.panic', '1'), KERNEL_ERR.invalid);
  await rejectsWith(k.sysctl.get(A, 'net.ipv4..x'), KERNEL_ERR.invalid);
  await k.sysctl.setMany(A, { 'net.ipv4.conf.br0.rp_filter': '2', 'net.core.somaxconn': '1024' });
  assert.equal(await k.sysctl.get(A, 'net.ipv4.conf.br0.rp_filter'), '2');
  assert.equal(k.callCount('sysctl.setMany'), 1);
});

test('exec runs through the handler and is recorded', async () => {
  const k = new FakeKernel({ onExec: (ns, argv) => ({ stdout: `${ns}:${argv.join(' ')}`, stderr: '' }) });
  await k.netns.create(A);
  assert.deepEqual(await k.netns.exec(A, ['echo', 'hi']), { stdout: `${A}:echo hi`, stderr: '' });
  await rejectsWith(k.netns.exec('kdp-u-missing', ['true']), KERNEL_ERR.notFound);
  assert.deepEqual(k.execs, [{ ns: A, argv: ['echo', 'hi'] }]);
  assert.deepEqual(k.netns.command(A, ['ping', '-c1', '10.0.0.1']), [
    'ip',
    'netns',
    'exec',
    A,
    'ping',
    '-c1',
    '10.0.0.1',
  ]);
  assert.equal(k.netns.path(A), `/run/netns/${A}`);
});

test('a cluster plan applies in one batch per namespace and leaves the expected state', async () => {
  const k = new FakeKernel();
  const topology = resolveTopology({ cluster: 'u1', nodes: 2, podsPerNode: 2 });
  const layout = exampleLayout(topology, { hostGw: true });
  const report = await k.ops.apply(layout.plan);
  // 7 namespaces in one batch; fabric 1; nodes 2 each (sysctl + ip); pods 1 each.
  assert.deepEqual(report, {
    namespacesCreated: 7,
    operations: layout.plan.ops.length,
    stages: 3,
    batches: 1 + 1 + 4 + 4,
  });
  assert.equal(k.callCount('ops.apply'), 1);
  assert.equal(k.callCount('links.addVeth'), 0, 'a plan does not go through the one-op methods');
  assert.equal(k.applied.length, layout.plan.ops.length);

  const node2 = layout.nodes[1];
  assert.deepEqual(
    (await k.links.list(node2.netns)).map((l) => `${l.name}:${l.kind}:${l.up}:${l.master ?? ''}`),
    [
      'lo:loopback:true:',
      'eth0:veth:true:',
      'cni0:bridge:true:',
      ...node2.pods.map((p) => `${p.veth}:veth:true:cni0`),
    ],
  );
  assert.deepEqual(await k.addresses.list(node2.netns), [
    { dev: 'eth0', cidr: '198.18.0.2/16' },
    { dev: 'cni0', cidr: '10.244.1.1/24' },
  ]);
  assert.ok(
    (await k.routes.list(node2.netns)).some(
      (r) => r.dst === '10.244.0.0/24' && r.via === '198.18.0.1' && r.dev === 'eth0',
    ),
  );
  assert.equal(await k.sysctl.get(node2.netns, 'net.ipv4.ip_forward'), '1');
  const pod = node2.pods[0];
  assert.deepEqual(await k.addresses.list(pod.netns), [{ dev: 'eth0', cidr: '10.244.1.2/24' }]);
  assert.deepEqual(
    (await k.routes.list(pod.netns)).find((r) => r.dst === 'default'),
    { dst: 'default', table: 254, type: 'unicast', via: '10.244.1.1', dev: 'eth0' },
  );
});

test("a failing op stops its namespace's group; the other groups of the stage still run", async () => {
  const k = new FakeKernel();
  const plan = new NetworkPlan().createNamespace(A).createNamespace(B);
  plan
    .addBridge(A, 'br0')
    .addAddress(A, 'br0', '10.0.0.1/24')
    .addRoute(A, { dst: 'default', via: '10.0.0.254' });
  plan.addBridge(A, 'br1');
  plan.addBridge(B, 'br0').setLink(B, 'br0', { up: true });
  await rejectsWith(
    k.ops.apply(plan),
    KERNEL_ERR.unreachable,
    /ip route add default via 10\.0\.0\.254 in namespace kdp-u-a/,
  );
  assert.deepEqual(
    (await k.links.list(A)).map((l) => l.name),
    ['lo', 'br0'],
  );
  assert.equal((await k.links.list(B)).find((l) => l.name === 'br0')?.up, true);
});

test('a plan with a bad op is refused whole before anything is created', async () => {
  const k = new FakeKernel();
  const plan = new NetworkPlan().createNamespace(A).addBridge(A, 'a-very-long-bridge-name');
  await rejectsWith(k.ops.apply(plan), KERNEL_ERR.invalid);
  await rejectsWith(k.ops.apply(new NetworkPlan().createNamespace('other')), KERNEL_ERR.hostNamespace);
  assert.deepEqual(await k.netns.list(''), []);
});
