/**
 * Every overlay backend this build has carries the same traffic: for each of host-gw,
 * vxlan, udp (batched and baseline engines) and udp-ts that is registered, a 3-node cluster of its
 * own where pods on different nodes exchange a 20 MB TCP stream (checksummed both ways through
 * kdp/echo), UDP datagrams, pings, MTU-sized pings with DF (one byte more fails locally with
 * "message too long"), fragmented pings; a node is added and one removed while traffic runs (the
 * others keep talking; with host-gw and vxlan the routes come and go), and a killed agent is
 * restarted: with host-gw and vxlan without cutting traffic (UDP echoes every 50 ms throughout, at
 * most 2 lost), with udp's TUN engines traffic resumes.
 * Run as root: node --import tsx --test test/integration/overlay/backends.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, Pod } from '../../../dataplane/api/types.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import type { OverlayBackend } from '../../../dataplane/cluster/topology.ts';
import { createIproute2Kernel } from '../../../dataplane/kernel/iproute2/kernel.ts';
import { overlayBackendNames } from '../../../dataplane/overlay/backends/registry.ts';
import { flannelBackendType, LEASE_ANNOTATIONS } from '../../../dataplane/overlay/leases.ts';
import { uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';

const CASES: { overlay: OverlayBackend; engine?: string }[] = [
  { overlay: 'host-gw' },
  { overlay: 'vxlan' },
  { overlay: 'udp' },
  { overlay: 'udp', engine: 'baseline' },
  { overlay: 'udp-ts' },
];

const TCP_CHECK = `
const [ip, size] = [process.argv[1], Number(process.argv[2])];
const { createHash, randomBytes } = require('node:crypto');
const data = randomBytes(size);
const sent = createHash('sha256').update(data).digest('hex');
const got = createHash('sha256');
let n = 0;
const s = require('node:net').connect(7, ip, () => s.end(data));
s.on('data', (d) => { got.update(d); n += d.length; });
s.on('end', () => { console.log(JSON.stringify({ n, same: got.digest('hex') === sent })); });
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

const UDP_CHECK = `
const ip = process.argv[1];
const s = require('node:dgram').createSocket('udp4');
let left = 20;
s.on('message', (m) => { if (m.toString() === 'kdp') left--; if (left === 0) { console.log('ok'); process.exit(0); } });
for (let i = 0; i < 20; i++) s.send('kdp', 7, ip);
setTimeout(() => { console.error('replies missing: ' + left); process.exit(1); }, 5000);
`;

/** UDP echoes every 50 ms until the file `stop` appears (`stop`.started once one came back); then {sent, got}. */
const UDP_STEADY = `
const [ip, stop] = process.argv.slice(1);
const fs = require('node:fs');
const s = require('node:dgram').createSocket('udp4');
let sent = 0, got = 0;
s.on('message', () => got++ || fs.writeFileSync(stop + '.started', ''));
const t = setInterval(() => {
  if (fs.existsSync(stop)) {
    clearInterval(t);
    setTimeout(() => { console.log(JSON.stringify({ sent, got })); process.exit(0); }, 1000);
    return;
  }
  s.send('kdp', 7, ip);
  sent++;
}, 50);
`;

/** Backends whose per-peer state is kernel routes in the node namespace (udp keeps it in its engine). */
const ROUTED: readonly string[] = ['host-gw', 'vxlan'];

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const { overlay, engine } of CASES) {
  const label = engine ? `${overlay} (${engine} engine)` : overlay;
  const skip = !overlayBackendNames().includes(overlay) && `${overlay} is not registered in this build`;
  test(`pods talk across nodes over ${label}`, { skip }, async (t) => {
    const cluster = uniqueCluster();
    await withRootUnchanged(t, cluster, async () => {
      await using c = await Cluster.create(
        { cluster, nodes: 3, podsPerNode: 0, overlay, ...(engine ? { overlayEngine: engine } : {}) },
        { handleSignals: false },
      );
      const kernel = createIproute2Kernel({ prefix: clusterPrefix(cluster) });
      const pods = await Promise.all(
        [1, 2, 3].map((i) => c.addPod(`echo-${i}`, { node: `node-${i}`, image: 'kdp/echo' })),
      );
      const [ip1, ip2, ip3] = pods.map((p: Pod) => p.status!.podIP!);
      const run = (pod: string, argv: string[], timeoutMs = 60_000) => c.exec(pod, argv, { timeoutMs });
      const ok = async (pod: string, argv: string[]) => {
        const r = await run(pod, argv);
        assert.equal(r.code, 0, `${argv.join(' ')} in ${pod}: ${r.stdout}${r.stderr}`);
        return r.stdout;
      };

      // Every agent published its lease as flanneld does.
      for (const n of (await c.client.resource<Node>('nodes').list()).items) {
        const a = n.metadata.annotations ?? {};
        assert.equal(a[LEASE_ANNOTATIONS.backendType], flannelBackendType(overlay), n.metadata.name);
        assert.equal(a[LEASE_ANNOTATIONS.kubeSubnetManager], 'true');
        assert.doesNotThrow(() => JSON.parse(a[LEASE_ANNOTATIONS.backendData]!));
      }
      const env = await readFile(join(c.stateDir, 'nodes', 'node-1', 'subnet.env'), 'utf8');
      const mtu = Number(/^FLANNEL_MTU=(\d+)$/m.exec(env)?.[1]);
      assert.match(env, /^FLANNEL_NETWORK=10\.244\.0\.0\/16$/m);
      assert.ok(mtu >= 1400 && mtu <= 1500, env);

      const tcp = JSON.parse(await ok('echo-1', [process.execPath, '-e', TCP_CHECK, ip2, String(20 << 20)]));
      assert.deepEqual(tcp, { n: 20 << 20, same: true }, '20 MB there and back, unchanged');
      assert.equal((await ok('echo-3', [process.execPath, '-e', UDP_CHECK, ip1])).trim(), 'ok');
      await ok('echo-2', ['ping', '-c', '3', '-i', '0.2', '-W', '2', ip3]);
      await ok('echo-1', ['ping', '-c', '2', '-W', '2', '-M', 'do', '-s', String(mtu - 28), ip2]);
      const big = await run('echo-1', [
        'ping',
        '-c',
        '1',
        '-W',
        '2',
        '-M',
        'do',
        '-s',
        String(mtu - 27),
        ip2,
      ]);
      assert.notEqual(big.code, 0);
      assert.match(big.stdout + big.stderr, /message too long|frag needed/i);
      await ok('echo-1', ['ping', '-c', '2', '-W', '2', '-s', '4000', ip3]);

      // Traffic between node-1 and node-2 runs while a node joins, one leaves and an agent restarts.
      const dir = await mkdtemp(join(tmpdir(), 'kdp-overlay-'));
      const steady = async (phase: string, body: () => Promise<void>) => {
        const stop = join(dir, phase);
        const traffic = ok('echo-1', [process.execPath, '-e', UDP_STEADY, ip2, stop]);
        await until(`${phase}: traffic to flow`, async () => existsSync(`${stop}.started`));
        await body();
        await writeFile(stop, '');
        const { sent, got } = JSON.parse(await traffic) as { sent: number; got: number };
        assert.ok(sent > 0 && got >= sent - 2, `${phase}: ${got} of ${sent} echoes came back`);
      };
      const routeTo = async (cidr: string) =>
        (await kernel.routes.list(c.nodes[0].netns)).some((r) => r.dst === cidr);
      await steady('membership', async () => {
        const n4 = await c.addNode();
        if (ROUTED.includes(overlay)) await until(`node-1 to route to ${n4.name}`, () => routeTo(n4.podCidr));
        const p4 = await c.addPod('echo-4', { node: n4.name, image: 'kdp/echo' });
        const ping4 = ['ping', '-c', '1', '-W', '1', p4.status!.podIP!];
        await until('echo-1 to reach echo-4', async () => (await run('echo-1', ping4)).code === 0);
        const n3 = c.nodes.find((n) => n.name === 'node-3')!;
        await c.removeNode('node-3');
        if (ROUTED.includes(overlay))
          await until('node-1 to drop its route to node-3', async () => !(await routeTo(n3.podCidr)));
      });
      // Kernel backends' state outlives the agent: traffic never stops. A userspace engine's TUN
      // goes with its process, as flannel's does: traffic resumes once the agent is back.
      const restart = async () => {
        const before = c.agent('node-2');
        assert.equal(before.state, 'running', JSON.stringify(before));
        process.kill(before.pid!, 'SIGKILL');
        await until('node-2 agent restarted', async () => {
          const a = c.agent('node-2');
          return a.state === 'running' && a.restarts > before.restarts;
        });
      };
      if (ROUTED.includes(overlay)) await steady('agent restart', restart);
      else {
        await restart();
        const udp = [process.execPath, '-e', UDP_CHECK, ip2];
        await until('traffic to resume', async () => (await run('echo-1', udp)).code === 0, 30_000);
      }
      await rm(dir, { recursive: true, force: true });
      const again = JSON.parse(await ok('echo-2', [process.execPath, '-e', TCP_CHECK, ip1, String(1 << 20)]));
      assert.deepEqual(again, { n: 1 << 20, same: true });
    });
  });
}
