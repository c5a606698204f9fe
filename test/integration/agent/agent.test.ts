// Real agents in real node namespaces (as root): Pods created through the apiserver become
// namespaces with running servers, reachable from another pod on the same node and across nodes
// through host-gw routes (HTTP answers the serving pod's name; TCP and UDP echo); a graceful delete
// stops the server and removes the namespace before the Pod goes (and the name can be used again
// at once); an agent killed with SIGKILL and started again leaves its pods running (same address,
// same process) and realises new ones.
// Nothing is left afterwards and the host's root namespace is unchanged.
// Run as root: node --import tsx --test test/integration/agent/agent.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Pod } from '../../../dataplane/api/types.ts';
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';
import { titledProcesses, withAgentCluster } from './agent-cluster.ts';
import { procStatus, workloadOf } from './container-procs.ts';
import { httpGet, tcpEcho, udpEcho } from './probes.ts';
import { until } from '../../helpers/until.ts';

const isReady = (p: Pod | undefined) =>
  p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

function pod(
  name: string,
  node: string,
  image: string,
  ports: { containerPort: number; protocol?: 'TCP' | 'UDP' }[] = [],
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name.split('-')[0] } },
    spec: { nodeName: node, containers: [{ name: 'main', image, ports }] },
  };
}

async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function netnsGone(kernel: Kernel, ns: string) {
  return !(await kernel.netns.exists(ns));
}

test('agents realise pods that talk across nodes, delete gracefully and survive kill -9', async (t) => {
  let cluster = '';
  await withAgentCluster(t, 2, async (c) => {
    cluster = c.cluster;
    const { kernel, client, nodes } = c;
    const pods = client.resource<Pod>('pods');
    c.startAgent(1);
    c.startAgent(2);
    await pods.create(pod('web-1', nodes[0].name, 'kdp/http', [{ containerPort: 8080 }]));
    await pods.create(pod('web-2', nodes[1].name, 'kdp/http', [{ containerPort: 8080 }]));
    await pods.create(
      pod('echo-2', nodes[1].name, 'kdp/echo', [{ containerPort: 7 }, { containerPort: 7, protocol: 'UDP' }]),
    );
    await pods.create(pod('client-1', nodes[0].name, 'kdp/pause'));
    const ready = async (name: string) =>
      until(
        `${name} Ready`,
        async () => {
          const p = await pods.get(name, 'default');
          return isReady(p) && p;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
    const [web1, web2, echo2] = await Promise.all(['web-1', 'web-2', 'echo-2', 'client-1'].map(ready));
    assert.equal(web1.status?.hostIP, nodes[0].underlayIp);
    assert.equal(web2.status?.hostIP, nodes[1].underlayIp);
    const client1 = c.podNs('client-1');

    // Same node over cni0, other node over the host-gw route; the body names the serving pod.
    assert.equal(await httpGet(kernel, client1, web1.status!.podIP!), 'web-1\n');
    assert.equal(await httpGet(kernel, client1, web2.status!.podIP!), 'web-2\n');
    assert.equal(await tcpEcho(kernel, client1, echo2.status!.podIP!, 7, 'over tcp'), 'over tcp');
    assert.equal(await udpEcho(kernel, client1, echo2.status!.podIP!, 7, 'over udp'), 'over udp');

    // The tracked pid is the container's pid namespace's parent; the server runs inside as nobody.
    const web1Pid = await c.podPid(1, web1);
    const server = await until('web-1 server', () => workloadOf(web1Pid), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    const cmdline = await readFile(`/proc/${server}/cmdline`, 'utf8');
    assert.ok(cmdline.startsWith(`kdp:${c.cluster}:pod:default/web-1`), cmdline);
    assert.match((await procStatus(server)).Uid, /^65534\s+65534\s+65534\s+65534$/);
    assert.equal((await procStatus(server)).CapEff, '0000000000000000');
    // kdp/echo binds port 7 unprivileged: the pod namespace's ip_unprivileged_port_start is 0.
    const echoServer = await until('echo-2 server', async () => workloadOf(await c.podPid(2, echo2)), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    assert.match((await procStatus(echoServer)).Uid, /^65534\s/);
    assert.equal((await procStatus(echoServer)).CapEff, '0000000000000000');

    // Graceful delete: terminating first, the server stopped and the namespace gone, then no Pod.
    const web2Pid = await c.podPid(2, web2);
    const marked = await pods.delete('web-2', { namespace: 'default' });
    assert.ok(marked?.metadata.deletionTimestamp);
    await until('web-2 gone', async () => (await pods.tryGet('web-2', 'default')) === undefined, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    assert.equal(await alive(web2Pid), false);
    assert.ok(await netnsGone(kernel, c.podNs('web-2')));
    // The same name at once: same namespace and veth names, while the kernel may still be
    // removing the old ones.
    await pods.create(pod('web-2', nodes[1].name, 'kdp/http', [{ containerPort: 8080 }]));
    const web2again = await ready('web-2');
    assert.notEqual(web2again.metadata.uid, web2.metadata.uid);
    assert.equal(await httpGet(kernel, client1, web2again.status!.podIP!), 'web-2\n');

    // kill -9 of node 1's agent: its pods keep running; a new agent adopts them and adds new ones.
    const agent1 = c.agents.get(1)!;
    agent1.child.kill('SIGKILL');
    await agent1.exited;
    assert.equal(
      await httpGet(kernel, client1, web1.status!.podIP!),
      'web-1\n',
      'traffic does not depend on the agent',
    );
    c.startAgent(1);
    await pods.create(pod('web-3', nodes[0].name, 'kdp/http', [{ containerPort: 8080 }]));
    const web3 = await ready('web-3');
    const web1Now = await pods.get('web-1', 'default');
    assert.equal(web1Now.status?.podIP, web1.status?.podIP);
    assert.equal(await c.podPid(1, web1Now), web1Pid);
    assert.ok(await alive(web1Pid));
    assert.equal(await httpGet(kernel, client1, web1.status!.podIP!), 'web-1\n');
    assert.equal(await httpGet(kernel, c.podNs('echo-2'), web3.status!.podIP!), 'web-3\n');
    assert.notEqual(web3.status?.podIP, web1.status?.podIP);

    // SIGTERM stops an agent with exit 0 and leaves its pods alone.
    const agent2 = c.agents.get(2)!;
    agent2.child.kill('SIGTERM');
    assert.equal(await agent2.exited, 0);
    assert.equal(await tcpEcho(kernel, client1, echo2.status!.podIP!, 7, 'still'), 'still');
  });
  assert.deepEqual(await titledProcesses(cluster), [], 'a process of the test cluster was left behind');
});
