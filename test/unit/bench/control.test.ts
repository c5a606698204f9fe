/**
 * Every control workload variant that needs no root (sync-* and iptables-restore on FakeIptables,
 * apiserver, micro, callgrind) sets up, runs one quick trial and closes, and its trial values are
 * well-formed: the metrics the workload promises, each once, with a unit, a direction and a
 * finite, sane value. Shapes and sanity only: no duration is compared with a threshold.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKdpError } from '../../../dataplane/errors.ts';
import type { CellAxes } from '../../../bench/lib/results.ts';
import type { ControlWorkload, TrialValue } from '../../../bench/lib/workload.ts';
import { CONTROL_WORKLOADS, variantNeedsRoot } from '../../../bench/workloads/control/index.ts';

const METRICS: Record<string, string[]> = {
  'sync-full': ['sync_ms', 'raw_restore_ms', 'rules'],
  'sync-partial': ['sync_ms', 'update_to_kernel_ms', 'raw_restore_ms', 'rules'],
  'programming-latency': ['latency_p50_ms', 'latency_p99_ms'],
  'iptables-restore': ['restore_ms', 'restore_again_ms', 'ensure_jumps_ms', 'partial_restore_ms', 'save_ms'],
  bringup: ['ready_s', 'reachable_s', 'teardown_s', 'before_agents_s'],
  apiserver: ['creates_per_s', 'create_p99_ms', 'server_cpu_us_per_create'],
  micro: ['ops_per_s'],
  callgrind: ['instructions'],
};

/** CPU time comes in clock ticks (10 ms): a quick trial may honestly read 0. */
const MAY_BE_ZERO = new Set(['server_cpu_us_per_create']);

function axesOf(w: ControlWorkload, params: Record<string, string | number>): CellAxes {
  return { mode: w.modeDependent ? 'iptables' : '-', backend: '-', path: '-', workload: w.name, params };
}

/** The in-memory 64-lane apiserver cell also measures lists and watches. */
const APISERVER_READS = [
  'list_all_p50_ms',
  'list_selector_p50_ms',
  'list_page_p50_ms',
  'watch_p50_ms',
  'watch_p99_ms',
];

function expectedMetrics(w: ControlWorkload, params: Record<string, string | number>): string[] {
  const reads = w.name === 'apiserver' && params.store === 'memory' && params.lanes === 64;
  return reads ? [...METRICS[w.name], ...APISERVER_READS] : METRICS[w.name];
}

function checkValues(
  w: ControlWorkload,
  params: Record<string, string | number>,
  values: TrialValue[],
): void {
  const what = `${w.name} ${JSON.stringify(params)}`;
  assert.deepEqual(
    values.map((v) => v.name),
    expectedMetrics(w, params),
    `${what}: metrics`,
  );
  for (const v of values) {
    assert.ok(v.unit.length > 0, `${what} ${v.name}: unit`);
    assert.ok(v.better === 'higher' || v.better === 'lower', `${what} ${v.name}: better`);
    assert.ok(Number.isFinite(v.value), `${what} ${v.name}: finite: ${v.value}`);
    assert.ok(MAY_BE_ZERO.has(v.name) ? v.value >= 0 : v.value > 0, `${what} ${v.name}: ${v.value}`);
  }
  const byName = new Map(values.map((v) => [v.name, v.value]));
  // 100 Services x 10 endpoints: at least a KUBE-SEP jump and DNAT per endpoint.
  if (byName.has('rules')) assert.ok(byName.get('rules')! > 2000, `${what}: rules ${byName.get('rules')}`);
  const p50 = byName.get('latency_p50_ms') ?? byName.get('watch_p50_ms');
  const p99 = byName.get('latency_p99_ms') ?? byName.get('watch_p99_ms');
  if (p50 !== undefined) assert.ok(p50 <= p99!, `${what}: p50 ${p50} above p99 ${p99}`);
}

test('every control workload has a unique name, a description and quick variants', () => {
  const names = CONTROL_WORKLOADS.map((w) => w.name);
  assert.deepEqual(names.sort(), Object.keys(METRICS).sort());
  for (const w of CONTROL_WORKLOADS) {
    assert.ok(w.description.length > 10, `${w.name}: description`);
    assert.ok(w.variants(true).length > 0, `${w.name}: quick variants`);
    assert.ok(w.variants(false).length > 0, `${w.name}: full variants`);
  }
  const rootless = (name: string) =>
    CONTROL_WORKLOADS.find((w) => w.name === name)!
      .variants(true)
      .filter(
        (v) =>
          !variantNeedsRoot(
            CONTROL_WORKLOADS.find((w) => w.name === name)!,
            v,
          ),
      );
  for (const name of ['sync-full', 'sync-partial', 'programming-latency', 'iptables-restore'])
    assert.deepEqual(
      rootless(name),
      [{ services: 100, iptables: 'fake' }],
      `${name}: the smoke suite's variant`,
    );
  assert.deepEqual(rootless('bringup'), [], 'bring-up always needs root');
});

test('the sync workloads refuse a proxy mode they do not measure', async () => {
  const w = CONTROL_WORKLOADS.find((c) => c.name === 'sync-full')!;
  await assert.rejects(
    w.setup({ ...axesOf(w, { services: 100, iptables: 'fake' }), mode: 'ipvs' }, { seconds: 1, quick: true }),
    (e) => isKdpError(e, 'KDP_ERR_BENCH_UNAVAILABLE'),
  );
});

test('sync-full alone also runs 10k with rereadForeignRules off; a bad value is refused', async () => {
  const byName = (n: string) => CONTROL_WORKLOADS.find((c) => c.name === n)!;
  const off = { services: 10000, iptables: 'nft', rereadForeignRules: 'off' };
  assert.deepEqual(byName('sync-full').variants(false).at(-1), off);
  assert.ok(
    !byName('sync-partial')
      .variants(false)
      .some((v) => 'rereadForeignRules' in v),
  );
  assert.ok(
    !byName('sync-full')
      .variants(true)
      .some((v) => 'rereadForeignRules' in v),
    'not in the quick suite',
  );
  const w = byName('sync-full');
  await assert.rejects(
    w.setup(axesOf(w, { services: 100, iptables: 'fake', rereadForeignRules: 'maybe' }), {
      seconds: 1,
      quick: true,
    }),
    (e) => isKdpError(e, 'KDP_ERR_BENCH_VARIANT'),
  );
});

test('the apiserver workload runs both stores, TLS+auth and plain, and refuses an unknown variant', async () => {
  const w = CONTROL_WORKLOADS.find((c) => c.name === 'apiserver')!;
  assert.deepEqual(
    w.variants(true).map((v) => `${v.store}/${v.auth}`),
    ['memory/tls', 'memory/plain', 'sqlite/tls'],
  );
  const bad: Record<string, string | number>[] = [
    { store: 'etcd', lanes: 64 },
    { store: 'memory', lanes: 0 },
    { store: 'memory', lanes: 64, auth: 'none' },
  ];
  for (const params of bad)
    await assert.rejects(
      w.setup(axesOf(w, params), { seconds: 1, quick: true }),
      (e) => isKdpError(e, 'KDP_ERR_BENCH_VARIANT') && /store: memory or sqlite/.test(e.message),
    );
});

for (const w of CONTROL_WORKLOADS) {
  for (const params of w.variants(true).filter((v) => !variantNeedsRoot(w, v))) {
    test(`${w.name} ${JSON.stringify(params)}: one quick trial`, { timeout: 300_000 }, async (t) => {
      const unavailable = w.unavailable?.();
      if (unavailable) return t.skip(unavailable);
      const instance = await w.setup(axesOf(w, params), { seconds: 1, quick: true });
      try {
        checkValues(w, params, await instance.trial());
      } finally {
        await instance.close();
        await instance.close(); // idempotent
      }
    });
  }
}
