// The builder against the kernel fake and a real in-process apiserver, with stand-in agents that
// reach the apiserver over its unix socket: what bring-up creates (one batched kernel plan for
// fabric and nodes, Node and Pod objects, agents with the contract's arguments), refusal when
// the cluster exists, removal of everything after a failed create and on close, and the
// supervision of agents (restart after a kill, backoff through repeated deaths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, Pod, Service } from '../../../dataplane/api/types.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import type { BuildProgress } from '../../../dataplane/cluster/builder.ts';
import { agentCommand } from '../../../dataplane/cluster/builder-agents.ts';
import { clusterPrefix, fabricNamespace, nodeNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { builderSetup as setup } from './builder-fixture.ts';
import { until } from '../../helpers/until.ts';

test('2 nodes x 2 pods: one kernel plan, Node and Pod objects, agents per the contract', async () => {
  const { cluster, kernel, agents, stateDir, options } = setup();
  const progress: BuildProgress[] = [];
  const c = await Cluster.create(
    { cluster, nodes: 2, podsPerNode: 2 },
    { ...options, onProgress: (p) => progress.push(p) },
  );
  try {
    // Fabric and nodes in one plan; pods are the agents' business.
    assert.equal(kernel.callCount('ops.apply'), 1);
    assert.deepEqual(await kernel.netns.list(clusterPrefix(cluster)), [
      fabricNamespace(cluster),
      nodeNamespace(cluster, 1),
      nodeNamespace(cluster, 2),
    ]);
    const nodes = await c.client.resource<Node>('nodes').list();
    assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), ['node-1', 'node-2']);
    for (const node of c.nodes) {
      const obj = nodes.items.find((n) => n.metadata.name === node.name)!;
      assert.equal(obj.metadata.labels?.['kdp.dev/cluster'], cluster);
      assert.equal(obj.metadata.labels?.['kubernetes.io/hostname'], node.name);
      assert.deepEqual(obj.status?.addresses, [
        { type: 'InternalIP', address: node.underlayIp },
        { type: 'Hostname', address: node.name },
      ]);
      assert.equal(obj.spec?.podCIDR, node.podCidr);
      // The node namespace as the plan left it: uplink address, cni0 with the gateway, forwarding.
      assert.deepEqual(await kernel.addresses.list(node.netns), [
        { dev: 'eth0', cidr: `${node.underlayIp}/16` },
        { dev: 'cni0', cidr: `${node.gateway}/24` },
      ]);
      assert.equal(await kernel.sysctl.get(node.netns, 'net.ipv4.ip_forward'), '1');
      // cni0 has a fixed MAC, so pods' ARP entries for the gateway survive pods coming and going.
      const cni = kernel.applied.find(
        (op) => op.kind === 'link.set' && op.ns === node.netns && op.name === 'cni0',
      );
      assert.equal(cni?.kind === 'link.set' && cni.address, `02:6b:64:70:00:0${node.index}`);
      assert.equal(node.agent.state, 'running');
    }
    assert.deepEqual(
      c.nodes.map((n) => n.underlayIp),
      ['198.18.0.1', '198.18.0.2'],
    );
    assert.notEqual(c.nodes[0].podCidr, c.nodes[1].podCidr);
    const fabricLinks = await kernel.links.list(fabricNamespace(cluster));
    assert.deepEqual(
      fabricLinks.filter((l) => l.name !== 'lo').map((l) => [l.name, l.master ?? null, l.up]),
      [
        ['fabric0', null, true],
        ['fab-node-1', 'fabric0', true],
        ['fab-node-2', 'fabric0', true],
      ],
    );

    const pods = await c.pods({ namespace: 'default' });
    assert.deepEqual(
      pods.map((p) => [p.metadata.name, p.spec.nodeName, p.spec.containers[0].image, p.status?.phase]),
      [
        ['pod-1-1', 'node-1', 'kdp/http', 'Running'],
        ['pod-1-2', 'node-1', 'kdp/http', 'Running'],
        ['pod-2-1', 'node-2', 'kdp/http', 'Running'],
        ['pod-2-2', 'node-2', 'kdp/http', 'Running'],
      ],
    );

    // One agent per node, started with the contract's arguments.
    assert.deepEqual(
      agents.spawned.map(({ spec }) => [spec.node, spec.netns, spec.socketPath, spec.stateDir]),
      [
        [
          'node-1',
          nodeNamespace(cluster, 1),
          join(stateDir, 'apiserver.sock'),
          join(stateDir, 'nodes', 'node-1'),
        ],
        [
          'node-2',
          nodeNamespace(cluster, 2),
          join(stateDir, 'apiserver.sock'),
          join(stateDir, 'nodes', 'node-2'),
        ],
      ],
    );
    // The agents get the socket's token as a file path (0600), never the token itself in argv.
    const tokenFile = join(stateDir, 'apiserver.token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    for (const { spec } of agents.spawned) {
      assert.equal(spec.tokenFile, tokenFile);
      const argv = agentCommand(spec);
      assert.deepEqual(argv.slice(argv.indexOf('--token-file'), argv.indexOf('--token-file') + 2), [
        '--token-file',
        tokenFile,
      ]);
      assert.ok(!argv.some((a) => a.includes(token)), 'no argument carries the token');
    }
    const record = JSON.parse(readFileSync(join(stateDir, 'cluster.json'), 'utf8'));
    assert.equal(record.cluster, cluster);
    assert.equal(record.nodes.length, 2);
    assert.ok(existsSync(c.kubeconfigPath));

    const phases = [...new Set(progress.map((p) => p.phase))];
    assert.deepEqual(phases, ['preflight', 'apiserver', 'nodes', 'network', 'agents', 'pods', 'ready']);
    assert.deepEqual(progress.filter((p) => p.phase === 'pods').at(-1), {
      ...progress.filter((p) => p.phase === 'pods').at(-1),
      done: 4,
      total: 4,
    });
  } finally {
    await c.close();
  }
  assert.deepEqual(await kernel.netns.list(clusterPrefix(cluster)), []);
  assert.equal(agents.live.size, 0);
  assert.equal(existsSync(stateDir), false);
  await c.close(); // idempotent
});

test('refuses to start when the cluster namespaces exist, and touches nothing', async () => {
  const { cluster, kernel, options, agents, stateDir } = setup();
  await kernel.netns.create(fabricNamespace(cluster));
  await assert.rejects(Cluster.create({ cluster }, options), (e: unknown) => {
    assert.ok(isKdpError(e, 'KDP_ERR_CLUSTER_EXISTS'));
    assert.match(e.message, /kdp cleanup --name/);
    return true;
  });
  assert.deepEqual(await kernel.netns.list(clusterPrefix(cluster)), [fabricNamespace(cluster)]);
  assert.equal(agents.spawned.length, 0);
  assert.equal(existsSync(stateDir), false);
});

test('a create that fails removes everything it made and says which agents were failing', async () => {
  const { cluster, kernel, options, agents, stateDir } = setup();
  agents.failNext('node-2', 1_000_000);
  await assert.rejects(
    Cluster.create({ cluster, nodes: 2, podsPerNode: 1 }, { ...options, readyTimeoutMs: 500 }),
    (e: unknown) => {
      assert.ok(isKdpError(e, 'KDP_ERR_AGENT_FAILED'), String(e));
      assert.match(e.message, /node-2: (restarting|running), \d+ restarts/);
      assert.ok(isKdpError(e.cause, 'KDP_ERR_CLUSTER_WAIT_TIMEOUT'));
      assert.match((e.cause as Error).message, /not Ready: (node-2|pod-2-1)/);
      return true;
    },
  );
  assert.deepEqual(await kernel.netns.list(clusterPrefix(cluster)), []);
  assert.equal(agents.live.size, 0);
  assert.equal(existsSync(stateDir), false);
});

test('an agent that dies is restarted, and the new one realises new pods', async () => {
  const { cluster, options, agents } = setup();
  await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 1 }, options);
  const first = agents.live.get('node-1')!;
  first.kill('SIGKILL');
  await until(
    'the agent of node-1 to be restarted',
    () => c.agent('node-1').restarts === 1 && agents.live.has('node-1'),
  );
  assert.notEqual(agents.live.get('node-1'), first);
  assert.equal(c.agent('node-1').state, 'running');
  assert.equal(c.agent('node-1').lastExit?.signal, 'SIGKILL');
  const pod = await c.addPod('late', { node: 'node-1' });
  assert.equal(pod.status?.phase, 'Running');
  assert.ok(pod.status?.podIP?.startsWith(c.nodes[0].podCidr.split('.').slice(0, 3).join('.')));

  // Repeated quick deaths: restarted each time, with backoff, until one stays up.
  agents.failNext('node-2', 3);
  agents.live.get('node-2')!.kill('SIGKILL');
  await until(
    'node-2 agent back after 4 deaths',
    () => c.agent('node-2').restarts === 4 && agents.live.has('node-2'),
  );
  assert.equal(c.agent('node-2').state, 'running');
});

test('pods are added, deleted (gone after the agent finishes them) and scaled through a Deployment', async () => {
  const { cluster, options } = setup();
  await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 0 }, options);
  const added = await c.addPod('web-x', { node: 'node-2', labels: { app: 'x' } });
  assert.equal(added.spec.nodeName, 'node-2');
  await c.deletePod('web-x');
  assert.equal(await c.client.resource<Pod>('pods').tryGet('web-x', 'default'), undefined);

  await c.client.resource('apps/deployments').create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'http', image: 'kdp/http' }] },
      },
    },
  });
  assert.equal((await c.waitForPods('app=web', 2)).length, 2);
  const scaled = await c.scale('web', 4);
  assert.equal(scaled.length, 4);
  assert.ok(scaled.every((p) => p.spec.nodeName === 'node-1' || p.spec.nodeName === 'node-2'));
  assert.equal((await c.scale('web', 1)).length, 1);
});

test('a resolved Topology is accepted as input', async () => {
  const { cluster, options } = setup();
  const topology = resolveTopology({ cluster, nodes: [{ name: 'a', pods: ['p1'] }] });
  await using c = await Cluster.create(topology, options);
  assert.deepEqual(
    (await c.pods({ namespace: 'default' })).map((p) => [p.metadata.name, p.spec.nodeName]),
    [['p1', 'a']],
  );
});

test('cluster DNS: kube-dns at the tenth service address, two coredns pods; none with dns: false', async () => {
  const { cluster, agents, options } = setup();
  await using c = await Cluster.create({ cluster, nodes: 1, podsPerNode: 0 }, options);
  const svc = await c.client.resource<Service>('services').get('kube-dns', 'kube-system');
  assert.equal(svc.spec.clusterIP, '10.96.0.10');
  assert.deepEqual(
    svc.spec.ports?.map((p) => [p.name, p.port, p.protocol]),
    [
      ['dns', 53, 'UDP'],
      ['dns-tcp', 53, 'TCP'],
    ],
  );
  const dnsPods = await c.pods({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' });
  assert.deepEqual(
    dnsPods.map((p) => [p.spec.containers[0].image, p.spec.dnsPolicy, p.status?.phase]),
    [
      ['kdp/dns', 'Default', 'Running'],
      ['kdp/dns', 'Default', 'Running'],
    ],
  );
  assert.equal(agents.spawned[0].spec.clusterDns, '10.96.0.10');
  assert.ok(agentCommand(agents.spawned[0].spec).join(' ').includes('--cluster-dns 10.96.0.10'));

  const other = setup();
  await using d = await Cluster.create(
    { cluster: other.cluster, nodes: 1, podsPerNode: 0, dns: false },
    other.options,
  );
  assert.equal(await d.client.resource<Service>('services').tryGet('kube-dns', 'kube-system'), undefined);
  assert.deepEqual(await d.pods({ namespace: 'kube-system' }), []);
  assert.equal(other.agents.spawned[0].spec.clusterDns, undefined);
});
