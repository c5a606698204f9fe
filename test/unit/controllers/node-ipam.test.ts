// Node IPAM on the real in-process apiserver: distinct subnets, the used set rebuilt at start, a
// freed subnet reused, and a clear error (log and Event) when the cluster CIDR is exhausted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Node } from '../../../dataplane/api/types.ts';
import { CidrSet } from '../../../dataplane/controllers/cidr-set.ts';
import { NodeIpamController } from '../../../dataplane/controllers/node-ipam.ts';
import { captureLog, fastRetry, makeNode, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

test('CidrSet carves subnets and addresses and rejects what does not fit', () => {
  const set = new CidrSet('10.244.0.0/16', 24);
  assert.equal(set.size, 256);
  assert.equal(set.allocateNext(), '10.244.0.0/24');
  assert.equal(set.indexOf('10.244.7.0/24'), 7);
  assert.equal(set.indexOf('10.245.0.0/24'), undefined);
  assert.equal(set.indexOf('10.244.7.0/25'), undefined);
  const addrs = new CidrSet('10.244.3.0/24', 32, [0, 1, -1]);
  assert.equal(addrs.free, 253);
  assert.equal(addrs.allocateNext(), '10.244.3.2');
  assert.equal(addrs.occupy('10.244.3.255'), false, 'broadcast is reserved');
  assert.throws(() => new CidrSet('10.244.0.0/16', 8), { code: 'KDP_ERR_INVALID_CIDR' });
  assert.throws(() => new CidrSet('nonsense', 24), { code: 'KDP_ERR_INVALID_CIDR' });
});

test('node IPAM hands out distinct subnets, keeps existing ones, reuses freed ones and reports exhaustion', async () => {
  const s = await stack();
  const nodes = s.client.resource<Node>('nodes');
  // A /22 in /24s: four subnets. One is already taken by a Node from before the controller ran.
  await makeNode(s.client, 'old', { podCIDR: '10.10.1.0/24' });
  const log = captureLog();
  const ctl = new NodeIpamController(s.client, {
    clusterCIDR: '10.10.0.0/22',
    nodeCIDRMaskSize: 24,
    log,
    retry: fastRetry,
  });
  try {
    await ctl.start();
    for (const n of ['a', 'b', 'c']) await makeNode(s.client, n);
    const cidrs = await until('three nodes with pod CIDRs', async () => {
      const got = await Promise.all(['a', 'b', 'c'].map((n) => nodes.get(n)));
      return got.every((n) => n.spec?.podCIDR) && got.map((n) => n.spec!.podCIDR!);
    });
    assert.deepEqual([...cidrs, '10.10.1.0/24'].sort(), [
      '10.10.0.0/24',
      '10.10.1.0/24',
      '10.10.2.0/24',
      '10.10.3.0/24',
    ]);
    for (const n of ['a', 'b', 'c']) {
      const node = await nodes.get(n);
      assert.deepEqual(node.spec?.podCIDRs, [node.spec?.podCIDR]);
    }

    // Exhausted: the fifth Node waits, with an error log and a Warning Event.
    await makeNode(s.client, 'd');
    const event = await until('CIDRNotAvailable event', async () => {
      const evs = await s.client.resource<Event>('events').list({ namespace: 'default' });
      return evs.items.find((e) => e.reason === 'CIDRNotAvailable' && e.involvedObject?.name === 'd');
    });
    assert.equal(event.type, 'Warning');
    assert.match(
      event.message!,
      /no pod CIDR left for node d: all 4 \/24 subnets of the cluster CIDR 10\.10\.0\.0\/22 are in use/,
    );
    assert.ok(
      log.lines.some((l) => l.level === 'error' && l.message.includes('no pod CIDR left for node d')),
    );
    assert.equal((await nodes.get('d')).spec?.podCIDR, undefined);

    // Deleting a Node frees its subnet; the waiting Node gets it.
    const freed = (await nodes.get('b')).spec!.podCIDR;
    await nodes.delete('b');
    const d = await until('d gets the freed subnet', async () => {
      const n = await nodes.get('d');
      return n.spec?.podCIDR ? n : undefined;
    });
    assert.equal(d.spec!.podCIDR, freed);
  } finally {
    await ctl.close();
    s.close();
  }
});
