/**
 * `kdp bpf attach` on a running cluster (root): attaches the pod counter at a pod's eth0 egress,
 * holds it while the pod pings its gateway, prints the map on Ctrl-C (SIGINT) and detaches; the
 * link is gone with the command. `kdp bpf inspect` lists an object without root. Cluster removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BPF_OBJECT_DIR } from '../../../dataplane/ebpf/native.ts';
import { KDP_BIN, kdp, uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';
import { linkExists } from './testbed.ts';

const COUNTER = join(BPF_OBJECT_DIR, 'pod_counter.bpf.o');

test('kdp bpf inspect lists programs and maps with their BTF types', async () => {
  const r = await kdp(['bpf', 'inspect', COUNTER]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^program count_pod \(section tc\)$/m);
  assert.match(r.stdout, /^map pod_stats type 5 key 4 B value 16 B max 1024 key __u32 value pod_stats$/m);
});

test(
  "kdp bpf attach counts a pod's packets until interrupted, then detaches",
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async (t) => {
    const cluster = uniqueCluster();
    await withRootUnchanged(t, cluster, async () => {
      try {
        const up = await kdp(['up', '--name', cluster, '--nodes', '1', '--pods-per-node', '1']);
        assert.equal(up.code, 0, up.stderr);
        const route = await kdp([
          'exec',
          '--name',
          cluster,
          'pod-1-1',
          '--',
          'ip',
          '-4',
          'route',
          'show',
          'default',
        ]);
        const gateway = /via (\S+)/.exec(route.stdout)?.[1];
        assert.ok(gateway, route.stdout + route.stderr);
        const addr = await kdp([
          'exec',
          '--name',
          cluster,
          'pod-1-1',
          '--',
          'ip',
          '-4',
          '-o',
          'addr',
          'show',
          'dev',
          'eth0',
        ]);
        const podIP = /inet (\d+\.\d+\.\d+\.\d+)/.exec(addr.stdout)?.[1];
        assert.ok(podIP, addr.stdout);

        const child = spawn(
          KDP_BIN,
          [
            'bpf',
            'attach',
            '--name',
            cluster,
            '--pod',
            'pod-1-1',
            '--tc',
            'egress',
            `${COUNTER}:count_pod`,
            '--maps',
          ],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        const lines: string[] = [];
        const rl = createInterface({ input: child.stdout });
        const attached = new Promise<string>((resolve, reject) => {
          rl.on('line', (l) => {
            lines.push(l);
            if (l.startsWith('attached')) resolve(l);
          });
          child.once('exit', () => reject(new Error(`kdp bpf attach exited: ${stderr}`)));
        });
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        const line = await attached;
        assert.match(
          line,
          /^attached tcx egress kdp-\S+-pod-default\.pod-1-1:eth0 count_pod \(link (\d+)\)$/,
        );
        const linkId = Number(/\(link (\d+)\)/.exec(line)![1]);
        assert.ok(await linkExists(linkId));

        const ping = await kdp([
          'exec',
          '--name',
          cluster,
          'pod-1-1',
          '--',
          'ping',
          '-n',
          '-q',
          '-c',
          '7',
          '-i',
          '0.05',
          gateway,
        ]);
        assert.equal(ping.code, 0, ping.stdout + ping.stderr);
        child.kill('SIGINT');
        assert.equal(await exited, 0, stderr);
        assert.equal(lines.at(-1), 'detached');
        assert.equal(await linkExists(linkId), false, 'the link went with the command');
        // The entry for the pod's address: its key is the address in network order.
        const keyHex = Buffer.from(podIP.split('.').map(Number)).toString('hex');
        const entry = lines.find((l) => l.trim().startsWith(`${keyHex} -> `));
        assert.ok(entry, lines.join('\n'));
        const packets = entry
          .split(' -> ')[1]
          .split(' | ')
          .reduce((sum, hex) => sum + Buffer.from(hex, 'hex').readBigUInt64LE(0), 0n);
        assert.ok(packets >= 7n, `at least the 7 echo requests were counted (${packets})`);
      } finally {
        await kdp(['down', '--name', cluster]);
      }
    });
  },
);
