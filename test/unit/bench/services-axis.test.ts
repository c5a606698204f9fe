import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KdpError } from '../../../dataplane/errors.ts';
import { BACKGROUND_WORKLOAD, planCells } from '../../../bench/run/matrix-plan.ts';
import {
  estimatedBytes,
  parseServicesFlag,
  readHostLimits,
  servicesLimit,
} from '../../../bench/run/services-axis.ts';
import { type Catalog, resolveSpec } from '../../../bench/run/spec.ts';
import { backgroundSlice, sampleValue, sortedPosition } from '../../../bench/workloads/data/background.ts';

const GiB = 2 ** 30;
const BIG: Catalog['host'] = { memoryAvailableBytes: 64 * GiB };
const CATALOG: Catalog = {
  modes: ['iptables', 'nftables', 'none'],
  backends: ['host-gw'],
  paths: ['pod-pod-cross-node', 'pod-clusterip'],
  dataWorkloads: ['tcp-stream-1', 'tcp-crr', 'udp-new-flow'],
  controlWorkloads: [],
  scalingWorkloads: ['tcp-crr', 'udp-new-flow'],
  host: BIG,
};
const ctx = {
  checkMode: () => {},
  root: true,
  controlWorkloads: [],
  scalingWorkloads: CATALOG.scalingWorkloads,
};

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KdpError, String(e));
    assert.equal(e.code, 'KDP_ERR_USAGE');
    return e.message;
  }
  assert.fail('expected a usage error');
}

test('the services axis: new-connection cells at every size, the others at the first, one background cell per size above 0', () => {
  const spec = resolveSpec({ modes: 'iptables', services: '10000,0,1000,1000' }, CATALOG);
  assert.deepEqual(spec.services, [0, 1000, 10000]);
  const cells = planCells(spec, ctx);
  const ids = cells.map((c) => c.id);
  for (const n of [0, 1000, 10000]) {
    for (const path of ['pod-pod-cross-node', 'pod-clusterip'])
      for (const w of ['tcp-crr', 'udp-new-flow'])
        assert.ok(ids.includes(`iptables/host-gw/${path}/${w}/services=${n}`));
  }
  assert.deepEqual(
    ids.filter((id) => id.includes('tcp-stream-1')),
    [
      'iptables/host-gw/pod-pod-cross-node/tcp-stream-1/services=0',
      'iptables/host-gw/pod-clusterip/tcp-stream-1/services=0',
    ],
  );
  const background = cells.filter((c) => c.kind === 'background');
  assert.deepEqual(
    background.map((c) => [c.id, c.services, c.group]),
    [
      [`iptables/host-gw/-/${BACKGROUND_WORKLOAD}/services=1000`, 1000, 'iptables host-gw'],
      [`iptables/host-gw/-/${BACKGROUND_WORKLOAD}/services=10000`, 10000, 'iptables host-gw'],
    ],
  );
  for (const c of cells) assert.equal(c.axes.params?.services, c.services);
  assert.equal(new Set(ids).size, ids.length);
});

test('the mode axis comes from the catalog: a newly registered mode gets the same cells', () => {
  const spec = resolveSpec({ services: '0,1000' }, CATALOG);
  assert.deepEqual(spec.modes, ['iptables', 'nftables']);
  const cells = planCells(spec, ctx);
  const perMode = (m: string) => cells.filter((c) => c.axes.mode === m).map((c) => c.id.slice(m.length));
  assert.deepEqual(perMode('nftables'), perMode('iptables'));
});

test('without the axis (sizes [0], or no new-connection workload) cell ids carry no services parameter', () => {
  for (const flags of [{ suite: 'ci' }, { workloads: 'tcp-stream-1', services: '0,1000' }]) {
    const cells = planCells(resolveSpec({ ...flags, modes: 'iptables' }, CATALOG), ctx);
    assert.ok(cells.length > 0);
    for (const c of cells) {
      assert.equal(c.axes.params, undefined, c.id);
      assert.notEqual(c.kind, 'background');
    }
  }
});

test('bad --services and --endpoints-per-service values fail before anything is built, naming the valid values or the limit', () => {
  assert.match(
    usageMessage(() => resolveSpec({ services: 'ten' }, CATALOG)),
    /"ten" is not a size; valid: whole numbers from 0 to 100000/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ services: '-5' }, CATALOG)),
    /not a size/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ services: '' }, CATALOG)),
    /at least one size/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ services: '200000' }, CATALOG)),
    /not a size/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ services: '70000' }, CATALOG)),
    /--services 70000: refused.*ClusterIPs.*10\.96\.0\.0\/16/,
  );
  const small = { ...CATALOG, host: { memoryAvailableBytes: 1 * GiB } };
  assert.match(
    usageMessage(() => resolveSpec({ services: '0,30000' }, small)),
    /--services 30000: refused.*GiB available/,
  );
  assert.match(
    usageMessage(() => resolveSpec({ endpointsPerService: '0' }, CATALOG)),
    /--endpoints-per-service must be a whole number from 1 to 1000/,
  );
  // More endpoints each make the same N too big.
  assert.equal(servicesLimit(10_000, 10, { memoryAvailableBytes: 4 * GiB }), undefined);
  assert.match(servicesLimit(10_000, 100, { memoryAvailableBytes: 4 * GiB }) ?? '', /x 100 endpoints/);
  assert.ok(estimatedBytes(30_000, 10) > estimatedBytes(10_000, 10));
});

test('the full suite goes to 30k Services where memory allows and drops what the host cannot hold', () => {
  assert.deepEqual(resolveSpec({ suite: 'full' }, CATALOG).services, [0, 1000, 10000, 30000]);
  const small = { ...CATALOG, host: { memoryAvailableBytes: 3 * GiB } };
  assert.deepEqual(resolveSpec({ suite: 'full' }, small).services, [0, 1000, 10000]);
  assert.equal(
    readHostLimits('MemTotal: 100 kB\nMemAvailable:    2048 kB\n').memoryAvailableBytes,
    2 * 2 ** 20,
  );
  assert.equal(parseServicesFlag('1_000', 10, BIG)[0], 1000);
});

test('background objects: endpoints from 240.0.0.0/4, no selector; metrics text and dispatch position', () => {
  const slice = backgroundSlice(3, 10);
  assert.equal(slice.endpoints.length, 10);
  assert.equal(slice.endpoints[0].addresses[0], '240.0.0.30');
  assert.equal(backgroundSlice(100_000, 10).endpoints[9].addresses[0], '240.15.66.73');
  const text =
    '# HELP kdp_proxy_service_ports x\nkdp_proxy_service_ports 10007\nkdp_proxy_service_ports_x 1\n';
  assert.equal(sampleValue(text, 'kdp_proxy_service_ports'), 10007);
  assert.equal(sampleValue(text, 'kdp_proxy_endpoints'), undefined);
  const keys = [
    'default/bench-connbench:tcp/TCP',
    'bench-bg/bg-000001:http/TCP',
    'bench-bg/bg-000000:http/TCP',
    'default/kubernetes:https/TCP',
  ];
  assert.equal(sortedPosition(keys, 'default/bench-connbench:tcp/TCP'), 3);
  assert.equal(sortedPosition(keys, 'default/none/TCP'), 0);
});
