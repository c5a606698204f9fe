// The udp backend against the fake kernel, with a fake engine that creates and removes flannel0 as a
// real one does: the MTU it derives, how it configures flannel0, the engine routes it gives for
// peers (leases of other backends left out, reported once), a stale flannel0 from an earlier
// agent, failures that must not leave an engine running, options, and counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTopology } from '../../../../dataplane/cluster/topology.ts';
import { clusterPrefix } from '../../../../dataplane/cluster/topology-names.ts';
import { isKdpError } from '../../../../dataplane/errors.ts';
import { exampleLayout } from '../../../../dataplane/cluster/testing/example-layout.ts';
import { FakeKernel } from '../../../../dataplane/kernel/testing/fake-kernel.ts';
import type { FakeLink } from '../../../../dataplane/kernel/testing/fake-state.ts';
import type { OverlayContext } from '../../../../dataplane/overlay/backend.ts';
import {
  createOverlayBackend,
  overlayBackendNames,
} from '../../../../dataplane/overlay/backends/registry.ts';
import {
  DROP_REASONS,
  type EngineOptions,
  type EngineRoute,
  type OverlayEngine,
} from '../../../../dataplane/overlay/backends/udp/engine.ts';
import {
  createUdpBackend,
  createUdpTsBackend,
  tunAddress,
} from '../../../../dataplane/overlay/backends/udp/udp.ts';

const local = { name: 'node-1', podCidr: '10.244.0.0/24', underlayIp: '198.18.0.1' };
const n2 = { name: 'node-2', podCidr: '10.244.1.0/24', underlayIp: '198.18.0.2', backendType: 'udp' };
const n3 = { name: 'node-3', podCidr: '10.244.2.0/24', underlayIp: '198.18.0.3' };

async function setup(cluster: string) {
  const layout = exampleLayout(resolveTopology({ cluster, nodes: 3, podsPerNode: 0 }), { hostGw: false });
  const kernel = new FakeKernel({ prefix: clusterPrefix(cluster) });
  await kernel.ops.apply(layout.plan);
  const netns = layout.nodes[0]!.netns;
  const logs: string[] = [];
  const ctx: OverlayContext = {
    kernel,
    netns,
    uplink: 'eth0',
    clusterCidr: '10.244.0.0/16',
    log: (level, message) => logs.push(`${level}: ${message}`),
  };
  /** Puts a TUN named `name` into the node namespace, as opening /dev/net/tun does. */
  const addTun = (name: string) => {
    const ns = kernel.state.ns(netns, 'open /dev/net/tun');
    const tun = { name, kind: 'tun', mtu: 1500, up: false, address: '00:00:00:00:00:00' };
    ns.links.set(name, tun as unknown as FakeLink);
    ns.sysctls.addLink(name);
  };
  const engines: FakeEngine[] = [];
  const factory = (options: EngineOptions) => {
    const engine = new FakeEngine(options, () =>
      kernel.state.ns(netns, 'close').links.delete(options.tunName),
    );
    addTun(options.tunName);
    engines.push(engine);
    return engine;
  };
  return { kernel, netns, ctx, logs, engines, factory, addTun };
}

class FakeEngine implements OverlayEngine {
  readonly kind = 'fake';
  routes: EngineRoute[] = [];
  closed = 0;
  constructor(
    readonly options: EngineOptions,
    private readonly onClose: () => void,
  ) {}
  setRoutes(routes: readonly EngineRoute[]) {
    this.routes = [...routes];
  }
  counters() {
    const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
      (typeof DROP_REASONS)[number],
      number
    >;
    drops['unknown-peer'] = 3;
    return {
      tunRxPackets: 10,
      tunRxBytes: 1000,
      tunTxPackets: 9,
      tunTxBytes: 900,
      udpRxPackets: 12,
      udpRxBytes: 1200,
      udpTxPackets: 10,
      udpTxBytes: 1000,
      icmpSent: 1,
      drops,
      batchSizes: { '1': 4, '8': 2 },
    };
  }
  async close() {
    if (this.closed++ === 0) this.onClose();
  }
}

test('udp and udp-ts are registered; unknown engine options are refused', () => {
  assert.ok(overlayBackendNames().includes('udp'));
  assert.ok(overlayBackendNames().includes('udp-ts'));
  const ctx = { clusterCidr: '10.244.0.0/16', log: () => {} } as unknown as OverlayContext;
  for (const options of [{ engine: 'turbo' }, { offload: 'yes' }] as Record<string, string>[]) {
    assert.throws(
      () => createOverlayBackend('udp', { ...ctx, options }),
      (e) => isKdpError(e, 'KDP_ERR_OVERLAY_OPTION'),
    );
  }
  assert.throws(
    () => createOverlayBackend('udp-ts', { ...ctx, options: { engine: 'baseline' } }),
    (e) => isKdpError(e, 'KDP_ERR_OVERLAY_OPTION'),
  );
  assert.equal(
    createOverlayBackend('udp', { ...ctx, options: { engine: 'baseline', offload: 'false' } }).name,
    'udp',
  );
  assert.equal(tunAddress('10.244.7.0/24', '10.244.0.0/16'), '10.244.7.0/16');
  assert.equal(tunAddress('10.244.7.9/24', '10.244.0.0/16'), '10.244.7.0/16', 'host bits cleared');
  assert.throws(
    () => tunAddress('10.9.7.0/24', '10.244.0.0/24'),
    (e) => isKdpError(e, 'KDP_ERR_OVERLAY_CONFIG'),
  );
});

test('start: engine on flannel0:8285 with MTU uplink - 28; flannel0 carries the cluster network', async () => {
  const { kernel, netns, ctx, engines, factory } = await setup('tudp1');
  const backend = createUdpBackend(ctx, factory);
  await assert.rejects(backend.sync([n2]), (e) => isKdpError(e, 'KDP_ERR_OVERLAY_NOT_STARTED'));
  assert.deepEqual(await backend.start(local), { backendData: null, podMtu: 1472 });
  assert.deepEqual(engines[0]!.options, {
    tunName: 'flannel0',
    localIp: '198.18.0.1',
    port: 8285,
    mtu: 1472,
    localSubnet: '10.244.0.0/24',
  });
  const tun = (await kernel.links.list(netns)).find((l) => l.name === 'flannel0');
  assert.deepEqual([tun?.mtu, tun?.up], [1472, true]);
  assert.deepEqual(await kernel.addresses.list(netns, 'flannel0'), [
    { dev: 'flannel0', cidr: '10.244.0.0/16' },
  ]);
  assert.equal(
    await kernel.sysctl.get(netns, 'net.ipv4.conf.flannel0.accept_local'),
    '1',
    'ICMP from cni0 accepted',
  );
  const routes = (await kernel.routes.list(netns)).filter((r) => r.dst.startsWith('10.244.'));
  assert.deepEqual(routes.map((r) => `${r.dst} dev ${r.dev}`).sort(), [
    '10.244.0.0/16 dev flannel0',
    '10.244.0.0/24 dev cni0',
  ]);
  await assert.rejects(backend.start(local), (e) => isKdpError(e, 'KDP_ERR_OVERLAY_STARTED'));
  await backend.close();
  await backend.close();
  assert.equal(engines[0]!.closed, 1, 'close is idempotent');
  assert.equal(
    (await kernel.links.list(netns)).some((l) => l.name === 'flannel0'),
    false,
  );
});

test('sync: a route per udp peer; leases of another backend or overlapping ones are skipped, logged once', async () => {
  const { ctx, logs, engines, factory } = await setup('tudp2');
  const backend = createUdpBackend(ctx, factory);
  await backend.start(local);
  const vx = { name: 'node-4', podCidr: '10.244.3.0/24', underlayIp: '198.18.0.4', backendType: 'vxlan' };
  const clash = { name: 'node-5', podCidr: '10.244.0.128/25', underlayIp: '198.18.0.5' };
  const dup = { name: 'node-6', podCidr: '10.244.1.0/24', underlayIp: '198.18.0.6' };
  await backend.sync([n3, vx, n2, clash, dup]);
  await backend.sync([n3, vx, n2, clash, dup]);
  assert.deepEqual(engines[0]!.routes, [
    { subnet: '10.244.1.0/24', nodeIp: '198.18.0.2' },
    { subnet: '10.244.2.0/24', nodeIp: '198.18.0.3' },
  ]);
  const warnings = logs.filter((l) => l.startsWith('warn'));
  assert.equal(warnings.length, 3, warnings.join('\n'));
  assert.match(warnings.find((w) => w.includes('node-4')) ?? '', /vxlan backend/);
  await backend.sync([]);
  assert.deepEqual(engines[0]!.routes, []);
  await backend.close();
});

test('counters are the engine counters, flattened', async () => {
  const { ctx, factory } = await setup('tudp3');
  const backend = createUdpTsBackend(ctx, factory);
  assert.equal(backend.name, 'udp-ts');
  assert.deepEqual(backend.counters!(), {}, 'nothing before start');
  await backend.start(local);
  const c = backend.counters!();
  assert.equal(c.tunRxPackets, 10);
  assert.equal(c['drops.unknown-peer'], 3);
  assert.equal(c['drops.no-route'], 0);
  assert.equal(c['batchSizes.8'], 2);
  await backend.close();
});

test('a flannel0 left by an earlier agent is removed before the engine opens its own', async () => {
  const { kernel, netns, ctx, logs, engines, factory, addTun } = await setup('tudp4');
  addTun('flannel0');
  await kernel.addresses.add(netns, 'flannel0', '10.244.0.0/16');
  const backend = createUdpBackend(ctx, factory);
  await backend.start(local);
  assert.equal(engines.length, 1);
  assert.ok(logs.some((l) => l.startsWith('warn') && l.includes('flannel0')));
  assert.deepEqual(await kernel.addresses.list(netns, 'flannel0'), [
    { dev: 'flannel0', cidr: '10.244.0.0/16' },
  ]);
  await backend.close();
});

test('a failure while configuring flannel0 closes the engine; bad input starts none', async () => {
  const { kernel, netns, ctx, engines, factory } = await setup('tudp5');
  // An engine that never brings its TUN: configuring flannel0 must fail, and the engine be closed.
  const noTun = (options: EngineOptions) => {
    const e = factory(options);
    kernel.state.ns(netns, 'test').links.delete('flannel0');
    return e;
  };
  await assert.rejects(createUdpBackend(ctx, noTun).start(local));
  assert.equal(engines[0]!.closed, 1);

  await assert.rejects(createUdpBackend({ ...ctx, uplink: 'eth9' }, factory).start(local), (e) =>
    isKdpError(e, 'KDP_ERR_OVERLAY_NO_UPLINK'),
  );
  await assert.rejects(createUdpBackend(ctx, factory).start({ ...local, podCidr: '10.9.0.0/24' }), (e) =>
    isKdpError(e, 'KDP_ERR_OVERLAY_CONFIG'),
  );
  assert.equal(engines.length, 1, 'no engine started for a node that cannot be configured');
});
