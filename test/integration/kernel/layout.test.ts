/**
 * The real kernel layer builds a 2-node x 2-pod layout (fabric bridge, node namespaces with
 * uplink, forwarding and cni0, pod veths with address and default route) from one plan, and
 * packets flow: pod to pod on one node over the bridge, and across nodes only once the host-gw
 * routes are added. Everything is removed and the host's root namespace is unchanged.
 * Run as root: node --import tsx --test test/integration/kernel/layout.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { CNI_BRIDGE, FABRIC_BRIDGE, fabricPortName } from '../../../dataplane/cluster/topology-names.ts';
import { NetworkPlan } from '../../../dataplane/kernel/network-plan.ts';
import { exampleLayout, hostGwRoutes } from '../../../dataplane/cluster/testing/example-layout.ts';
import { withIsolatedKernel } from './isolated.ts';
import { probe, startEchoServer, type EchoServer } from './probe.ts';

test('2 nodes x 2 pods: same-node traffic over cni0, cross-node traffic via host-gw routes', async (t) => {
  await withIsolatedKernel(t, async (kernel, cluster) => {
    const topology = resolveTopology({ cluster, nodes: 2, podsPerNode: 2 });
    const layout = exampleLayout(topology, { hostGw: false });
    const report = await kernel.ops.apply(layout.plan);
    assert.deepEqual(report, {
      namespacesCreated: 7,
      operations: layout.plan.ops.length,
      stages: 3,
      batches: 10,
    });
    assert.deepEqual((await kernel.netns.list(kernel.prefix)).sort(), [...layout.namespaces].sort());

    const [n1, n2] = layout.nodes;
    const [p11, p12] = n1.pods;
    const [p21, p22] = n2.pods;

    // What the plan made, read back through the list APIs.
    const fabricLinks = await kernel.links.list(layout.fabric);
    assert.deepEqual(
      fabricLinks.filter((l) => l.name !== 'lo').map((l) => [l.name, l.kind, l.up, l.master]),
      [
        [FABRIC_BRIDGE, 'bridge', true, undefined],
        [fabricPortName(1), 'veth', true, FABRIC_BRIDGE],
        [fabricPortName(2), 'veth', true, FABRIC_BRIDGE],
      ],
    );
    const nodeLinks = await kernel.links.list(n1.netns);
    assert.deepEqual(
      nodeLinks.map((l) => [l.name, l.kind, l.up, l.master]),
      [
        ['lo', 'loopback', true, undefined],
        ['eth0', 'veth', true, undefined],
        [CNI_BRIDGE, 'bridge', true, undefined],
        [p11.veth, 'veth', true, CNI_BRIDGE],
        [p12.veth, 'veth', true, CNI_BRIDGE],
      ],
    );
    assert.deepEqual(await kernel.addresses.list(n1.netns), [
      { dev: 'lo', cidr: '127.0.0.1/8' },
      { dev: 'eth0', cidr: '198.18.0.1/16' },
      { dev: CNI_BRIDGE, cidr: '10.244.0.1/24' },
    ]);
    assert.equal(await kernel.sysctl.get(n1.netns, 'net.ipv4.ip_forward'), '1');
    assert.equal(await kernel.sysctl.get(p11.netns, 'net.ipv4.ip_forward'), '0');
    assert.deepEqual(await kernel.addresses.list(p22.netns, 'eth0'), [
      { dev: 'eth0', cidr: '10.244.1.3/24' },
    ]);
    const podDefault = (await kernel.routes.list(p22.netns)).find((r) => r.dst === 'default');
    assert.deepEqual(podDefault, {
      dst: 'default',
      table: 254,
      type: 'unicast',
      via: '10.244.1.1',
      dev: 'eth0',
    });

    const servers: EchoServer[] = [];
    try {
      for (const pod of [p11, p12, p21, p22])
        servers.push(await startEchoServer(kernel, pod.netns, pod.name));

      assert.deepEqual(await probe(kernel, p11.netns, p12.ip), { ok: true, answer: p12.name });
      assert.deepEqual(await probe(kernel, p22.netns, p21.ip), { ok: true, answer: p21.name });
      // Nodes reach each other on the underlay, but know no route to the other node's pods yet.
      const before = await probe(kernel, p11.netns, p21.ip);
      assert.equal(before.ok, false, `cross-node traffic must need the host-gw routes, got ${before.answer}`);

      const routes = hostGwRoutes(new NetworkPlan(), layout.nodes);
      const routeReport = await kernel.ops.apply(routes);
      assert.deepEqual(routeReport, { namespacesCreated: 0, operations: 2, stages: 1, batches: 2 });
      assert.ok(
        (await kernel.routes.list(n1.netns)).some(
          (r) => r.dst === n2.podCidr && r.via === n2.underlayIp && r.dev === 'eth0',
        ),
      );

      assert.deepEqual(await probe(kernel, p11.netns, p21.ip), { ok: true, answer: p21.name });
      assert.deepEqual(await probe(kernel, p22.netns, p12.ip), { ok: true, answer: p12.name });
      assert.deepEqual(await probe(kernel, n1.netns, p22.ip), { ok: true, answer: p22.name });
    } finally {
      for (const s of servers) await s.stop();
    }
  });
});

test('a plan that fails part-way names the refused op and its namespace; the rest of the stage ran', async (t) => {
  await withIsolatedKernel(t, async (kernel, cluster) => {
    const a = `kdp-${cluster}-a`;
    const b = `kdp-${cluster}-b`;
    const plan = new NetworkPlan().createNamespace(a).createNamespace(b);
    plan.addBridge(a, 'br0').setLink(a, 'br0', { up: true }).addAddress(a, 'br0', '10.0.0.1/24');
    plan.addRoute(a, { dst: 'default', via: '10.9.9.9' }).addBridge(a, 'br1');
    plan.addBridge(b, 'br0').setLink(b, 'br0', { up: true });
    plan.setSysctl(b, 'net.ipv4.conf.br0.no_such_key', '1');
    await assert.rejects(
      kernel.ops.apply(plan),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.code, 'KDP_ERR_KERNEL_UNREACHABLE');
        assert.match(
          e.message,
          new RegExp(
            `^ip route add default via 10\\.9\\.9\\.9 in namespace ${a}: Nexthop has invalid gateway`,
          ),
        );
        assert.equal(e.details?.failures, 2);
        return true;
      },
    );
    assert.deepEqual(
      (await kernel.links.list(a)).map((l) => l.name),
      ['lo', 'br0'],
      'the batch stopped at the failing line',
    );
    assert.equal(
      (await kernel.links.list(b)).find((l) => l.name === 'br0')?.up,
      true,
      'the other namespace ran',
    );
  });
});
