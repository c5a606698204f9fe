/**
 * After a kill -9 of a process that attached programs: its links are gone with it (bpf_link fds
 * die with the process), and `kdp cleanup` (cleanup({ cluster })) removes the cluster's cgroup
 * subtree, the process's own cgroup included; nothing of the test is left, the host is unchanged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cleanup } from '../../../dataplane/cluster/cleanup.ts';
import { cgroupProcs, createCgroup, kdpCgroupPath } from '../../../dataplane/ebpf/cgroup.ts';
import { KDP_CGROUP_ROOT } from '../../../dataplane/ebpf/guard.ts';
import { diffSnapshots, snapshotRoot, type RootSnapshot } from '../helpers/root-snapshot.ts';
import { CLUSTER, createTestbed, hostBpf, linkExists, NS_B, removeTestbed } from './testbed.ts';

const isRoot = process.getuid?.() === 0;
let rootBefore: RootSnapshot;
let hostBefore: string;

before(async () => {
  if (!isRoot) return;
  rootBefore = await snapshotRoot();
  hostBefore = await hostBpf();
  createTestbed();
});

after(async () => {
  if (!isRoot) return;
  removeTestbed();
  assert.equal(await hostBpf(), hostBefore, 'no BPF program on the host namespace or root cgroup');
  assert.deepEqual(diffSnapshots(rootBefore, await snapshotRoot()), [], 'the host root namespace changed');
});

test(
  'kill -9 leaves no links; kdp cleanup removes the cluster cgroups',
  { skip: !isRoot && 'needs root' },
  async () => {
    const kdpRootBefore = existsSync(KDP_CGROUP_ROOT);
    const cg = createCgroup(CLUSTER, 'node-1', 'pod-1');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('killed-child.ts', import.meta.url).pathname, NS_B, cg],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`child exited ${code} before attaching`)));
    });
    const { links } = JSON.parse(line) as { links: number[] };
    for (const id of links) assert.ok(await linkExists(id), `link ${id} is attached while the child lives`);
    assert.deepEqual(cgroupProcs(cg), [child.pid]);

    child.kill('SIGKILL');
    await exited;
    for (const id of links) {
      // The kernel releases the links when the dead process's fds are closed, right at exit.
      assert.equal(await linkExists(id), false, `link ${id} went with the process`);
    }
    assert.ok(existsSync(cg), 'the cgroup itself outlives the process');

    const report = await cleanup({ cluster: CLUSTER });
    assert.deepEqual(
      report.cgroups.sort(),
      [cg, kdpCgroupPath(CLUSTER, 'node-1'), kdpCgroupPath(CLUSTER)].sort(),
    );
    assert.equal(existsSync(kdpCgroupPath(CLUSTER)), false);
    if (!kdpRootBefore) assert.equal(existsSync(KDP_CGROUP_ROOT), false, 'no empty kdp cgroup is left');
    assert.deepEqual((await cleanup({ cluster: CLUSTER })).cgroups, [], 'a second cleanup finds nothing');
  },
);
