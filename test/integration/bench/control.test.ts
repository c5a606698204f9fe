/**
 * The control workloads that need root, quick variants only, on the real kernel: sync-full,
 * sync-partial and programming-latency of the iptables proxier on iptables-nft (100 Services),
 * iptables-restore on nft, and bring-up of a 2 x 5 cluster. Each sets up, runs one trial with
 * well-formed values, closes; afterwards no namespace or process of theirs is left and the host's
 * root namespace is unchanged. Shapes and sanity only: no duration is compared with a threshold.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { processTitle } from '../../../dataplane/cluster/cleanup-processes.ts';
import type { ControlWorkload } from '../../../bench/lib/workload.ts';
import { CONTROL_WORKLOADS, variantNeedsRoot } from '../../../bench/workloads/control/index.ts';
import { diffSnapshots, snapshotRoot, type RootSnapshot } from '../helpers/root-snapshot.ts';

/** Names the workloads give what they make in this process: kdp-bench<pid>..., kdp-kdpb<pid>c... */
const OURS = [`bench${process.pid}`, `kdpb${process.pid % 100000}c`];
const ours = (name: string) => OURS.some((o) => name.includes(o));

function leftovers(): string[] {
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync('/run/netns').filter(ours);
  } catch {
    // no /run/netns at all
  }
  const processes = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((pid) => processTitle(Number(pid)) ?? '')
    .filter((t) => t.startsWith('kdp:') && ours(t));
  return [...namespaces, ...processes];
}

let rootBefore: RootSnapshot;
before(async () => {
  rootBefore = await snapshotRoot();
});
after(async () => {
  assert.deepEqual(leftovers(), [], 'namespaces or processes left behind');
  assert.deepEqual(diffSnapshots(rootBefore, await snapshotRoot()), [], 'the root namespace changed');
});

const EXPECTED: Record<string, string[]> = {
  'sync-full': ['sync_ms', 'raw_restore_ms', 'rules'],
  'sync-partial': ['sync_ms', 'update_to_kernel_ms', 'raw_restore_ms', 'rules'],
  'programming-latency': ['latency_p50_ms', 'latency_p99_ms'],
  'iptables-restore': ['restore_ms', 'restore_again_ms', 'ensure_jumps_ms', 'partial_restore_ms', 'save_ms'],
  bringup: ['ready_s', 'reachable_s', 'teardown_s', 'before_agents_s'],
};

const rootOnly = (w: ControlWorkload) => w.variants(true).filter((v) => variantNeedsRoot(w, v));

test('every workload that needs root has a quick variant here', () => {
  const names = CONTROL_WORKLOADS.filter((w) => rootOnly(w).length > 0).map((w) => w.name);
  assert.deepEqual(names.sort(), Object.keys(EXPECTED).sort());
});

for (const w of CONTROL_WORKLOADS) {
  for (const params of rootOnly(w)) {
    test(`${w.name} ${JSON.stringify(params)}: one quick trial as root`, { timeout: 300_000 }, async () => {
      const axes = {
        mode: w.modeDependent ? 'iptables' : '-',
        backend: '-',
        path: '-',
        workload: w.name,
        params,
      };
      const instance = await w.setup(axes, { seconds: 2, quick: true });
      try {
        const values = await instance.trial();
        assert.deepEqual(
          values.map((v) => v.name),
          EXPECTED[w.name],
        );
        for (const v of values) {
          assert.ok(Number.isFinite(v.value) && v.value > 0, `${v.name}: ${v.value}`);
          assert.ok(
            v.unit && (v.better === 'lower' || v.better === 'higher'),
            `${v.name}: unit and direction`,
          );
        }
        const byName = new Map(values.map((v) => [v.name, v.value]));
        if (byName.has('rules')) assert.ok(byName.get('rules')! > 2000, `rules: ${byName.get('rules')}`);
        if (w.name === 'bringup') assert.ok(byName.get('ready_s')! <= byName.get('reachable_s')!);
        if (w.name === 'programming-latency')
          assert.ok(byName.get('latency_p50_ms')! <= byName.get('latency_p99_ms')!);
      } finally {
        await instance.close();
      }
    });
  }
}
