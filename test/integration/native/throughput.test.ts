/**
 * A quick iperf3 look at each native engine mode between the two test namespaces (pair.ts), to see
 * that batching and the offloads pay off. Figures are reported as diagnostics, never asserted (the
 * machine is shared; real numbers come from the benchmark suite on a quiet machine); the test only
 * checks that data moved without io errors. Run alone: `node --import tsx --test <this file>`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNamespaces, iperf3, removeNamespaces, startEngine, type EngineSide } from './pair.ts';

const isRoot = process.getuid?.() === 0;
const SECONDS = 2;

after(async () => {
  if (isRoot) await removeNamespaces();
});

const modes: [string, EngineSide][] = [
  ['batched (offload)', { mode: 'batched' }],
  ['batched (no offload)', { mode: 'batched', offload: false }],
  ['baseline', { mode: 'baseline' }],
];

for (const [name, side] of modes) {
  test(`iperf3 over ${name}`, { skip: !isRoot && 'needs root' }, async (t) => {
    await createNamespaces();
    const a = await startEngine(1, side);
    const b = await startEngine(2, side).catch(async (e) => {
      a.child.kill();
      throw e;
    });
    try {
      const cpuBefore = (await a.child.cpuMicros()) + (await b.child.cpuMicros());
      const r = await iperf3(SECONDS);
      const cpu = (await a.child.cpuMicros()) + (await b.child.cpuMicros()) - cpuBefore;
      const [ca, cb] = [await a.child.counters(), await b.child.counters()];
      // Engine CPU per gigabyte moved: less load-sensitive than Gbit/s on a shared machine.
      const cpuPerGB = cpu / 1e6 / (cb.udpRxBytes / 1e9);
      t.diagnostic(
        `${name}: ${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s, ${r.retransmits} retransmits, ` +
          `both engines ${cpuPerGB.toFixed(2)} CPU-s per GB; ` +
          `a batch sizes ${JSON.stringify(ca.batchSizes)}; b batch sizes ${JSON.stringify(cb.batchSizes)}`,
      );
      assert.ok(r.bitsPerSecond > 0);
      assert.ok(cb.udpRxBytes > 0 && cb.tunTxBytes > 0);
      assert.equal(ca.drops['io-error'] + cb.drops['io-error'], 0);
    } finally {
      await a.child.close();
      await b.child.close();
      await a.child.exit();
      await b.child.exit();
      await removeNamespaces();
    }
  });
}
