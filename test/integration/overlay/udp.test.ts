/**
 * The udp overlay on a real 3-node cluster, once with the native engine ('udp') and once with the
 * TypeScript one ('udp-ts'): pods reach each other across nodes (MTU-sized with DF too), the
 * engine's counters on the agents' metrics endpoint move with traffic, a destination no node owns
 * gets ICMP net unreachable and an expiring TTL time exceeded (as ping shows them), a datagram to
 * a node's port 8285 from an address that is no node's is dropped and counted, and an agent killed
 * with SIGKILL comes back with a fresh flannel0 and traffic resumes. 'udp' is skipped, saying why,
 * while the native addon has no engine built. Run as root:
 * node --import tsx --test test/integration/overlay/udp.test.ts
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { loadOverlayAddon } from '../../../dataplane/overlay/backends/udp/native-binding.ts';
import { httpFrom, uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';
import { withIsolatedKernel } from '../kernel/isolated.ts';
import { buildPacket, icmpPayload } from '../../unit/overlay/udp/packets.ts';
import { until } from '../../helpers/until.ts';

const run = promisify(execFile);

function nativeEngineMissing(): string | false {
  try {
    if (typeof loadOverlayAddon().createEngine === 'function') return false;
    return 'the native addon has no createEngine yet (H1 in progress): udp-ts covers the backend';
  } catch (e) {
    return `the native addon is not built (${(e as Error).message})`;
  }
}

const FETCH_METRICS = `fetch('http://127.0.0.1:10249/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;

/** The overlay counters a node's agent publishes, as 'packets.udp_tx', 'drops.unknown-peer', ... */
async function counters(netns: string): Promise<Record<string, number>> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, process.execPath, '-e', FETCH_METRICS]);
  const out: Record<string, number> = {};
  const line = /^kdp_overlay_(packets|bytes|drops)_total\{[^}]*(?:direction|reason)="([^"]+)"[^}]*\} (\d+)$/;
  for (const l of stdout.split('\n')) {
    const m = line.exec(l);
    if (m) out[`${m[1]}.${m[2]}`] = Number(m[3]);
  }
  return out;
}

const delta = (before: Record<string, number>, after: Record<string, number>, key: string) =>
  (after[key] ?? 0) - (before[key] ?? 0);

/** Sends `count` copies of a datagram from inside `netns`. */
const SEND_DATAGRAMS = `
const [ip, port, hex, count] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
let sent = 0;
for (let i = 0; i < Number(count); i++) s.send(Buffer.from(hex, 'hex'), Number(port), ip, () => { if (++sent === Number(count)) s.close(); });
`;

async function udpOverlay(t: TestContext, overlay: 'udp' | 'udp-ts') {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create(
      { cluster, nodes: 3, podsPerNode: 1, overlay },
      { handleSignals: false },
    );
    const ip = new Map((await c.pods()).map((p) => [p.metadata.name!, p.status!.podIP!]));
    const [node1, node2, node3] = c.nodes;

    await t.test('pods reach each other across nodes, MTU-sized packets with DF included', async () => {
      assert.equal(await httpFrom(c, 'pod-1-1', ip.get('pod-2-1')!), 'pod-2-1');
      assert.equal(await httpFrom(c, 'pod-3-1', ip.get('pod-1-1')!), 'pod-1-1');
      const link = (await c.exec('pod-1-1', ['ip', '-o', 'link', 'show', 'eth0'])).stdout;
      const mtu = /\bmtu (\d+)/.exec(link)?.[1];
      assert.equal(mtu, '1472', 'pods get the uplink MTU minus 28');
      const r = await c.exec('pod-1-1', [
        'ping',
        '-c',
        '2',
        '-W',
        '2',
        '-M',
        'do',
        '-s',
        '1444',
        ip.get('pod-3-1')!,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });

    await t.test('the engine counters move with traffic', async () => {
      const [b1, b3] = [await counters(node1!.netns), await counters(node3!.netns)];
      const r = await c.exec('pod-1-1', ['ping', '-c', '5', '-i', '0.2', '-W', '2', ip.get('pod-3-1')!]);
      assert.equal(r.code, 0, r.stdout);
      const [a1, a3] = [await counters(node1!.netns), await counters(node3!.netns)];
      for (const [key, after, before] of [
        ['packets.tun_rx', a1, b1],
        ['packets.udp_tx', a1, b1],
        ['packets.udp_rx', a1, b1],
        ['packets.udp_rx', a3, b3],
        ['packets.tun_tx', a3, b3],
        ['packets.udp_tx', a3, b3],
      ] as const) {
        assert.ok(delta(before, after, key) >= 5, `${key}: ${before[key]} -> ${after[key]}`);
      }
      // IPv6 is off on flannel0, so the kernel puts nothing but the overlay's IPv4 into it.
      for (const [node, a] of [
        ['node-1', a1],
        ['node-3', a3],
      ] as const)
        assert.equal(a['drops.malformed'] ?? 0, 0, `${node}: malformed packets from the TUN`);
      assert.ok(delta(b1, a1, 'bytes.udp_tx') >= 5 * 84);
    });

    await t.test('no lease: ICMP net unreachable; TTL running out: time exceeded', async () => {
      const before = await counters(node1!.netns);
      const r = await c.exec('pod-1-1', ['ping', '-c', '1', '-W', '2', '10.244.200.9']);
      assert.match(
        r.stdout,
        new RegExp(`From ${node1!.gateway.replaceAll('.', '\\.')} .*Destination Net Unreachable`),
      );
      // TTL 2 leaves node-1's kernel with 1: the engine must not forward it.
      const ttl = await c.exec('pod-1-1', ['ping', '-c', '1', '-W', '2', '-t', '2', ip.get('pod-3-1')!]);
      assert.match(ttl.stdout, /Time to live exceeded/);
      const after = await counters(node1!.netns);
      assert.equal(delta(before, after, 'drops.no-route'), 1);
      assert.equal(delta(before, after, 'drops.ttl-expired'), 1);
    });

    await t.test('a datagram to port 8285 from a non-node address is dropped and counted', async () => {
      const outside = await c.addExternalClient({ name: 'spoofer' });
      const inner = buildPacket({
        src: ip.get('pod-1-1')!,
        dst: ip.get('pod-2-1')!,
        protocol: 1,
        payload: icmpPayload(8, 0),
      });
      const before = await counters(node2!.netns);
      const r = await outside.exec([
        process.execPath,
        '-e',
        SEND_DATAGRAMS,
        node2!.underlayIp,
        '8285',
        inner.toString('hex'),
        '3',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const after = await until(
        'the spoofed datagrams to be counted',
        async () => {
          const now = await counters(node2!.netns);
          return delta(before, now, 'drops.unknown-peer') >= 3 ? now : undefined;
        },
        { intervalMs: 100 },
      );
      assert.equal(delta(before, after, 'drops.unknown-peer'), 3);
      assert.equal(delta(before, after, 'packets.tun_tx'), 0, 'nothing of it reached the TUN');
    });

    await t.test('an agent killed with SIGKILL comes back and traffic through its node resumes', async () => {
      const before = c.agent('node-1');
      process.kill(before.pid!, 'SIGKILL');
      await until(
        'the agent of node-1 to be back',
        async () => {
          const a = c.agent('node-1');
          return a.restarts === before.restarts + 1 && a.state === 'running' ? a : undefined;
        },
        { intervalMs: 100 },
      );
      assert.equal(
        await until('pod-1-1 to answer', () => httpFrom(c, 'pod-2-1', ip.get('pod-1-1')!), {
          intervalMs: 100,
        }),
        'pod-1-1',
      );
      assert.equal(await httpFrom(c, 'pod-1-1', ip.get('pod-3-1')!), 'pod-3-1');
      const { stdout } = await run('ip', [
        'netns',
        'exec',
        node1!.netns,
        'ip',
        '-br',
        'addr',
        'show',
        'dev',
        'flannel0',
      ]);
      assert.match(stdout, /^flannel0 +UNKNOWN +10\.244\.0\.0\/16/);
    });
  });
}

test('udp overlay, native engine, on 3 nodes', { skip: nativeEngineMissing() }, (t) => udpOverlay(t, 'udp'));

test('udp overlay, TypeScript engine (udp-ts), on 3 nodes', (t) => udpOverlay(t, 'udp-ts'));

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Runs inside the node namespace, as an agent does: the udp-ts backend over the real kernel, one
 * packet out through the TUN, close, then what is left open; the process must then end by itself.
 */
const ENGINE_LIFECYCLE = `
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createIproute2Kernel } from '${ROOT}dataplane/kernel/iproute2/kernel.ts';
import { createUdpTsBackend } from '${ROOT}dataplane/overlay/backends/udp/udp.ts';
const [netns, prefix] = process.argv.slice(1);
const tunFds = () => readdirSync('/proc/self/fd').filter((f) => { try { return readlinkSync('/proc/self/fd/' + f) === '/dev/net/tun'; } catch { return false; } }).length;
const bound8285 = () => readFileSync('/proc/self/net/udp', 'utf8').includes(':205D ');
const logs = [];
const backend = createUdpTsBackend({ kernel: createIproute2Kernel({ prefix }), netns, uplink: 'eth0', clusterCidr: '10.244.0.0/16', log: (level, message) => logs.push(level + ': ' + message) });
const started = await backend.start({ name: 'n1', podCidr: '10.244.1.0/24', underlayIp: '198.18.0.1' });
await backend.sync([{ name: 'n2', podCidr: '10.244.2.0/24', underlayIp: '198.18.0.2' }]);
const open = { tun: tunFds(), udp: bound8285() };
await promisify(execFile)('ping', ['-c', '1', '-W', '1', '10.244.2.9']).catch(() => {});
const counters = backend.counters();
await backend.close();
console.log(JSON.stringify({ started, open, counters, logs, closed: { tun: tunFds(), udp: bound8285() } }));
`;

test('udp-ts in a bare namespace: replaces a stale flannel0, moves a packet, closes cleanly', async (t) => {
  await withIsolatedKernel(t, async (kernel) => {
    const netns = `${kernel.prefix}n1`;
    await kernel.netns.create(netns);
    const ip = (...args: string[]) => run('ip', ['-n', netns, ...args]);
    await ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    await ip('link', 'set', 'eth0p', 'up');
    await ip('link', 'set', 'eth0', 'up');
    await ip('addr', 'add', '198.18.0.1/16', 'dev', 'eth0');
    // What a crash may leave: a persistent flannel0 with an address on it.
    await ip('tuntap', 'add', 'dev', 'flannel0', 'mode', 'tun');
    await ip('addr', 'add', '10.244.1.0/16', 'dev', 'flannel0');
    const child = await run(
      'ip',
      [
        'netns',
        'exec',
        netns,
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        ENGINE_LIFECYCLE,
        netns,
        kernel.prefix,
      ],
      { cwd: ROOT, timeout: 30_000 },
    ).catch((e: { signal?: string; stderr?: string }) => {
      assert.fail(
        e.signal
          ? `the process did not end by itself after close (${e.signal})`
          : `child failed: ${e.stderr}`,
      );
    });
    const r = JSON.parse(child.stdout);
    assert.deepEqual(r.started, { backendData: null, podMtu: 1472 });
    assert.ok(
      r.logs.some((l: string) => l.startsWith('warn') && l.includes('flannel0')),
      r.logs.join('\n'),
    );
    assert.deepEqual(r.open, { tun: 1, udp: true });
    assert.ok(r.counters.tunRxPackets >= 1 && r.counters.udpTxPackets >= 1, JSON.stringify(r.counters));
    assert.deepEqual(r.closed, { tun: 0, udp: false }, 'close leaves no TUN fd and no socket');
    const { stdout } = await ip('-br', 'link');
    assert.doesNotMatch(stdout, /flannel0/, 'the TUN went away with its process');
  });
});
