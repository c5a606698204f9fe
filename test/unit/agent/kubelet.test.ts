// The agent as kubelet against the real in-process apiserver and the FakeKernel: a bound Pod
// becomes a namespace with a veth into cni0, an address from the node's pod CIDR, a default route
// via the gateway and lo up, in one plan with the other pods that came with it; its containers
// run in that namespace; its status says so. Deletion is graceful, then the Pod is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod } from '../../../dataplane/api/types.ts';
import { podNamespace, podVethName } from '../../../dataplane/cluster/topology-names.ts';
import { agentWorld, CLUSTER, isReady, podObject, WORKLOAD_SCRIPT, type AgentWorld } from './fixture.ts';
import { until } from '../../helpers/until.ts';

const pods = (w: AgentWorld) => w.client.resource<Pod>('pods');

test('a bound pod gets its namespace, veth, address, routes and process, and a Ready status', async () => {
  const w = await agentWorld();
  try {
    await w.startAgent(1);
    const [node] = w.nodes;
    await pods(w).create(
      podObject('web', node.name, [{ image: 'kdp/http', ports: [{ containerPort: 8080 }] }]),
    );
    const pod = await until('web Ready', async () => {
      const p = await pods(w).get('web', 'default');
      return isReady(p) && p;
    });

    const ns = podNamespace(CLUSTER, 'default', 'web');
    const veth = podVethName('default', 'web');
    assert.ok(await w.kernel.netns.exists(ns));
    const nodeLink = (await w.kernel.links.list(node.netns)).find((l) => l.name === veth);
    assert.deepEqual(nodeLink && [nodeLink.kind, nodeLink.up, nodeLink.master], ['veth', true, 'cni0']);
    assert.deepEqual(
      (await w.kernel.links.list(ns)).map((l) => [l.name, l.up]),
      [
        ['lo', true],
        ['eth0', true],
      ],
    );
    assert.deepEqual(await w.kernel.addresses.list(ns, 'eth0'), [{ dev: 'eth0', cidr: '10.244.0.2/24' }]);
    const def = (await w.kernel.routes.list(ns)).find((r) => r.dst === 'default');
    assert.equal(def?.via, '10.244.0.1');

    assert.equal(pod.status?.phase, 'Running');
    assert.equal(pod.status?.podIP, '10.244.0.2');
    assert.equal(pod.status?.hostIP, node.underlayIp);
    assert.ok(pod.status?.startTime);
    assert.deepEqual(pod.status?.conditions?.map((c) => `${c.type}=${c.status}`).sort(), [
      'ContainersReady=True',
      'Initialized=True',
      'PodReadyToStartContainers=True',
      'PodScheduled=True',
      'Ready=True',
    ]);
    const cs = pod.status?.containerStatuses as {
      name: string;
      ready: boolean;
      state: { running?: unknown };
    }[];
    assert.equal(cs[0].name, 'c0');
    assert.equal(cs[0].ready, true);
    assert.ok(cs[0].state.running);

    const [proc] = w.runner.in(ns);
    assert.deepEqual(proc.opts.argv, [
      '/usr/bin/node',
      WORKLOAD_SCRIPT,
      `kdp:${CLUSTER}:pod:default/web`,
      'http',
      '--port',
      '8080',
    ]);
    assert.equal(proc.opts.env.KDP_POD_NAME, 'web');
    assert.equal(proc.opts.env.KDP_POD_IP, '10.244.0.2');
    assert.match(proc.opts.logFile, new RegExp(`pods/${pod.metadata.uid}/c0\\.log$`));
    await access(join(w.stateDir(1), 'pods', pod.metadata.uid!, 'c0.pid'));
  } finally {
    await w.close();
  }
});

test("pods that arrive together are set up in one plan; other nodes' pods are not touched", async () => {
  const w = await agentWorld();
  try {
    const agent = await w.startAgent(1);
    await agent.kubelet.idle();
    w.kernel.resetCounts();
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    await Promise.all(
      names.map((n) => pods(w).create(podObject(n, w.nodes[0].name, [{ image: 'kdp/pause' }]))),
    );
    await pods(w).create(podObject('elsewhere', w.nodes[1].name, [{ image: 'kdp/pause' }]));
    const ready = await until('20 pods Ready', async () => {
      const list = (await pods(w).list()).items.filter((p) => names.includes(p.metadata.name!));
      return list.length === 20 && list.every(isReady) && list;
    });
    assert.ok(w.kernel.callCount('ops.apply') < 5, `20 pods took ${w.kernel.callCount('ops.apply')} plans`);
    const ips = new Set(ready.map((p) => p.status!.podIP));
    assert.equal(ips.size, 20, 'every pod has its own address');
    assert.equal(await w.kernel.netns.exists(podNamespace(CLUSTER, 'default', 'elsewhere')), false);
    assert.equal((await pods(w).get('elsewhere', 'default')).status?.phase, 'Pending');
    assert.equal(w.runner.procs.size, 0, 'kdp/pause runs no process');
  } finally {
    await w.close();
  }
});

test('delete is graceful: SIGTERM, namespace removed, address freed, then the Pod is gone', async () => {
  const w = await agentWorld();
  try {
    await w.startAgent(1);
    const node = w.nodes[0].name;
    await pods(w).create(podObject('a', node, [{ image: 'kdp/echo' }]));
    const a = await until('a Ready', async () => {
      const p = await pods(w).get('a', 'default');
      return isReady(p) && p;
    });
    const ns = podNamespace(CLUSTER, 'default', 'a');
    const [proc] = w.runner.in(ns);

    const marked = await pods(w).delete('a', { namespace: 'default' });
    assert.ok(marked?.metadata.deletionTimestamp, 'a bound running pod is deleted gracefully');
    await until('a gone', async () => (await pods(w).tryGet('a', 'default')) === undefined);
    assert.deepEqual(proc.signals, ['SIGTERM']);
    assert.equal(await w.kernel.netns.exists(ns), false);
    assert.equal(
      (await w.kernel.links.list(w.nodes[0].netns)).some((l) => l.name === podVethName('default', 'a')),
      false,
    );
    await assert.rejects(access(join(w.stateDir(1), 'pods', a.metadata.uid!)));

    // A process that ignores SIGTERM is killed once its grace period is over.
    w.runner.ignoreTerm = true;
    await pods(w).create(
      podObject('stubborn', node, [{ image: 'kdp/echo' }], { terminationGracePeriodSeconds: 1 }),
    );
    await until('stubborn Ready', async () => isReady(await pods(w).get('stubborn', 'default')));
    const [s] = w.runner.in(podNamespace(CLUSTER, 'default', 'stubborn'));
    await pods(w).delete('stubborn', { namespace: 'default' });
    await until('stubborn gone', async () => (await pods(w).tryGet('stubborn', 'default')) === undefined);
    assert.deepEqual(s.signals, ['SIGTERM', 'SIGKILL']);

    // The same name again is a new pod with a fresh namespace.
    w.runner.ignoreTerm = false;
    await pods(w).create(podObject('a', node, [{ image: 'kdp/echo' }]));
    const again = await until('a Ready again', async () => {
      const p = await pods(w).get('a', 'default');
      return isReady(p) && p;
    });
    assert.notEqual(again.metadata.uid, a.metadata.uid);
    assert.ok(await w.kernel.netns.exists(ns));
  } finally {
    await w.close();
  }
});

test('a container that exits is restarted with a backoff and counted; Never leaves it terminated', async () => {
  const w = await agentWorld();
  try {
    await w.startAgent(1);
    const node = w.nodes[0].name;
    await pods(w).create(podObject('crashy', node, [{ image: 'kdp/http' }]));
    await pods(w).create(
      podObject('once', node, [{ image: 'busybox', command: ['true'] }], { restartPolicy: 'Never' }),
    );
    await until(
      'both Ready',
      async () =>
        isReady(await pods(w).get('crashy', 'default')) && isReady(await pods(w).get('once', 'default')),
    );
    w.runner.in(podNamespace(CLUSTER, 'default', 'crashy'))[0].exit({ code: 3, signal: null });
    w.runner.in(podNamespace(CLUSTER, 'default', 'once'))[0].exit({ code: 0, signal: null });

    const crashy = await until('crashy restarted', async () => {
      const p = await pods(w).get('crashy', 'default');
      const c = (p.status?.containerStatuses as { restartCount: number }[])[0];
      return c.restartCount === 1 && isReady(p) && p;
    });
    const c = (
      crashy.status!.containerStatuses as {
        lastState: { terminated?: { exitCode: number; reason: string } };
      }[]
    )[0];
    assert.deepEqual([c.lastState.terminated?.exitCode, c.lastState.terminated?.reason], [3, 'Error']);
    assert.equal(w.runner.in(podNamespace(CLUSTER, 'default', 'crashy')).length, 2);

    const once = await until('once Succeeded', async () => {
      const p = await pods(w).get('once', 'default');
      return p.status?.phase === 'Succeeded' && p;
    });
    assert.equal(isReady(once), false);
    assert.equal(w.runner.in(podNamespace(CLUSTER, 'default', 'once')).length, 1);
  } finally {
    await w.close();
  }
});

test('an image kdp cannot run leaves the pod Pending with the reason', async () => {
  const w = await agentWorld();
  try {
    await w.startAgent(1);
    await pods(w).create(podObject('nginx', w.nodes[0].name, [{ image: 'nginx:1.27' }]));
    const p = await until('nginx reported', async () => {
      const pod = await pods(w).get('nginx', 'default');
      return pod.status?.containerStatuses && pod;
    });
    const state = (
      p.status!.containerStatuses as { state: { waiting?: { reason: string; message: string } } }[]
    )[0].state;
    assert.equal(p.status?.phase, 'Pending');
    assert.equal(state.waiting?.reason, 'CreateContainerError');
    assert.match(state.waiting!.message, /not one of kdp's built-ins/);
    assert.equal(p.status?.podIP, '10.244.0.2', 'the sandbox is up even so');
  } finally {
    await w.close();
  }
});

test('a hostNetwork pod runs in the node namespace with the node address', async () => {
  const w = await agentWorld();
  try {
    await w.startAgent(1);
    const [node] = w.nodes;
    await pods(w).create(podObject('hn', node.name, [{ image: 'kdp/echo' }], { hostNetwork: true }));
    const p = await until('hn Ready', async () => {
      const pod = await pods(w).get('hn', 'default');
      return isReady(pod) && pod;
    });
    assert.equal(p.status?.podIP, node.underlayIp);
    assert.equal(w.runner.in(node.netns).length, 1);
    assert.deepEqual(await w.kernel.netns.list(`kdp-${CLUSTER}-pod-`), []);
  } finally {
    await w.close();
  }
});
