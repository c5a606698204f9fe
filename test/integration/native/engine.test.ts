/**
 * The native engines for real (root): two node namespaces (pair.ts), an engine process in each,
 * traffic between addresses behind the TUNs. Checks ping, a TCP transfer arriving intact, MTU-sized
 * pings with DF (and one byte more refused), fragmented pings, ICMP net unreachable for an unleased
 * subnet, a route withdrawn and restored while running, a spoofed datagram dropped and counted,
 * counters moving, and that close (also under load) leaves no fds, threads or TUN; for batched with
 * and without offload, baseline, and mixed pairs interoperating (flannel's wire format on all).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { diffSnapshots, snapshotRoot, type RootSnapshot } from '../helpers/root-snapshot.ts';
import {
  createNamespaces,
  NS_A,
  NS_B,
  removeNamespaces,
  sendSpoofed,
  startEngine,
  tcpTransfer,
  tryInNs,
  type EngineChild,
  type EngineSide,
} from './pair.ts';
import { until } from '../../helpers/until.ts';

const isRoot = process.getuid?.() === 0;
let rootBefore: RootSnapshot;

before(async () => {
  if (isRoot) rootBefore = await snapshotRoot();
});

after(async () => {
  if (!isRoot) return;
  await removeNamespaces();
  assert.deepEqual(diffSnapshots(rootBefore, await snapshotRoot()), [], 'the host root namespace changed');
});

const ping = (...args: string[]) =>
  tryInNs(NS_A, ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '2', '-I', '10.244.1.1', ...args]);

/** Runs `body` with engines a and b up; then closes both and checks nothing leaked. */
async function withPair(
  sides: [EngineSide, EngineSide],
  body: (a: EngineChild, b: EngineChild) => Promise<void>,
): Promise<void> {
  await createNamespaces();
  const children: EngineChild[] = [];
  try {
    const a = await startEngine(1, sides[0]);
    children.push(a.child);
    const b = await startEngine(2, sides[1]);
    children.push(b.child);
    await body(a.child, b.child);
    for (const child of children) {
      const report = await child.close();
      assert.deepEqual(report.fdsLeft, [], 'fds the engine opened are closed');
      assert.deepEqual(report.threadsLeft, [], 'the engine threads are gone');
      assert.ok(report.tunGone, 'the TUN device goes away with the engine');
      await child.exit();
    }
  } catch (e) {
    for (const child of children) if (child.stderr) console.error(child.stderr);
    throw e;
  } finally {
    for (const child of children) child.kill();
    await removeNamespaces();
  }
}

async function assertPingAndTransfer(a: EngineChild, b: EngineChild): Promise<void> {
  const p = await ping('10.244.2.1');
  assert.equal(p.code, 0, p.out);
  assert.match(p.out, /ttl=63 /, 'the reply crossed one engine, which decremented its TTL');
  const t = await tcpTransfer(16);
  assert.equal(t.bytes, 16 << 20);
  assert.equal(t.received, t.sent, 'the data arrived intact');
  const [ca, cb] = [await a.counters(), await b.counters()];
  assert.ok(
    ca.tunRxPackets > 0 && ca.udpTxPackets > 0 && ca.udpRxPackets > 0 && ca.tunTxPackets > 0,
    JSON.stringify(ca),
  );
  assert.ok(cb.udpRxBytes >= 16 << 20, 'b received at least the transfer over UDP');
  assert.equal(ca.drops['io-error'] + cb.drops['io-error'], 0, 'no io errors');
}

test(
  'batched engines with offload: ping, TCP, DF pings at MTU, net unreachable, spoofing, counters, clean close',
  { skip: !isRoot && 'needs root' },
  async () => {
    await withPair([{ mode: 'batched' }, { mode: 'batched' }], async (a, b) => {
      const status = await a.request<{
        status: { tunOffload: boolean; udpGso: boolean; udpGro: boolean; fallbacks: string[] };
      }>({ cmd: 'status' });
      assert.deepEqual(
        status.status,
        { tunOffload: true, udpGso: true, udpGro: true, fallbacks: [] },
        'this kernel grants every offload',
      );

      await assertPingAndTransfer(a, b);
      const cb = await b.counters();
      const batched = Object.entries(cb.batchSizes)
        .filter(([k]) => k !== '1')
        .reduce((s, [, v]) => s + v, 0);
      assert.ok(
        batched > 0,
        `some receive batches held more than one packet: ${JSON.stringify(cb.batchSizes)}`,
      );

      // 1444 bytes of ICMP payload + 28 = 1472, the TUN MTU: passes with DF; one more does not leave the host.
      const full = await ping('-M', 'do', '-s', '1444', '10.244.2.1');
      assert.equal(full.code, 0, full.out);
      // Without DF the kernel fragments at the TUN MTU; the fragments travel as separate packets.
      const fragmented = await ping('-M', 'dont', '-s', '4000', '10.244.2.1');
      assert.equal(fragmented.code, 0, fragmented.out);
      assert.match(fragmented.out, /4008 bytes from 10\.244\.2\.1/);
      const over = await ping('-M', 'do', '-s', '1445', '10.244.2.1');
      assert.notEqual(over.code, 0);
      assert.match(over.out, /message too long|mtu/i);

      const before = await a.counters();
      const unreachable = await ping('10.244.9.1');
      assert.notEqual(unreachable.code, 0);
      assert.match(unreachable.out, /From 10\.244\.1\.1 .*Destination Net Unreachable/);
      const afterUnreachable = await a.counters();
      assert.ok(afterUnreachable.drops['no-route'] >= before.drops['no-route'] + 2);
      assert.ok(afterUnreachable.icmpSent >= before.icmpSent + 2);

      const spoofBefore = (await b.counters()).drops['unknown-peer'];
      await sendSpoofed();
      const spoofAfter = await until('the spoofed datagram to be counted', async () => {
        const c = await b.counters();
        return c.drops['unknown-peer'] > spoofBefore && c;
      });
      assert.equal(
        spoofAfter.drops['unknown-peer'],
        spoofBefore + 1,
        'the spoofed datagram is dropped and counted',
      );

      // A route change takes effect without a restart: withdraw b's subnet, pings get net unreachable.
      await a.request({ cmd: 'routes', routes: [] });
      const withdrawn = await ping('10.244.2.1');
      assert.match(withdrawn.out, /Destination Net Unreachable/);
      await a.request({ cmd: 'routes', routes: [{ subnet: '10.244.2.0/24', nodeIp: '198.18.0.2' }] });
      assert.equal((await ping('10.244.2.1')).code, 0);
    });
  },
);

test('baseline engines: ping, TCP, clean close', { skip: !isRoot && 'needs root' }, async () => {
  await withPair([{ mode: 'baseline' }, { mode: 'baseline' }], async (a, b) => {
    await assertPingAndTransfer(a, b);
    const c = await a.counters();
    const multi = Object.entries(c.batchSizes)
      .filter(([k]) => k !== '1')
      .reduce((s, [, v]) => s + v, 0);
    assert.equal(multi, 0, 'the baseline moves one packet per syscall');
  });
});

test('batched (offload) and baseline interoperate', { skip: !isRoot && 'needs root' }, async () => {
  await withPair([{ mode: 'batched' }, { mode: 'baseline' }], assertPingAndTransfer);
});

test(
  'batched without offload and batched with offload interoperate',
  { skip: !isRoot && 'needs root' },
  async () => {
    await withPair([{ mode: 'batched', offload: false }, { mode: 'batched' }], async (a, b) => {
      const status = await a.request<{ status: { tunOffload: boolean } }>({ cmd: 'status' });
      assert.equal(status.status.tunOffload, false);
      await assertPingAndTransfer(a, b);
    });
  },
);

test(
  'closing under load stops cleanly: no fds, threads or TUN left',
  { skip: !isRoot && 'needs root' },
  async () => {
    const procs: ChildProcess[] = [];
    try {
      await withPair([{ mode: 'batched' }, { mode: 'batched' }], async (a) => {
        const server = spawn('ip', [
          'netns',
          'exec',
          NS_B,
          'iperf3',
          '-s',
          '-1',
          '-B',
          '10.244.2.1',
          '--forceflush',
        ]);
        procs.push(server);
        // `ip netns exec` execs iperf3, so these pids are iperf3's own and the kill below reaches them.
        const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
        for (
          let l = await lines.next();
          !l.done && !/listening/.test(l.value as string);
          l = await lines.next()
        );
        procs.push(
          spawn('ip', ['netns', 'exec', NS_A, 'iperf3', '-c', '10.244.2.1', '-B', '10.244.1.1', '-t', '20']),
        );
        const moving = await until(
          'traffic to flow',
          async () => {
            const c = await a.counters();
            return c.udpTxBytes > 10 << 20 && c;
          },
          { timeoutMs: 15_000, intervalMs: 50 },
        );
        assert.ok(moving.udpTxBytes > 10 << 20, 'traffic is flowing before the close');
        // withPair now closes both engines mid-transfer and checks fds, threads and the TUN.
      });
    } finally {
      for (const p of procs) p.kill('SIGKILL');
    }
  },
);
