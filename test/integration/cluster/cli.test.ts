/**
 * The lifecycle through bin/kdp, as a user runs it: `kdp up` (detached supervisor) then status,
 * kubeconfig with the real kubectl, apply -f, get, exec (exit status passed through), delete,
 * a second `up` refused, `kdp down`; and a cluster whose supervisor and agents are killed with
 * SIGKILL, which `kdp cleanup` removes completely. The root namespace is unchanged after each.
 * Run as root: node --import tsx --test test/integration/cluster/cli.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { processTitle } from '../../../dataplane/cluster/cleanup-processes.ts';
import type { StatusView } from '../../../dataplane/cli/commands/status.ts';
import {
  WEB_MANIFEST,
  assertNothingLeft,
  kdp,
  leftovers,
  uniqueCluster,
  withRootUnchanged,
} from './helpers.ts';

const run = promisify(execFile);

test('kdp up, status, kubeconfig, apply, get, exec, delete, down', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    const up = await kdp(['up', '--name', cluster, '--nodes', '2', '--pods-per-node', '1']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`kubeconfig: /run/kdp/${cluster}/kubeconfig`));
    assert.match(up.stderr, /is ready: 2 nodes, 2 pods/);
    try {
      const status = await kdp(['status', '--name', cluster, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout) as StatusView;
      // The topology's two pods and the two cluster DNS pods (kube-system/coredns).
      assert.deepEqual(s.summary, { nodes: 2, nodesReady: 2, pods: 4, podsReady: 4 });
      assert.deepEqual(
        s.nodes.map((n) => [n.name, n.agent?.state, n.internalIP]),
        [
          ['node-1', 'running', '198.18.0.1'],
          ['node-2', 'running', '198.18.0.2'],
        ],
      );
      assert.ok(s.supervisor?.pid);

      const kc = await kdp(['kubeconfig', '--name', cluster]);
      assert.equal(kc.stdout.trim(), `/run/kdp/${cluster}/kubeconfig`);
      const kubectl = await run('kubectl', ['--kubeconfig', kc.stdout.trim(), 'get', 'pods', '-o', 'name']);
      assert.deepEqual(kubectl.stdout.trim().split('\n'), ['pod/pod-1-1', 'pod/pod-2-1']);

      const apply = await kdp(['apply', '--name', cluster, '-f', '-'], { input: WEB_MANIFEST });
      assert.equal(apply.code, 0, apply.stderr);
      assert.deepEqual(apply.stdout.trim().split('\n'), ['service/web created', 'pod/web-a created']);
      const again = await kdp(['apply', '--name', cluster, '-f', '-'], { input: WEB_MANIFEST });
      assert.deepEqual(again.stdout.trim().split('\n'), ['service/web unchanged', 'pod/web-a unchanged']);

      const get = await kdp(['get', '--name', cluster, 'pods', 'web-a', '-o', 'json']);
      assert.equal(JSON.parse(get.stdout).spec.nodeName, 'node-2');
      const table = await kdp(['get', '--name', cluster, 'svc']);
      assert.match(table.stdout, /^NAME\s+TYPE\s+CLUSTER-IP/);
      assert.match(table.stdout, /\nweb\s+ClusterIP\s+10\.96\./);

      // exec: the command runs in the pod's namespace and its status comes back.
      const ip = await kdp([
        'exec',
        '--name',
        cluster,
        'pod-1-1',
        '--',
        'ip',
        '-o',
        '-4',
        'addr',
        'show',
        'eth0',
      ]);
      assert.equal(ip.code, 0, ip.stderr);
      assert.match(ip.stdout, /inet 10\.244\.\d+\.\d+\/24/);
      const fails = await kdp(['exec', '--name', cluster, 'pod-1-1', '--', 'sh', '-c', 'exit 7']);
      assert.equal(fails.code, 7);

      const del = await kdp(['delete', '--name', cluster, 'pod', 'web-a']);
      assert.equal(del.code, 0, del.stderr);
      assert.equal(del.stdout.trim(), 'pod "web-a" deleted');

      const second = await kdp(['up', '--name', cluster]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /already running/);
    } finally {
      const down = await kdp(['down', '--name', cluster]);
      assert.equal(down.code, 0, down.stderr);
    }
    assertNothingLeft(cluster);
    const after = await kdp(['status', '--name', cluster]);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /is not running/);
  });
});

test('after kill -9 of the supervisor and the agents, kdp cleanup leaves nothing', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    const up = await kdp(['up', '--name', cluster, '--nodes', '2', '--pods-per-node', '2']);
    assert.equal(up.code, 0, up.stderr);
    const titled = (role: string) =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map(Number)
        .filter((pid) => processTitle(pid)?.startsWith(`kdp:${cluster}:${role}`));
    const killed = [...titled('supervisor'), ...titled('agent')];
    assert.equal(killed.length, 3, 'one supervisor and two agents');
    for (const pid of killed) process.kill(pid, 'SIGKILL');
    assert.ok(titled('pod').length >= 4, 'pod servers outlive their agents');
    assert.notDeepEqual(leftovers(cluster).namespaces, []);

    const status = await kdp(['status', '--name', cluster]);
    assert.equal(status.code, 1);

    const cleanup = await kdp(['cleanup', '--name', cluster, '--json']);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    const report = JSON.parse(cleanup.stdout) as { namespaces: string[]; processes: unknown[] };
    assert.equal(report.namespaces.length, 9); // fabric, 2 nodes, 4 pods, 2 cluster DNS pods
    assertNothingLeft(cluster);
  });
});

test('bad usage exits 2 naming the flag', async () => {
  const r = await kdp(['up', '--nodes', 'many']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--nodes: must be an integer/);
  const name = await kdp(['status', '--name', 'Not_A_Label']);
  assert.equal(name.code, 2);
  assert.match(name.stderr, /--name "Not_A_Label"/);
  const unknown = await kdp(['down', '--force']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--force'/);
});
