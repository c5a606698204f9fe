import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAllocators } from '../../../dataplane/api/allocators/index.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import type { Service } from '../../../dataplane/api/types.ts';

function ipNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

test('cluster IP allocator hands out every usable address once, never network or broadcast', () => {
  const a = createAllocators({ serviceCIDR: '10.96.0.0/28', nodePortRange: { first: 30000, last: 30001 } });
  assert.equal(a.clusterIP.cidr, '10.96.0.0/28');
  assert.equal(a.clusterIP.free, 14);
  const got = new Set<string>();
  for (let i = 0; i < 14; i++) {
    const ip = a.clusterIP.allocateNext();
    assert.ok(ip, `allocation ${i} failed`);
    got.add(ip);
  }
  assert.equal(got.size, 14);
  assert.ok(!got.has('10.96.0.0') && !got.has('10.96.0.15'));
  assert.equal(a.clusterIP.allocateNext(), undefined, 'the range is exhausted');
  assert.equal(a.clusterIP.free, 0);
  a.clusterIP.release('10.96.0.7');
  assert.equal(a.clusterIP.free, 1);
  assert.equal(a.clusterIP.allocateNext(), '10.96.0.7');
});

test('cluster IP requests are honoured or refused with the reason', () => {
  const a = createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 30000, last: 32767 } });
  assert.deepEqual(a.clusterIP.allocate('10.96.0.10'), { ok: true });
  assert.ok(a.clusterIP.has('10.96.0.10'));
  assert.deepEqual(a.clusterIP.allocate('10.96.0.10'), {
    ok: false,
    reason: 'provided IP is already allocated',
  });
  const outside = {
    ok: false,
    reason: 'provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/16',
  };
  assert.deepEqual(a.clusterIP.allocate('10.97.0.1'), outside);
  assert.deepEqual(a.clusterIP.allocate('10.96.0.0'), outside, 'network address');
  assert.deepEqual(a.clusterIP.allocate('10.96.255.255'), outside, 'broadcast address');
  assert.equal(a.clusterIP.allocate('not-an-ip').ok, false);
  a.clusterIP.release('10.96.0.10');
  assert.ok(!a.clusterIP.has('10.96.0.10'));
  assert.deepEqual(a.clusterIP.allocate('10.96.0.10'), { ok: true });
});

test('dynamic cluster IPs come from above the static band first', () => {
  // A /24 has 254 usable addresses; the static band is its lowest 16 (KEP-3070).
  const a = createAllocators({ serviceCIDR: '10.96.0.0/24', nodePortRange: { first: 30000, last: 32767 } });
  const first = ipNumber('10.96.0.1');
  for (let i = 0; i < 254 - 16; i++) {
    const ip = a.clusterIP.allocateNext()!;
    assert.ok(ipNumber(ip) - first >= 16, `${ip} is in the static band while the dynamic one has room`);
  }
  const low = a.clusterIP.allocateNext()!;
  assert.ok(ipNumber(low) - first < 16, 'falls back to the static band when the rest is full');
});

test('node port allocator: requests, refusals, exhaustion, release', () => {
  const a = createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 30000, last: 30009 } });
  assert.deepEqual(a.nodePort.range, { first: 30000, last: 30009 });
  assert.deepEqual(a.nodePort.allocate(30005), { ok: true });
  assert.deepEqual(a.nodePort.allocate(30005), { ok: false, reason: 'provided port is already allocated' });
  assert.deepEqual(a.nodePort.allocate(8080), {
    ok: false,
    reason: 'provided port is not in the valid range. The range of valid ports is 30000-30009',
  });
  const got = new Set<number>([30005]);
  for (let i = 0; i < 9; i++) got.add(a.nodePort.allocateNext()!);
  assert.equal(got.size, 10);
  assert.equal(a.nodePort.allocateNext(), undefined);
  a.nodePort.release(30002);
  assert.equal(a.nodePort.free, 1);
  assert.equal(a.nodePort.allocateNext(), 30002);
});

test('dynamic node ports prefer the upper band', () => {
  const a = createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 30000, last: 32767 } });
  // 2768 ports: the static band is 2768/32 = 86 ports (KEP-3668).
  for (let i = 0; i < 200; i++) assert.ok(a.nodePort.allocateNext()! >= 30086);
});

test('rebuild marks what stored Services hold and forgets the rest', () => {
  const a = createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 30000, last: 32767 } });
  a.clusterIP.allocate('10.96.9.9');
  const svc = (spec: Service['spec']): Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'x' },
    spec,
  });
  a.rebuild([
    svc({
      type: 'NodePort',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ports: [{ port: 80, nodePort: 30080 }],
    }),
    svc({ type: 'ClusterIP', clusterIP: 'None', ports: [] }),
    svc({ type: 'ExternalName', externalName: 'example.com' }),
    svc({
      type: 'LoadBalancer',
      clusterIP: '10.96.0.11',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31000,
      ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }],
    }),
    svc({ type: 'ClusterIP', clusterIP: '192.168.0.1', ports: [{ port: 80 }] }),
  ]);
  assert.ok(a.clusterIP.has('10.96.0.10'));
  assert.ok(a.clusterIP.has('10.96.0.11'));
  assert.ok(!a.clusterIP.has('10.96.9.9'), 'rebuild starts from scratch');
  assert.equal(a.clusterIP.free, 65534 - 2);
  for (const p of [30080, 30053, 31000]) assert.ok(a.nodePort.has(p), `${p} held`);
  assert.equal(a.nodePort.free, 2768 - 3);
  assert.equal(a.clusterIP.allocate('10.96.0.10').ok, false);
});

test('bad ranges are KdpErrors that say what is wrong', () => {
  for (const cidr of ['10.96.0.0', '10.0.0.0/8', 'fd00::/112', 'nonsense', '10.96.0.0/31']) {
    assert.throws(
      () => createAllocators({ serviceCIDR: cidr, nodePortRange: { first: 30000, last: 32767 } }),
      (e) => isKdpError(e, 'KDP_ERR_SERVICE_CIDR'),
      cidr,
    );
  }
  assert.throws(
    () => createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 32767, last: 30000 } }),
    (e) => isKdpError(e, 'KDP_ERR_NODEPORT_RANGE'),
  );
  assert.equal(
    createAllocators({ serviceCIDR: '10.96.3.4/16', nodePortRange: { first: 1, last: 2 } }).clusterIP.cidr,
    '10.96.0.0/16',
  );
});
