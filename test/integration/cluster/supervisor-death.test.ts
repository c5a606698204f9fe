/**
 * The supervisor of a `kdp up` cluster killed with SIGKILL: its agents notice within seconds
 * (--supervisor-pid) and exit as on SIGTERM, the data plane keeps forwarding (every one of N
 * ClusterIP requests across nodes is answered, before and after), and `kdp down` still ends the
 * cluster, leaving no namespace, process, /run/kdp/<cluster> or cgroup behind; the root namespace
 * is unchanged. Run as root: node scripts/run-tests.mjs integration supervisor-death
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { processTitle } from '../../../dataplane/cluster/cleanup-processes.ts';
import { podNamespace } from '../../../dataplane/cluster/topology-names.ts';
import { errorsOf, inNamespace, requests } from '../proxy/helpers.ts';
import { WEB_MANIFEST, assertNothingLeft, kdp, uniqueCluster, withRootUnchanged } from './helpers.ts';
import { until } from '../../helpers/until.ts';

const N = 200;

function titled(cluster: string, role: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => processTitle(pid)?.startsWith(`kdp:${cluster}:${role}`));
}

test('supervisor kill -9: agents exit, the data plane keeps forwarding, kdp down removes all', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    const up = await kdp(['up', '--name', cluster, '--nodes', '2', '--pods-per-node', '1']);
    assert.equal(up.code, 0, up.stderr);
    const apply = await kdp(['apply', '--name', cluster, '-f', '-'], { input: WEB_MANIFEST });
    assert.equal(apply.code, 0, apply.stderr);
    const svc = JSON.parse((await kdp(['get', '--name', cluster, 'svc', 'web', '-o', 'json'])).stdout) as {
      spec: { clusterIP: string };
    };
    // From a pod on node-1 to the Service's only backend on node-2.
    const client = inNamespace(podNamespace(cluster, 'default', 'pod-1-1'));
    const ask = () =>
      requests(client, 'http', { ip: svc.spec.clusterIP, port: 80, count: N, waitFirstMs: 30_000 });

    const before = await ask();
    assert.deepEqual(errorsOf(before), [], 'every request answered with the supervisor up');
    const [supervisor] = titled(cluster, 'supervisor');
    assert.ok(supervisor, 'the supervisor runs');
    assert.equal(titled(cluster, 'agent').length, 2);
    const killedAt = Date.now();
    process.kill(supervisor, 'SIGKILL');

    const agentsGoneAfter = await until(
      'the agents to notice and exit',
      () => (titled(cluster, 'agent').length === 0 ? Date.now() : undefined),
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    const after = await ask();
    const answered = after.filter((a) => a.body).length;
    t.diagnostic(
      `agents exited ${agentsGoneAfter - killedAt} ms after the kill; answered before: ` +
        `${before.length - errorsOf(before).length}/${N}, after: ${answered}/${N}`,
    );
    assert.deepEqual(errorsOf(after), [], 'every request answered after the supervisor and agents are gone');
    assert.equal(answered, N);

    const down = await kdp(['down', '--name', cluster, '--json']);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(JSON.parse(down.stdout).supervisorGone, true);
    assertNothingLeft(cluster);
    const cgroups = execFileSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-name', `*${cluster}*`], {
      encoding: 'utf8',
    });
    assert.equal(cgroups.trim(), '', 'no cgroup of the cluster is left');
  });
});
