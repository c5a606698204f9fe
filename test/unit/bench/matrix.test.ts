import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KdpError } from '../../../dataplane/errors.ts';
import type { BenchEnvironment, CellAxes } from '../../../bench/lib/results.ts';
import { validateResults } from '../../../bench/lib/validate.ts';
import type { ControlWorkload } from '../../../bench/lib/workload.ts';
import { backendAxis } from '../../../bench/run/catalog.ts';
import { cellId, NEEDS_ROOT, planCells } from '../../../bench/run/matrix-plan.ts';
import { splitBackend } from '../../../bench/run/pool.ts';
import { runMatrix, shuffled } from '../../../bench/run/matrix-runner.ts';
import { type Catalog, type MatrixSpec, resolveSpec } from '../../../bench/run/spec.ts';
import { seededRandom } from '../../../bench/lib/stats.ts';

const CATALOG: Catalog = {
  modes: ['iptables', 'ipvs', 'userspace', 'none'],
  backends: ['host-gw', 'udp', 'udp:baseline'],
  paths: ['pod-pod-same-node', 'pod-pod-cross-node', 'pod-clusterip', 'external-nodeport'],
  dataWorkloads: ['tcp-stream-1', 'tcp-stream-4', 'tcp-rr', 'tcp-crr', 'udp-new-flow', 'http'],
  controlWorkloads: ['sync-full', 'micro'],
  scalingWorkloads: ['tcp-crr', 'udp-new-flow'],
};

const ENV: BenchEnvironment = {
  ...{ kernel: '6.1.0', os: 'Debian', cpuModel: 'test cpu', cores: 2, memoryBytes: 1 },
  ...{
    node: 'v20',
    kdpVersion: '0.1.0',
    gitCommit: 'unknown',
    gitDirty: false,
    tools: {},
    loadAverage: [0, 0, 0],
  },
};

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KdpError);
    assert.equal(e.code, 'KDP_ERR_USAGE');
    return e.message;
  }
  assert.fail('expected a usage error');
}

test('the default suite: every comparable mode x host-gw x direct and ClusterIP x streams, rr and new connections at 0 and 1k Services', () => {
  const spec = resolveSpec({}, CATALOG);
  assert.equal(spec.suite, 'default');
  assert.deepEqual(spec.modes, ['iptables', 'ipvs', 'userspace']);
  assert.deepEqual(spec.backends, ['host-gw']);
  assert.deepEqual(spec.paths, ['pod-pod-cross-node', 'pod-clusterip']);
  assert.deepEqual(spec.dataWorkloads, ['tcp-stream-1', 'tcp-rr', 'tcp-crr', 'udp-new-flow']);
  assert.deepEqual(spec.controlWorkloads, []);
  assert.deepEqual(spec.services, [0, 1_000]);
  assert.equal(spec.endpointsPerService, 10);
});

test('the overlay suite takes every registered backend with its engine variants', () => {
  const spec = resolveSpec({ suite: 'overlay' }, CATALOG);
  assert.deepEqual(spec.backends, ['host-gw', 'udp', 'udp:baseline']);
  assert.deepEqual(spec.paths, ['pod-pod-cross-node']);
  assert.deepEqual(spec.dataWorkloads, ['tcp-stream-1', 'tcp-stream-4', 'tcp-rr']);
  assert.deepEqual(backendAxis(['host-gw', 'udp', 'vxlan']), [
    'host-gw',
    'udp',
    'udp:baseline',
    'udp:batched-no-offload',
    'vxlan',
  ]);
  assert.deepEqual(splitBackend('udp:baseline'), { backend: 'udp', engine: 'baseline' });
  assert.deepEqual(splitBackend('vxlan'), { backend: 'vxlan' });
});

test('flags narrow a suite, split workloads into data and control, and make it custom', () => {
  const spec = resolveSpec(
    { suite: 'smoke', modes: 'iptables', workloads: 'micro,tcp-rr', trials: '3', seconds: '2', seed: '7' },
    CATALOG,
  );
  assert.equal(spec.suite, 'custom');
  assert.deepEqual(spec.dataWorkloads, ['tcp-rr']);
  assert.deepEqual(spec.controlWorkloads, ['micro']);
  assert.deepEqual([spec.trials, spec.seconds, spec.seed, spec.quick], [3, 2, 7, true]);
});

test('bad flags fail with the valid values listed', () => {
  assert.match(
    usageMessage(() => resolveSpec({ suite: 'nightly' }, CATALOG)),
    /valid: default, smoke, ci/,
  );
  const mode = usageMessage(() => resolveSpec({ modes: 'iptables,ebpf' }, CATALOG));
  assert.match(mode, /--modes: unknown "ebpf"; valid: iptables, ipvs, userspace, none/);
  assert.match(
    usageMessage(() => resolveSpec({ backends: 'flannel' }, CATALOG)),
    /udp:baseline/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ paths: 'pod-node' }, CATALOG)),
    /external-nodeport/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ workloads: 'tcp-stream-9' }, CATALOG)),
    /sync-full, micro/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ trials: '0' }, CATALOG)),
    /--trials must be a whole number from 1/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ seconds: '2.5' }, CATALOG)),
    /--seconds/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ modes: ',' }, CATALOG)),
    /--modes needs at least one name/,
  );
});

function control(
  name: string,
  o: Partial<ControlWorkload> & { calls?: string[]; failOn?: number } = {},
): ControlWorkload {
  return {
    name,
    description: name,
    modeDependent: o.modeDependent ?? false,
    needsRoot: o.needsRoot ?? false,
    variants: o.variants ?? (() => [{}]),
    variantNeedsRoot: o.variantNeedsRoot,
    async setup(axes: CellAxes) {
      let n = 0;
      return {
        async trial() {
          n++;
          o.calls?.push(cellId(axes));
          if (n === o.failOn) throw new KdpError('KDP_ERR_BENCH_TOOL', `trial ${n} failed: stderr text`);
          return [{ name: 'ops_per_s', unit: 'ops/s', better: 'higher' as const, value: n }];
        },
        async close() {
          o.calls?.push(`close ${cellId(axes)}`);
        },
      };
    },
  };
}

const unavailable = (mode: string) => {
  if (mode !== 'iptables') throw new KdpError('KDP_ERR_PROXY_MODE_UNAVAILABLE', `${mode} mode needs IP_VS`);
};

test('the plan keeps cells that cannot run, with the reason', () => {
  const spec = resolveSpec(
    { modes: 'iptables,ipvs', paths: 'pod-clusterip', workloads: 'http,sync-full,micro' },
    CATALOG,
  );
  const workloads = [
    control('sync-full', {
      modeDependent: true,
      needsRoot: true,
      variants: () => [{ iptables: 'nft' }, { iptables: 'fake' }],
      variantNeedsRoot: (v) => v.iptables !== 'fake',
    }),
    control('micro'),
  ];
  const cells = planCells(spec, { checkMode: unavailable, root: false, controlWorkloads: workloads });
  const byId = Object.fromEntries(cells.map((c) => [c.id, c.skipped]));
  assert.deepEqual(Object.keys(byId), [
    'iptables/host-gw/pod-clusterip/http',
    'ipvs/host-gw/pod-clusterip/http',
    'iptables/-/-/sync-full/iptables=nft',
    'iptables/-/-/sync-full/iptables=fake',
    'ipvs/-/-/sync-full/iptables=nft',
    'ipvs/-/-/sync-full/iptables=fake',
    '-/-/-/micro',
  ]);
  assert.equal(byId['iptables/host-gw/pod-clusterip/http'], NEEDS_ROOT);
  assert.match(
    byId['ipvs/host-gw/pod-clusterip/http']!,
    /ipvs mode needs IP_VS \[KDP_ERR_PROXY_MODE_UNAVAILABLE\]/,
  );
  assert.equal(byId['iptables/-/-/sync-full/iptables=nft'], NEEDS_ROOT);
  // A variant that needs no root (a fake kernel) runs without it.
  assert.equal(byId['iptables/-/-/sync-full/iptables=fake'], undefined);
  assert.match(byId['ipvs/-/-/sync-full/iptables=fake']!, /KDP_ERR_PROXY_MODE_UNAVAILABLE/);
  assert.equal(byId['-/-/-/micro'], undefined);
});

test('cell ids carry sorted parameters', () => {
  const axes = {
    mode: 'iptables',
    backend: '-',
    path: '-',
    workload: 'sync-full',
    params: { services: 1000, b: 'x' },
  };
  assert.equal(cellId(axes), 'iptables/-/-/sync-full/b=x/services=1000');
});

test('the shuffle is a permutation fixed by the seed', () => {
  const items = ['a', 'b', 'c', 'd', 'e', 'f'];
  const one = shuffled(items, seededRandom(3));
  assert.deepEqual([...one].sort(), items);
  assert.deepEqual(shuffled(items, seededRandom(3)), one);
  assert.notDeepEqual(
    Array.from({ length: 5 }, (_, i) => shuffled(items, seededRandom(i)).join('')),
    Array(5).fill(items.join('')),
  );
});

test('runMatrix interleaves rounds, drops warm-up, keeps errors, closes instances, and validates', async () => {
  const calls: string[] = [];
  const workloads = [
    control('sync-full', { calls, variants: () => [{ services: 10 }, { services: 20 }] }),
    control('micro', { calls, failOn: 3 }),
  ];
  const spec: MatrixSpec = {
    ...resolveSpec({ workloads: 'sync-full,micro' }, CATALOG),
    ...{ trials: 3, warmup: 1, seed: 5 },
  };
  const results = await runMatrix(spec, { controlWorkloads: workloads, root: false, environment: ENV });
  validateResults(results);
  const trials = calls.filter((c) => !c.startsWith('close'));
  // Four rounds (one warm-up) of three cells: each round runs every cell once before the next round.
  assert.equal(trials.length, 12);
  for (let r = 0; r < 4; r++) assert.equal(new Set(trials.slice(r * 3, r * 3 + 3)).size, 3);
  assert.equal(calls.filter((c) => c.startsWith('close')).length, 3);
  const micro = results.cells.find((c) => c.id === '-/-/-/micro')!;
  // Trial 1 was the warm-up, trial 3 failed: trials 2 and 4 are recorded, the error is kept.
  assert.deepEqual(micro.metrics[0].trials, [2, 4]);
  assert.equal(micro.errors?.length, 1);
  assert.match(micro.errors![0], /round 2\/3: trial 3 failed: stderr text/);
  const sync = results.cells.find((c) => c.id === '-/-/-/sync-full/services=20')!;
  assert.deepEqual(sync.metrics[0].trials, [2, 3, 4]);
  assert.deepEqual(results.config.workloads, ['sync-full', 'micro']);
});

test('an aborted run closes what it set up and rejects', async () => {
  const calls: string[] = [];
  const controller = new AbortController();
  const stopper: ControlWorkload = {
    ...control('micro', { calls }),
    async setup() {
      return {
        async trial() {
          controller.abort(new Error('interrupted by SIGINT'));
          return [];
        },
        async close() {
          calls.push('closed');
        },
      };
    },
  };
  const spec: MatrixSpec = { ...resolveSpec({ workloads: 'micro' }, CATALOG), trials: 5, warmup: 0 };
  await assert.rejects(
    runMatrix(spec, {
      controlWorkloads: [stopper],
      root: false,
      environment: ENV,
      signal: controller.signal,
    }),
    /interrupted by SIGINT/,
  );
  assert.deepEqual(calls, ['closed']);
});
