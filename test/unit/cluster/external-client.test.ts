// External clients on the FakeKernel: a namespace under the cluster's prefix with its interface
// on the fabric bridge, addresses counted down from the top of the underlay, optional routes to
// the pod and service CIDRs through a node; names are unique. And the proxy-mode preflight: a
// cluster with a mode kdp cannot run is refused before anything is made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeRecord, clusterPlan } from '../../../dataplane/cluster/builder-plan.ts';
import { buildCluster } from '../../../dataplane/cluster/builder.ts';
import {
  addExternalClient,
  externalClientIp,
  externalClientNamespace,
} from '../../../dataplane/cluster/external-client.ts';
import { clusterPrefix, FABRIC_BRIDGE, fabricNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import { defineProxyMode } from '../../../dataplane/proxy/mode-spec.ts';
import { PROXY_MODE_UNAVAILABLE, registerProxyMode } from '../../../dataplane/proxy/modes.ts';

const topology = resolveTopology({ cluster: 'ext', nodes: 2, podsPerNode: 0 });
const nodes = topology.nodes.map((n, i) => nodeRecord(topology, n, `10.244.${i}.0/24`));

async function fabric(): Promise<FakeKernel> {
  const kernel = new FakeKernel({ prefix: clusterPrefix('ext') });
  await kernel.ops.apply(clusterPlan(topology, nodes));
  return kernel;
}

test('an external client sits on the fabric bridge at the top of the underlay', async () => {
  const kernel = await fabric();
  const a = await addExternalClient(kernel, topology, nodes, [], { name: 'outside', via: 'node-1' });
  assert.deepEqual(a, {
    name: 'outside',
    index: 1,
    netns: 'kdp-ext-ext-outside',
    ip: '198.18.255.254',
    via: 'node-1',
  });
  assert.equal(a.netns, externalClientNamespace('ext', 'outside'));
  const port = (await kernel.links.list(fabricNamespace('ext'))).find((l) => l.name === 'fab-ext-1');
  assert.equal(port?.master, FABRIC_BRIDGE);
  assert.deepEqual(await kernel.addresses.list(a.netns, 'eth0'), [
    { dev: 'eth0', cidr: '198.18.255.254/16' },
  ]);
  const routes = (await kernel.routes.list(a.netns)).filter((r) => r.via).map((r) => [r.dst, r.via]);
  assert.deepEqual(routes, [
    ['10.244.0.0/16', nodes[0].underlayIp],
    ['10.96.0.0/16', nodes[0].underlayIp],
  ]);

  const b = await addExternalClient(kernel, topology, nodes, [a]);
  assert.deepEqual([b.name, b.ip, b.via], ['client-2', externalClientIp(topology, 2), undefined]);
  assert.equal(b.ip, '198.18.255.253');
  assert.deepEqual(
    (await kernel.routes.list(b.netns)).filter((r) => r.via),
    [],
    'no routes without via',
  );
  await assert.rejects(
    addExternalClient(kernel, topology, nodes, [a, b], { name: 'outside' }),
    /exists already/,
  );
  await assert.rejects(
    addExternalClient(kernel, topology, nodes, [a, b], { via: 'node-9' }),
    /no node "node-9"/,
  );
});

test('a proxy mode that cannot run is refused before anything is made', async () => {
  const kernel = new FakeKernel({ prefix: clusterPrefix('pm') });
  const unregister = registerProxyMode(
    defineProxyMode({
      name: 'unrunnable',
      summary: 'a mode no host can run',
      options: (flags) => flags,
      missing: () => 'unrunnable mode needs a kernel nobody has',
      create: null,
    }),
  );
  try {
    await assert.rejects(
      buildCluster(
        { cluster: 'pm', nodes: 1, proxyMode: 'unrunnable' },
        { kernel, spawnAgent: () => assert.fail('no agent may start'), stateDir: '/nonexistent/kdp-pm' },
      ),
      (e) =>
        isKdpError(e, PROXY_MODE_UNAVAILABLE) && e.message === 'unrunnable mode needs a kernel nobody has',
    );
  } finally {
    unregister();
  }
  assert.deepEqual(await kernel.netns.list(kernel.prefix), []);
});
