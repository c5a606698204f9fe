/**
 * `kdp run scenarios/bpf-pod-counter.ts`: the per-pod counter, attached through the scenario API
 * (cluster.bpf) at tc egress of a pod's eth0, counts exactly the N packets the pod sent, read from
 * TypeScript; the cluster, its links and its cgroups are gone afterwards, the host unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { kdpCgroupPath } from '../../../dataplane/ebpf/cgroup.ts';
import { kdp, uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';
import { hostBpf } from './testbed.ts';

const SCENARIO = fileURLToPath(new URL('../../../scenarios/bpf-pod-counter.ts', import.meta.url));

test(
  'the pod counter counts exactly the packets the pod sent',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async (t) => {
    const cluster = uniqueCluster();
    const hostBefore = await hostBpf();
    await withRootUnchanged(t, cluster, async () => {
      const r = await kdp(['run', SCENARIO, '--name', cluster, '--packets', '37']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^attached tcx egress kdp-\S+-pod-default\.counted:eth0 count_pod$/m);
      const m = /^pod counted \((10\.244\.\d+\.\d+)\) sent (\d+) IPv4 packets, (\d+) bytes/m.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.equal(Number(m[2]), 37, 'exactly the echo requests the pod sent');
      assert.equal(Number(m[3]), 37 * 98, 'each a 98-byte frame (14 Ethernet + 20 IPv4 + 8 ICMP + 56 data)');
    });
    assert.equal(existsSync(kdpCgroupPath(cluster)), false);
    assert.equal(await hostBpf(), hostBefore, 'no BPF program on the host namespace or root cgroup');
  },
);
