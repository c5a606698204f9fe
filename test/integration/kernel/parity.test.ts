/**
 * The fake validates as the kernel does: every case runs the same steps against the real kernel
 * layer (iproute2, in fresh namespaces) and against FakeKernel, and both must fail with the same
 * code (or both succeed) and leave the same links, addresses and neighbour entries behind. A cluster plan applied
 * to both must leave the same links, addresses and routes in every namespace.
 * Run as root: node --import tsx --test test/integration/kernel/parity.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import { exampleLayout } from '../../../dataplane/cluster/testing/example-layout.ts';
import { withIsolatedKernel } from './isolated.ts';

type Step = (k: Kernel, a: string, b: string) => Promise<unknown>;

const CASES: [name: string, step: Step][] = [
  [
    'duplicate link name',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.links.addBridge(a, 'br0');
    },
  ],
  [
    'veth peer name taken in the peer namespace',
    async (k, a, b) => {
      await k.links.addBridge(b, 'eth0');
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: b, peerName: 'eth0' });
    },
  ],
  [
    'veth peer in a missing namespace',
    (k, a) => k.links.addVeth({ ns: a, name: 'v1', peerNs: `${a}-missing`, peerName: 'eth0' }),
  ],
  ['interface name longer than 15 characters', (k, a) => k.links.addBridge(a, 'sixteen-chars-xx')],
  [
    'master that is not a bridge',
    async (k, a) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: a, peerName: 'v2' });
      await k.links.setMaster(a, 'v1', 'v2');
    },
  ],
  [
    'master that does not exist',
    async (k, a) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: a, peerName: 'v2' });
      await k.links.setMaster(a, 'v1', 'br9');
    },
  ],
  ['set up a missing link', (k, a) => k.links.setUp(a, 'nosuch')],
  [
    'move a link to a namespace where its name is taken',
    async (k, a, b) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: a, peerName: 'v2' });
      await k.links.addBridge(b, 'v1');
      await k.links.moveTo(a, 'v1', b);
    },
  ],
  [
    'move a link, then its addresses are gone',
    async (k, a, b) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: a, peerName: 'v2' });
      await k.addresses.add(a, 'v1', '10.1.0.1/24');
      await k.links.moveTo(a, 'v1', b);
    },
  ],
  ['delete the loopback', (k, a) => k.links.delete(a, 'lo')],
  [
    'delete one veth end removes the other',
    async (k, a, b) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: b, peerName: 'eth0' });
      await k.links.delete(b, 'eth0');
    },
  ],
  [
    'duplicate address',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.addresses.add(a, 'br0', '10.2.0.1/24');
      await k.addresses.add(a, 'br0', '10.2.0.1/24');
    },
  ],
  ['address on a missing device', (k, a) => k.addresses.add(a, 'nosuch', '10.2.0.1/24')],
  [
    'delete a missing address',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.addresses.delete(a, 'br0', '10.2.0.1/24');
    },
  ],
  [
    'route via a gateway on a down link',
    async (k, a, b) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: b, peerName: 'eth0' });
      await k.addresses.add(a, 'v1', '10.1.0.1/24');
      await k.routes.add(a, { dst: '10.9.0.0/24', via: '10.1.0.2' });
    },
  ],
  [
    'route via a gateway outside every subnet',
    async (k, a, b) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: b, peerName: 'eth0' });
      await k.links.setUp(a, 'v1');
      await k.addresses.add(a, 'v1', '10.1.0.1/24');
      await k.routes.add(a, { dst: '10.9.0.0/24', via: '10.7.0.2' });
    },
  ],
  [
    'route via a gateway on the wrong device',
    async (k, a, b) => {
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: b, peerName: 'eth0' });
      await k.links.addBridge(a, 'br0');
      await k.links.set(a, 'v1', { up: true });
      await k.links.set(a, 'br0', { up: true });
      await k.addresses.add(a, 'v1', '10.1.0.1/24');
      await k.routes.add(a, { dst: '10.9.0.0/24', via: '10.1.0.2', dev: 'br0' });
    },
  ],
  [
    'device route over a down link',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.routes.add(a, { dst: '10.5.0.0/24', dev: 'br0' });
    },
  ],
  [
    'duplicate route, then replace',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.links.setUp(a, 'br0');
      await k.addresses.add(a, 'br0', '10.3.0.1/24');
      await k.routes.add(a, { dst: 'default', via: '10.3.0.2' });
      await k.routes.replace(a, { dst: 'default', via: '10.3.0.3' });
      await k.routes.add(a, { dst: 'default', via: '10.3.0.4' });
    },
  ],
  [
    'route with a source address that is not local',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.links.setUp(a, 'br0');
      await k.addresses.add(a, 'br0', '10.3.0.1/24');
      await k.routes.add(a, { dst: '10.5.0.0/24', dev: 'br0', src: '10.3.0.99' });
    },
  ],
  ['delete a missing route', (k, a) => k.routes.delete(a, { dst: '10.77.0.0/24' })],
  [
    'route with host bits in the destination',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.links.setUp(a, 'br0');
      await k.routes.add(a, { dst: '10.9.0.1/24', dev: 'br0' });
    },
  ],
  ['unknown sysctl', (k, a) => k.sysctl.set(a, 'net.ipv4.no_such_key', '1')],
  ['sysctl that is not a number', (k, a) => k.sysctl.set(a, 'net.ipv4.ip_forward', 'yes')],
  ['per-link sysctl of a missing link', (k, a) => k.sysctl.get(a, 'net.ipv4.conf.nosuch.forwarding')],
  [
    'ip_forward switches forwarding on every link',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.sysctl.set(a, 'net.ipv4.ip_forward', '1');
      const values = [
        await k.sysctl.get(a, 'net.ipv4.conf.br0.forwarding'),
        await k.sysctl.get(a, 'net.ipv4.conf.all.forwarding'),
      ];
      if (values.join() !== '1,1') throw new Error(`forwarding not switched: ${values}`);
    },
  ],
  [
    'duplicate neighbour entry, then replace',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.neighbours.add(a, { ip: '10.4.0.2', dev: 'br0', lladdr: '0a:58:0a:04:00:02' });
      await k.neighbours.replace(a, { ip: '10.4.0.2', dev: 'br0', lladdr: '0a:58:0a:04:00:22' });
      await k.neighbours.add(a, { ip: '10.4.0.2', dev: 'br0', lladdr: '0a:58:0a:04:00:02' });
    },
  ],
  [
    'neighbour entry on a missing device',
    (k, a) => k.neighbours.add(a, { ip: '10.4.0.2', dev: 'nosuch', lladdr: '0a:58:0a:04:00:02' }),
  ],
  [
    'delete a missing neighbour entry',
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      await k.neighbours.replace(a, { ip: '10.4.0.2', dev: 'br0', lladdr: '0a:58:0a:04:00:02' });
      await k.neighbours.delete(a, { ip: '10.4.0.2', dev: 'br0' });
      await k.neighbours.delete(a, { ip: '10.4.0.2', dev: 'br0' });
    },
  ],
  [
    'a link going down loses its permanent entries; a deleted veth takes its with it',
    async (k, a, b) => {
      await k.links.addBridge(a, 'br0');
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: b, peerName: 'eth0' });
      await k.links.setUp(a, 'br0');
      await k.neighbours.replace(a, { ip: '10.4.0.2', dev: 'br0', lladdr: '0a:58:0a:04:00:02' });
      await k.neighbours.replace(a, { ip: '10.4.0.3', dev: 'v1', lladdr: '0a:58:0a:04:00:03' });
      await k.neighbours.replace(b, { ip: '10.4.0.1', dev: 'eth0', lladdr: '0a:58:0a:04:00:01' });
      await k.links.set(a, 'br0', { up: false });
      await k.links.delete(b, 'eth0');
    },
  ],
  [
    "a bridge takes its lowest port's MAC until its own is set",
    async (k, a) => {
      await k.links.addBridge(a, 'br0');
      const macs: string[] = [];
      const mac = async () => macs.push((await k.links.list(a)).find((l) => l.name === 'br0')!.address!);
      await k.links.addVeth({ ns: a, name: 'v1', peerNs: a, peerName: 'p1' });
      await k.links.addVeth({ ns: a, name: 'v2', peerNs: a, peerName: 'p2' });
      await k.links.set(a, 'v2', { address: '02:00:00:00:00:02', master: 'br0' });
      await mac();
      await k.links.set(a, 'v1', { address: '02:00:00:00:00:01', master: 'br0' });
      await mac();
      await k.links.delete(a, 'v1');
      await mac();
      await k.links.set(a, 'br0', { address: '02:00:00:00:00:02' });
      await k.links.addVeth({ ns: a, name: 'v3', peerNs: a, peerName: 'p3', mtu: 1500 });
      await k.links.set(a, 'v3', { address: '02:00:00:00:00:00', master: 'br0' });
      await mac();
      const want = ['02:00:00:00:00:02', '02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:02'];
      if (macs.join() !== want.join()) throw new Error(`bridge MACs ${macs.join()}`);
    },
  ],
  ['the host namespace', (k) => k.links.addBridge('', 'br0')],
];

async function outcome(step: Step, k: Kernel, a: string, b: string): Promise<string> {
  try {
    await step(k, a, b);
    return 'ok';
  } catch (e) {
    if (isKdpError(e)) return e.code;
    throw e;
  }
}

async function linkState(k: Kernel, ns: string): Promise<string[]> {
  const links = (await k.links.list(ns)).map(
    (l) => `${l.name} ${l.kind} up=${l.up} mtu=${l.mtu} master=${l.master ?? '-'}`,
  );
  // The kernel gives lo 127.0.0.1/8 when it goes up; the fake does not model it.
  const addrs = (await k.addresses.list(ns)).filter((x) => x.dev !== 'lo').map((x) => `${x.dev} ${x.cidr}`);
  const neighbours = (await k.neighbours.list(ns)).map(
    (n) => `neigh ${n.dev} ${n.ip} ${n.lladdr} ${n.state}`,
  );
  return [...links, ...addrs, ...neighbours].sort();
}

test('the fake refuses what the kernel refuses, with the same code, leaving the same state', async (t) => {
  await withIsolatedKernel(t, async (real, cluster) => {
    const mismatches: string[] = [];
    for (const [i, [name, step]] of CASES.entries()) {
      const a = `kdp-${cluster}-c${i}a`;
      const b = `kdp-${cluster}-c${i}b`;
      const fake = new FakeKernel({ prefix: real.prefix });
      for (const k of [real, fake]) {
        await k.netns.create(a);
        await k.netns.create(b);
      }
      const [got, expected] = [await outcome(step, fake, a, b), await outcome(step, real, a, b)];
      if (got !== expected) mismatches.push(`${name}: fake ${got}, kernel ${expected}`);
      for (const ns of [a, b]) {
        const [f, r] = [await linkState(fake, ns), await linkState(real, ns)];
        if (JSON.stringify(f) !== JSON.stringify(r))
          mismatches.push(`${name}: ${ns} fake ${JSON.stringify(f)} kernel ${JSON.stringify(r)}`);
      }
      await real.netns.deleteMany([a, b]);
    }
    assert.deepEqual(mismatches, []);
  });
});

test('a cluster plan leaves the same links, addresses and routes in the fake and the kernel', async (t) => {
  await withIsolatedKernel(t, async (real, cluster) => {
    const layout = exampleLayout(resolveTopology({ cluster, nodes: 2, podsPerNode: 2 }), { hostGw: true });
    const fake = new FakeKernel({ prefix: real.prefix });
    const [fr, rr] = [await fake.ops.apply(layout.plan), await real.ops.apply(layout.plan)];
    assert.deepEqual(fr, rr);
    for (const ns of layout.namespaces) {
      assert.deepEqual(await linkState(fake, ns), await linkState(real, ns), ns);
      const routes = async (k: Kernel) =>
        (await k.routes.list(ns))
          .map((r) => `${r.dst} via=${r.via ?? '-'} dev=${r.dev} scope=${r.scope ?? '-'} src=${r.src ?? '-'}`)
          .sort();
      assert.deepEqual(await routes(fake), await routes(real), ns);
      assert.equal(
        await fake.sysctl.get(ns, 'net.ipv4.ip_forward'),
        await real.sysctl.get(ns, 'net.ipv4.ip_forward'),
        ns,
      );
    }
  });
});
