/**
 * `kdp cleanup` on leftovers made by hand as a killed cluster would leave them: namespaces, a
 * titled "agent" inside a node namespace, a host program without a title inside a pod namespace,
 * a titled "supervisor" in the root namespace, a process named only by a pid file, a stale pid
 * file whose pid now belongs to a younger process, and a neighbouring cluster whose name extends
 * this one's. Cleanup removes exactly this cluster's things and the root namespace is unchanged.
 * Run as root: node --import tsx --test test/integration/cluster/cleanup.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isGone } from '../../../dataplane/cluster/cleanup-processes.ts';
import { createIproute2Kernel } from '../../../dataplane/kernel/iproute2/kernel.ts';
import { netnsPath } from '../../../dataplane/kernel/name-checks.ts';
import {
  clusterPrefix,
  fabricNamespace,
  nodeNamespace,
  podNamespace,
  stateDir,
} from '../../../dataplane/cluster/topology-names.ts';
import { kdp, leftovers, uniqueCluster, withRootUnchanged } from './helpers.ts';
import { until } from '../../helpers/until.ts';

const children: ChildProcess[] = [];

function start(argv: string[], netns?: string): number {
  const full = netns ? ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv] : argv;
  const child = spawn(full[0], full.slice(1), { detached: true, stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

const titled = (title: string) => [
  process.execPath,
  '-e',
  `process.title = ${JSON.stringify(title)}; setInterval(() => {}, 1e6)`,
];

async function waitForTitle(pid: number, title: string) {
  const { processTitle } = await import('../../../dataplane/cluster/cleanup-processes.ts');
  await until(`process ${pid} to take the title ${title}`, () => processTitle(pid) === title);
}

test('kdp cleanup removes a killed cluster by name and nothing else', async (t) => {
  const cluster = uniqueCluster();
  const neighbour = `${cluster}-x`;
  await withRootUnchanged(t, cluster, async () => {
    const kernel = createIproute2Kernel({ prefix: clusterPrefix(cluster) });
    const pod = podNamespace(cluster, 'default', 'web-1');
    const ours = [fabricNamespace(cluster), nodeNamespace(cluster, 1), pod];
    for (const ns of [...ours, fabricNamespace(neighbour)]) await kernel.netns.create(ns);
    const dir = stateDir(cluster);
    const neighbourDir = stateDir(neighbour);
    mkdirSync(join(dir, 'nodes', 'node-1', 'pods', 'u1'), { recursive: true });
    mkdirSync(neighbourDir, { recursive: true });

    try {
      const agent = start(titled(`kdp:${cluster}:agent:node-1`), nodeNamespace(cluster, 1));
      const hostProgram = start(['sleep', '600'], pod);
      const supervisor = start(titled(`kdp:${cluster}:supervisor`));
      const byPidFile = start(['sleep', '601']);
      writeFileSync(join(dir, 'nodes', 'node-1', 'pods', 'u1', 'c.pid'), `${byPidFile}\n`);
      // A stale pid file: written long before its pid's current process started.
      const stalePath = join(dir, 'nodes', 'node-1', 'stale.pid');
      const innocent = start(['sleep', '602']);
      writeFileSync(stalePath, `${innocent}\n`);
      const past = new Date(Date.now() - 3_600_000);
      utimesSync(stalePath, past, past);
      const neighbourAgent = start(titled(`kdp:${neighbour}:agent:node-1`), fabricNamespace(neighbour));
      await waitForTitle(agent, `kdp:${cluster}:agent:node-1`);
      await waitForTitle(supervisor, `kdp:${cluster}:supervisor`);
      await waitForTitle(neighbourAgent, `kdp:${neighbour}:agent:node-1`);

      const r = await kdp(['cleanup', '--name', cluster, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as {
        namespaces: string[];
        processes: { pid: number; reason: string }[];
        stateDirs: string[];
      };
      assert.deepEqual(report.namespaces.sort(), [...ours].sort());
      assert.deepEqual(
        report.processes.map((p) => [p.pid, p.reason]).sort((a, b) => Number(a[0]) - Number(b[0])),
        [
          [agent, 'title'],
          [hostProgram, 'netns'],
          [supervisor, 'title'],
          [byPidFile, 'pidfile'],
        ].sort((a, b) => Number(a[0]) - Number(b[0])),
      );
      assert.deepEqual(report.stateDirs, [dir]);
      for (const pid of [agent, hostProgram, supervisor, byPidFile])
        assert.ok(isGone(pid), `${pid} still runs`);
      assert.ok(!isGone(innocent), 'a process named by a stale pid file was killed');
      assert.ok(!isGone(neighbourAgent), "the neighbour cluster's agent was killed");
      assert.deepEqual(leftovers(cluster), { namespaces: [], processes: [], stateDir: false });
      assert.deepEqual(leftovers(neighbour).namespaces, [fabricNamespace(neighbour)]);

      // A second run finds nothing.
      const again = await kdp(['cleanup', '--name', cluster]);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /nothing to clean up/);
    } finally {
      for (const c of children) c.kill('SIGKILL');
      const n = await kdp(['cleanup', '--name', neighbour]);
      assert.equal(n.code, 0, n.stderr);
      assert.deepEqual(leftovers(neighbour), { namespaces: [], processes: [], stateDir: false });
    }
  });
});
