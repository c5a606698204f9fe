// The kubelet side of securityContext, with the fake runner: what a container is started with
// (its privileges, its own directory, what is covered and shown of the host), a built-in that is
// shown its bundle, a container its securityContext forbids waiting with the kubelet's reason and
// never started, and the pod namespace's unprivileged port sysctl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Pod } from '../../../dataplane/api/types.ts';
import { podNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { agentWorld, CLUSTER, isReady, podObject } from './fixture.ts';
import { until } from '../../helpers/until.ts';

test('containers start with their privileges and their own directory; kdp state is covered', async () => {
  const w = await agentWorld();
  try {
    await w.startAgent(1);
    const pods = w.client.resource<Pod>('pods');
    const node = w.nodes[0].name;
    await pods.create(
      podObject(
        'tool',
        node,
        [{ image: 'busybox', command: ['sleep', '9'], securityContext: { runAsUser: 1000 } }],
        {
          securityContext: { runAsGroup: 2000 },
        },
      ),
    );
    await pods.create(podObject('web', node, [{ image: 'kdp/http' }]));
    const [tool, web] = await Promise.all(
      ['tool', 'web'].map((n) =>
        until(`${n} Ready`, async () => {
          const p = await pods.get(n, 'default');
          return isReady(p) && p;
        }),
      ),
    );
    const [toolProc] = w.runner.in(podNamespace(CLUSTER, 'default', 'tool'));
    const iso = toolProc.opts.isolation;
    assert.deepEqual([iso.privileges.uid, iso.privileges.gid, iso.privileges.capabilities], [1000, 2000, []]);
    assert.equal(iso.containerDir, join(w.stateDir(1), 'containers', tool.metadata.uid!, 'c0'));
    assert.equal(toolProc.opts.env.HOME, iso.containerDir);
    assert.equal(iso.workloadsDir, undefined, 'a host program is shown no bundle');
    assert.deepEqual(iso.hidden, ['/run/kdp', '/run/netns', w.stateDir(1)]);

    const [webProc] = w.runner.in(podNamespace(CLUSTER, 'default', 'web'));
    assert.equal(webProc.opts.isolation.privileges.uid, 65534);
    assert.equal(webProc.opts.isolation.workloadsDir, join(w.stateDir(1), 'workloads'));
    assert.equal(web.status?.phase, 'Running');

    const ns = podNamespace(CLUSTER, 'default', 'web');
    assert.equal(await w.kernel.sysctl.get(ns, 'net.ipv4.ip_unprivileged_port_start'), '0');
  } finally {
    await w.close();
  }
});

test('runAsNonRoot with runAsUser 0 waits with CreateContainerConfigError and never runs', async () => {
  const w = await agentWorld();
  try {
    await w.startAgent(1);
    const pods = w.client.resource<Pod>('pods');
    await pods.create(
      podObject(
        'root',
        w.nodes[0].name,
        [{ image: 'busybox', command: ['id'], securityContext: { runAsUser: 0 } }],
        {
          securityContext: { runAsNonRoot: true },
        },
      ),
    );
    const p = await until('root reported', async () => {
      const pod = await pods.get('root', 'default');
      return pod.status?.containerStatuses && pod;
    });
    const state = (
      p.status!.containerStatuses as { state: { waiting?: { reason: string; message: string } } }[]
    )[0].state;
    assert.equal(state.waiting?.reason, 'CreateContainerConfigError');
    assert.equal(
      state.waiting?.message,
      `container's runAsUser breaks non-root policy (pod: "root_default(${p.metadata.uid})", container: c0)`,
    );
    assert.equal(p.status?.phase, 'Pending');
    assert.equal(w.runner.in(podNamespace(CLUSTER, 'default', 'root')).length, 0);
  } finally {
    await w.close();
  }
});
