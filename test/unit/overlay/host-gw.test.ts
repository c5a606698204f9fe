// The host-gw backend: which routes and permanent neighbour entries a node needs for its peers,
// which ones are its own, and that the backend converges a (fake) node namespace as peers appear,
// move and disappear, with no kernel call when nothing changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import { exampleLayout } from '../../../dataplane/cluster/testing/example-layout.ts';
import {
  createOverlayBackend,
  overlayBackendNames,
  registerOverlayBackend,
} from '../../../dataplane/overlay/backends/registry.ts';
import {
  desiredRoutes,
  ownedRoutes,
  routeChanges,
} from '../../../dataplane/overlay/backends/host-gw/routes.ts';
import {
  desiredNeighbours,
  neighbourChanges,
  ownedNeighbours,
} from '../../../dataplane/overlay/backends/host-gw/neighbours.ts';
import { NetworkPlan } from '../../../dataplane/kernel/network-plan.ts';
import { isKdpError } from '../../../dataplane/errors.ts';

const local = { name: 'node-1', podCidr: '10.244.0.0/24', underlayIp: '198.18.0.1' };
const n2 = { name: 'node-2', podCidr: '10.244.1.0/24', underlayIp: '198.18.0.2' };
const n3 = { name: 'node-3', podCidr: '10.244.2.0/24', underlayIp: '198.18.0.3' };

test('a route per peer on the uplink subnet; peers that cannot be routed are skipped with a reason', () => {
  const far = { name: 'far', podCidr: '10.244.5.0/24', underlayIp: '192.0.2.9' };
  const clash = { name: 'clash', podCidr: '10.244.0.0/25', underlayIp: '198.18.0.9' };
  const dup = { name: 'node-4', podCidr: '10.244.1.0/24', underlayIp: '198.18.0.4' };
  const { routes, skipped } = desiredRoutes(local, [n3, far, n2, clash, dup], 'eth0', '198.18.0.1/16');
  assert.deepEqual(routes, [
    { dst: '10.244.1.0/24', via: '198.18.0.2', dev: 'eth0' },
    { dst: '10.244.2.0/24', via: '198.18.0.3', dev: 'eth0' },
  ]);
  assert.deepEqual(
    skipped.map((s) => [s.peer.name, s.reason.split(' ').slice(0, 3).join(' ')]),
    [
      ['clash', 'pod CIDR 10.244.0.0/25'],
      ['far', 'underlay address 192.0.2.9'],
      ['node-4', 'pod CIDR 10.244.1.0/24'],
    ],
  );
});

test("only gateway routes on the uplink are host-gw's; the plan deletes stale ones and replaces moved ones", () => {
  const listed = [
    { dst: 'default', via: '198.18.0.254', dev: 'eth0', table: 254, type: 'unicast' },
    { dst: '198.18.0.0/16', dev: 'eth0', table: 254, type: 'unicast', scope: 'link' },
    { dst: '10.244.0.0/24', dev: 'cni0', table: 254, type: 'unicast', scope: 'link' },
    { dst: '10.244.1.0/24', via: '198.18.0.2', dev: 'eth0', table: 254, type: 'unicast' },
    { dst: '10.244.7.0/24', via: '198.18.0.7', dev: 'eth0', table: 254, type: 'unicast' },
  ];
  const owned = ownedRoutes(listed, 'eth0');
  assert.deepEqual(
    owned.map((r) => r.dst),
    ['10.244.1.0/24', '10.244.7.0/24'],
  );
  const plan = routeChanges('ns', owned, [
    { dst: '10.244.1.0/24', via: '198.18.0.12', dev: 'eth0' },
    { dst: '10.244.2.0/24', via: '198.18.0.3', dev: 'eth0' },
  ]);
  assert.deepEqual(
    plan.ops.map((o) =>
      o.kind.startsWith('route.') && 'route' in o ? [o.kind, o.route.dst, o.route.via] : [o.kind],
    ),
    [
      ['route.delete', '10.244.7.0/24', '198.18.0.7'],
      ['route.replace', '10.244.1.0/24', '198.18.0.12'],
      ['route.replace', '10.244.2.0/24', '198.18.0.3'],
    ],
  );
  assert.equal(routeChanges('ns', owned, owned).ops.length, 0);
});

test('the backend converges the node namespace and skips the kernel when nothing changed', async () => {
  const cluster = 'thgw';
  const layout = exampleLayout(resolveTopology({ cluster, nodes: 3, podsPerNode: 0 }), { hostGw: false });
  const kernel = new FakeKernel({ prefix: clusterPrefix(cluster) });
  await kernel.ops.apply(layout.plan);
  const netns = layout.nodes[0].netns;
  const warnings: string[] = [];
  const backend = createOverlayBackend('host-gw', {
    kernel,
    netns,
    uplink: 'eth0',
    clusterCidr: '10.244.0.0/16',
    log: (level, message) => level === 'warn' && warnings.push(message),
  });
  const gwRoutes = async () =>
    (await kernel.routes.list(netns)).filter((r) => r.via).map((r) => `${r.dst} via ${r.via} dev ${r.dev}`);

  await assert.rejects(backend.sync([n2]), (e) => isKdpError(e, 'KDP_ERR_OVERLAY_NOT_STARTED'));
  assert.deepEqual(
    await backend.start(local),
    { backendData: null, podMtu: 1500 },
    'no overhead: the uplink MTU',
  );
  await backend.sync([n2, n3]);
  assert.deepEqual(await gwRoutes(), [
    '10.244.1.0/24 via 198.18.0.2 dev eth0',
    '10.244.2.0/24 via 198.18.0.3 dev eth0',
  ]);

  kernel.resetCounts();
  await backend.sync([n3, n2]);
  assert.equal(kernel.callCount('ops.apply'), 0, 'an unchanged peer set costs no kernel call');

  await backend.sync([{ ...n3, podCidr: '10.244.9.0/24' }]);
  assert.deepEqual(await gwRoutes(), ['10.244.9.0/24 via 198.18.0.3 dev eth0']);
  assert.equal(kernel.callCount('ops.apply'), 1, 'one plan for the whole change');

  await backend.sync([...[n3], { name: 'far', podCidr: '10.244.5.0/24', underlayIp: '192.0.2.1' }]);
  await backend.sync([...[n3], { name: 'far', podCidr: '10.244.5.0/24', underlayIp: '192.0.2.1' }]);
  assert.equal(warnings.filter((w) => w.includes('far')).length, 1, 'a skipped peer is reported once');

  await backend.sync([]);
  assert.deepEqual(await gwRoutes(), []);
  await backend.close();
});

test('an entry per routed peer with a known MAC; only permanent uplink entries on its subnet are owned', () => {
  const mac2 = '0a:58:c6:12:00:02';
  const far = {
    name: 'far',
    podCidr: '10.244.5.0/24',
    underlayIp: '192.0.2.9',
    underlayMac: '0a:58:c0:00:02:09',
  };
  const { routes } = desiredRoutes(local, [{ ...n2, underlayMac: mac2 }, n3, far], 'eth0', '198.18.0.1/16');
  const desired = desiredNeighbours([{ ...n2, underlayMac: mac2 }, n3, far], routes, 'eth0');
  assert.deepEqual(desired, [{ ip: '198.18.0.2', dev: 'eth0', lladdr: mac2 }], 'n3 has no MAC, far no route');

  const listed = [
    { ip: '198.18.0.2', dev: 'eth0', lladdr: '0a:58:c6:12:00:99', state: 'permanent' },
    { ip: '198.18.0.7', dev: 'eth0', lladdr: '0a:58:c6:12:00:07', state: 'permanent' },
    { ip: '198.18.0.3', dev: 'eth0', lladdr: '0a:58:c6:12:00:03', state: 'reachable' },
    { ip: '192.0.2.1', dev: 'eth0', lladdr: '0a:58:c0:00:02:01', state: 'permanent' },
    { ip: '10.244.0.5', dev: 'cni0', lladdr: '0a:58:0a:f4:00:05', state: 'permanent' },
  ];
  const owned = ownedNeighbours(listed, 'eth0', '198.18.0.1/16');
  assert.deepEqual(
    owned.map((n) => n.ip),
    ['198.18.0.2', '198.18.0.7'],
  );
  const plan = neighbourChanges(new NetworkPlan(), 'ns', owned, desired);
  assert.deepEqual(
    plan.ops.map((o) => (o.kind.startsWith('neigh.') && 'neigh' in o ? [o.kind, o.neigh.ip] : [o.kind])),
    [
      ['neigh.delete', '198.18.0.7'],
      ['neigh.replace', '198.18.0.2'],
    ],
  );
  assert.equal(neighbourChanges(new NetworkPlan(), 'ns', desired, desired).ops.length, 0);
});

test('the backend keeps peer entries with its routes, in the same plan', async () => {
  const cluster = 'thgwn';
  const layout = exampleLayout(resolveTopology({ cluster, nodes: 3, podsPerNode: 0 }), { hostGw: false });
  const kernel = new FakeKernel({ prefix: clusterPrefix(cluster) });
  await kernel.ops.apply(layout.plan);
  const netns = layout.nodes[0].netns;
  const backend = createOverlayBackend('host-gw', {
    kernel,
    netns,
    uplink: 'eth0',
    clusterCidr: '10.244.0.0/16',
    log: () => {},
  });
  const entries = async () =>
    (await kernel.neighbours.list(netns)).map((n) => `${n.ip} ${n.lladdr} ${n.dev} ${n.state}`);
  const [p2, p3] = [
    { ...n2, underlayMac: '0a:58:c6:12:00:02' },
    { ...n3, underlayMac: '0a:58:c6:12:00:03' },
  ];
  await backend.start(local);
  kernel.resetCounts();
  await backend.sync([p2, p3]);
  assert.equal(kernel.callCount('ops.apply'), 1);
  assert.deepEqual(await entries(), [
    '198.18.0.2 0a:58:c6:12:00:02 eth0 permanent',
    '198.18.0.3 0a:58:c6:12:00:03 eth0 permanent',
  ]);
  await backend.sync([p3, p2]);
  assert.equal(kernel.callCount('ops.apply'), 1, 'unchanged: no kernel call');
  await backend.sync([{ ...p3, underlayMac: '0a:58:c6:12:00:33' }]);
  assert.deepEqual(await entries(), ['198.18.0.3 0a:58:c6:12:00:33 eth0 permanent']);
  await backend.sync([]);
  assert.deepEqual(await entries(), []);
  assert.deepEqual(
    (await kernel.routes.list(netns)).filter((r) => r.via),
    [],
  );
});

test('the registry knows host-gw, takes new backends by name and names what it has for an unknown one', () => {
  assert.ok(overlayBackendNames().includes('host-gw'));
  const kernel = new FakeKernel({ prefix: 'kdp-x-' });
  const fake = {
    name: 'test-fake',
    start: async () => ({ backendData: null, podMtu: 1500 }),
    sync: async () => {},
    close: async () => {},
  };
  registerOverlayBackend('test-fake', () => fake);
  assert.equal(
    createOverlayBackend('test-fake', {
      kernel,
      netns: 'kdp-x-n',
      uplink: 'eth0',
      clusterCidr: '10.244.0.0/16',
      log: () => {},
    }),
    fake,
  );
  assert.throws(
    () => registerOverlayBackend('host-gw', () => fake),
    (e) => isKdpError(e, 'KDP_ERR_OVERLAY_DUPLICATE'),
  );
  assert.throws(
    () =>
      createOverlayBackend('geneve', {
        kernel,
        netns: 'kdp-x-n',
        uplink: 'eth0',
        clusterCidr: '10.244.0.0/16',
        log: () => {},
      }),
    (e) => isKdpError(e, 'KDP_ERR_OVERLAY_UNKNOWN') && /host-gw/.test(e.message),
  );
});
