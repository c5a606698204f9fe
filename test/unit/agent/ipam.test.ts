// Host-local IPAM: next-fit allocation from the node's pod CIDR (never network, gateway or
// broadcast), reuse of freed addresses, exhaustion as a typed error, and persistence: a reloaded
// IPAM keeps every allocation and its cursor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostLocalIpam, IPAM_EXHAUSTED } from '../../../dataplane/agent/ipam.ts';
import { isKdpError } from '../../../dataplane/errors.ts';

async function withFile(body: (file: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'kdp-ipam-'));
  try {
    await body(join(dir, 'ipam.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('allocates next-fit after the gateway and gives an owner the same address again', async () => {
  await withFile(async (file) => {
    const ipam = await HostLocalIpam.load(file);
    ipam.setRange('10.244.3.0/24');
    assert.equal(ipam.gateway, '10.244.3.1');
    assert.equal(ipam.prefixLength, 24);
    assert.equal(ipam.allocate('a'), '10.244.3.2');
    assert.equal(ipam.allocate('b'), '10.244.3.3');
    assert.equal(ipam.allocate('a'), '10.244.3.2');
    assert.equal(ipam.release('a'), '10.244.3.2');
    // Next-fit: the freed address is not handed out again while later ones are free.
    assert.equal(ipam.allocate('c'), '10.244.3.4');
  });
});

test('a full range throws IPAM_EXHAUSTED; a released address is then reused', async () => {
  await withFile(async (file) => {
    const ipam = await HostLocalIpam.load(file);
    ipam.setRange('10.244.0.0/29'); // .0 network, .1 gateway, .7 broadcast: .2-.6 usable
    const got = ['p1', 'p2', 'p3', 'p4', 'p5'].map((o) => ipam.allocate(o));
    assert.deepEqual(got, ['10.244.0.2', '10.244.0.3', '10.244.0.4', '10.244.0.5', '10.244.0.6']);
    assert.throws(
      () => ipam.allocate('p6'),
      (e) => isKdpError(e, IPAM_EXHAUSTED) && /no free pod address in 10\.244\.0\.0\/29/.test(e.message),
    );
    ipam.release('p3');
    assert.equal(ipam.allocate('p6'), '10.244.0.4');
  });
});

test('allocations and the cursor survive a reload; restore and setRange keep it consistent', async () => {
  await withFile(async (file) => {
    const first = await HostLocalIpam.load(file);
    first.setRange('10.244.1.0/24');
    first.allocate('a');
    first.allocate('b');
    await first.save();
    const stored = JSON.parse(await readFile(file, 'utf8'));
    assert.deepEqual(stored.allocations, { '10.244.1.2': 'a', '10.244.1.3': 'b' });

    const again = await HostLocalIpam.load(file);
    assert.equal(again.cidr, '10.244.1.0/24');
    assert.equal(again.ipOf('b'), '10.244.1.3');
    assert.equal(again.allocate('c'), '10.244.1.4');
    assert.equal(again.restore('10.244.1.3', 'someone-else'), false);
    assert.equal(again.restore('10.244.1.9', 'd'), true);
    assert.equal(again.restore('10.244.1.1', 'e'), false, 'the gateway is never a pod address');
    assert.deepEqual(again.setRange('10.244.1.0/24'), []);
    assert.deepEqual(
      again
        .setRange('10.244.9.0/24')
        .map((d) => d.owner)
        .sort(),
      ['a', 'b', 'c', 'd'],
    );
    assert.deepEqual(again.owners(), []);
  });
});

test('no range yet: allocate says the node has no pod CIDR', async () => {
  await withFile(async (file) => {
    const ipam = await HostLocalIpam.load(file);
    assert.throws(
      () => ipam.allocate('a'),
      (e) => isKdpError(e, 'KDP_ERR_AGENT_IPAM_RANGE'),
    );
  });
});
