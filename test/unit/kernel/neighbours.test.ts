/**
 * Neighbour entries and MACs in the kernel layer: checks every op passes (addresses, MACs), the
 * fake's rules (each matching the kernel, see test/integration/kernel/parity.test.ts: a duplicate
 * add, a missing entry or device, a link going down or away flushing its entries, a bridge whose
 * MAC was never set taking its lowest port's), plans and the deterministic MAC of an address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError, type ErrorCode } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { isUnicastMac, macFromIpv4 } from '../../../dataplane/kernel/mac.ts';
import { NetworkPlan, stagePlan } from '../../../dataplane/kernel/plan.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';

const A = 'kdp-u-a';
const B = 'kdp-u-b';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, text?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isKdpError(e, code), `expected ${code}, got ${String(e)}`);
    if (text) assert.match((e as Error).message, text);
    return true;
  });
}

async function withBridge(): Promise<FakeKernel> {
  const k = new FakeKernel();
  await k.netns.create(A);
  await k.netns.create(B);
  await k.links.addBridge(A, 'br0');
  await k.links.setUp(A, 'br0');
  return k;
}

const macOf = async (k: FakeKernel, ns: string, name: string) =>
  (await k.links.list(ns)).find((l) => l.name === name)?.address;

test('a MAC follows from an IPv4 address as the CNI bridge plugin makes it', () => {
  assert.equal(macFromIpv4('10.244.0.5'), '0a:58:0a:f4:00:05');
  assert.equal(macFromIpv4('198.18.255.254'), '0a:58:c6:12:ff:fe');
  assert.ok(isUnicastMac(macFromIpv4('255.255.255.255')));
  assert.ok(!isUnicastMac('01:00:5e:00:00:01'), 'multicast');
  assert.ok(!isUnicastMac('0A:58:0A:F4:00:05'), 'uppercase');
  assert.ok(!isUnicastMac('0a:58:0a:f4:00'), 'five octets');
});

test('permanent entries: add, replace, list, delete; a duplicate, a missing entry or device is refused', async () => {
  const k = await withBridge();
  const pod = { ip: '10.244.0.5', dev: 'br0', lladdr: '0a:58:0a:f4:00:05' };
  await k.neighbours.add(A, pod);
  await rejectsWith(k.neighbours.add(A, pod), KERNEL_ERR.exists, /ip neigh add 10\.244\.0\.5 .*File exists/);
  await k.neighbours.replace(A, { ...pod, lladdr: '0a:58:0a:f4:00:99' });
  await k.neighbours.replace(A, { ip: '10.244.0.6', dev: 'br0', lladdr: '0a:58:0a:f4:00:06' });
  assert.deepEqual(await k.neighbours.list(A, 'br0'), [
    { ip: '10.244.0.5', dev: 'br0', lladdr: '0a:58:0a:f4:00:99', state: 'permanent' },
    { ip: '10.244.0.6', dev: 'br0', lladdr: '0a:58:0a:f4:00:06', state: 'permanent' },
  ]);
  await k.neighbours.delete(A, { ip: '10.244.0.5', dev: 'br0' });
  await rejectsWith(k.neighbours.delete(A, { ip: '10.244.0.5', dev: 'br0' }), KERNEL_ERR.notFound);
  await rejectsWith(
    k.neighbours.add(A, { ...pod, dev: 'nosuch' }),
    KERNEL_ERR.notFound,
    /Cannot find device/,
  );
  await rejectsWith(k.neighbours.list(A, 'nosuch'), KERNEL_ERR.notFound);
  assert.deepEqual(
    (await k.neighbours.list(A)).map((n) => n.ip),
    ['10.244.0.6'],
  );
  assert.deepEqual(await k.neighbours.list(B), []);
});

test('neighbour ops with a bad address or MAC, or outside kdp, are refused before anything happens', async () => {
  const k = await withBridge();
  const ok = { ip: '10.244.0.5', dev: 'br0', lladdr: '0a:58:0a:f4:00:05' };
  await rejectsWith(k.neighbours.add(A, { ...ok, ip: '10.244.0.0/24' }), KERNEL_ERR.invalid, /not an IPv4/);
  await rejectsWith(
    k.neighbours.add(A, { ...ok, lladdr: '01:00:5e:00:00:01' }),
    KERNEL_ERR.invalid,
    /unicast MAC/,
  );
  await rejectsWith(k.neighbours.replace(A, { ...ok, lladdr: 'nonsense' }), KERNEL_ERR.invalid);
  await rejectsWith(k.neighbours.add(A, { ...ok, dev: 'sixteen-chars-xx' }), KERNEL_ERR.invalid);
  await rejectsWith(k.neighbours.add('init', ok), KERNEL_ERR.hostNamespace);
  const plan = new NetworkPlan().replaceNeighbour(A, ok).addNeighbour(A, { ...ok, lladdr: 'x' });
  await rejectsWith(k.ops.apply(plan), KERNEL_ERR.invalid);
  assert.deepEqual(await k.neighbours.list(A), [], 'a plan with a bad op changes nothing');
});

test('a link going down or away takes its entries with it, permanent ones too; up again, they are gone', async () => {
  const k = await withBridge();
  await k.links.addVeth({ ns: A, name: 'v1', peerNs: B, peerName: 'eth0' });
  await k.links.setUp(B, 'eth0');
  await k.neighbours.replace(A, { ip: '10.0.0.2', dev: 'br0', lladdr: '0a:58:0a:00:00:02' });
  await k.neighbours.replace(B, { ip: '10.0.0.1', dev: 'eth0', lladdr: '02:00:00:00:00:01' });
  // Added on a down link (the kernel allows it), then kept while it comes up.
  await k.neighbours.replace(A, { ip: '10.0.0.3', dev: 'v1', lladdr: '0a:58:0a:00:00:03' });
  await k.links.setUp(A, 'v1');
  assert.equal((await k.neighbours.list(A, 'v1')).length, 1);

  await k.links.set(A, 'br0', { up: false });
  await k.links.set(A, 'br0', { up: true });
  assert.deepEqual(await k.neighbours.list(A, 'br0'), []);
  await k.netns.delete(B);
  assert.deepEqual(await k.neighbours.list(A), [], "the veth went with B, and v1's entry with it");
});

test("links have MACs; a bridge whose MAC was never set takes its lowest port's, a set one stays", async () => {
  const k = await withBridge();
  await k.links.addBridge(A, 'br1');
  await k.links.set(A, 'br1', { address: '02:6b:64:70:00:01' });
  for (const [name, peer] of [
    ['v1', 'p1'],
    ['v2', 'p2'],
  ])
    await k.links.addVeth({ ns: A, name, peerNs: B, peerName: peer });
  assert.equal(await macOf(k, B, 'lo'), '00:00:00:00:00:00');
  const [v1, v2] = [await macOf(k, A, 'v1'), await macOf(k, A, 'v2')];
  assert.ok(v1 && v2 && isUnicastMac(v1) && isUnicastMac(v2) && v1 !== v2);

  await k.links.set(A, 'v2', { master: 'br0', address: '02:00:00:ff:00:02' });
  assert.equal(await macOf(k, A, 'br0'), '02:00:00:ff:00:02');
  await k.links.set(A, 'v1', { master: 'br0', address: '02:00:00:ff:00:01' });
  assert.equal(await macOf(k, A, 'br0'), '02:00:00:ff:00:01', 'the lowest port');
  await k.links.delete(A, 'v1');
  assert.equal(await macOf(k, A, 'br0'), '02:00:00:ff:00:02', 'changes as ports leave');

  await k.links.setMaster(A, 'v2', 'br1');
  assert.equal(await macOf(k, A, 'br1'), '02:6b:64:70:00:01', 'a set MAC stays');
  await k.links.set(A, 'br0', { address: '02:00:00:ff:00:02' });
  await k.links.addVeth({ ns: A, name: 'v3', peerNs: B, peerName: 'p3' });
  await k.links.set(A, 'v3', { master: 'br0', address: '02:00:00:00:00:01' });
  assert.equal(await macOf(k, A, 'br0'), '02:00:00:ff:00:02', 'pinned by setting it to itself');
});

test('neighbour ops wait in a plan for the link they are on, and print as ip neigh commands', () => {
  const plan = new NetworkPlan()
    .addVeth({ ns: A, name: 'v1', peerNs: B, peerName: 'eth0' })
    .replaceNeighbour(A, { ip: '10.0.0.2', dev: 'v1', lladdr: '0a:58:0a:00:00:02' })
    .replaceNeighbour(B, { ip: '10.0.0.1', dev: 'eth0', lladdr: '02:00:00:00:00:01' })
    .deleteNeighbour(B, { ip: '10.0.0.9', dev: 'eth0' });
  const stages = stagePlan(plan).map((s) => s.map((g) => `${g.ns}:${g.ops.map((o) => o.kind).join(',')}`));
  assert.deepEqual(stages, [[`${A}:veth.add,neigh.replace`], [`${B}:neigh.replace,neigh.delete`]]);
});
