// cleanup(): every KUBE-* chain of nat and filter and every jump to one goes, found by name (also
// chains the proxier never knew of, from an older version), and nobody else's rules and chains
// are touched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ep, HTTP, L1, R1, slice, svc } from '../../../../dataplane/proxy/compliance/index.ts';
import { cleanupIptables } from '../../../../dataplane/proxy/iptables/iptables-cleanup.ts';
import { cluster, kubeChains, NS } from './helpers.ts';

const OTHERS = [
  '*nat',
  ':FLANNEL-POSTRTG - [0:0]',
  ':KUBE-MARK-DROP - [0:0]',
  ':KUBE-SVL-LEFTOVER - [0:0]',
  '-A POSTROUTING -j FLANNEL-POSTRTG',
  '-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
  '-A FLANNEL-POSTRTG -j KUBE-MARK-DROP',
  '-A PREROUTING -j KUBE-SVL-LEFTOVER',
  'COMMIT',
  '',
].join('\n');

test("cleanup leaves nat and filter without any KUBE-* chain or jump, and others' rules in place", async () => {
  const c = await cluster(
    [
      svc('web', '10.96.0.10', { type: 'NodePort', ports: [{ ...HTTP, nodePort: 30080 }] }),
      svc('empty', '10.96.0.11'),
    ],
    [slice('web', [ep(L1), ep(R1)])],
  );
  await c.iptables.restore(NS, OTHERS, { noflush: true });
  assert.ok(kubeChains(c, 'nat').length > 6);
  await c.proxier.cleanup();
  assert.deepEqual(kubeChains(c, 'nat'), []);
  assert.deepEqual(kubeChains(c, 'filter'), []);
  const saved = await c.iptables.save(NS);
  assert.ok(!saved.includes('KUBE-'), saved);
  assert.ok(saved.includes('-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE'));
  assert.ok(saved.includes(':FLANNEL-POSTRTG - [0:0]'));
  assert.equal(c.proxier.programmed.sortedKeys().length, 0);
});

test('cleanup of a namespace with nothing of ours writes nothing', async () => {
  const c = await cluster([], []);
  await c.proxier.cleanup();
  const restores = c.iptables.restores;
  assert.deepEqual(await cleanupIptables(c.iptables, NS), { chains: 0 });
  assert.equal(c.iptables.restores, restores);
});
