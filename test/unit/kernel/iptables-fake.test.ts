/**
 * FakeIptables restores as iptables-restore does (each case was first run through the real
 * iptables-nft-restore and iptables-legacy-restore; test/integration/kernel/iptables-parity
 * repeats them against the kernel): flush and --noflush semantics, one transaction per table
 * block, refusals naming the blamed line, no dangling jumps, -X rules, hook and loop checks;
 * plus counting, the host guard, namespaces of a FakeKernel, and the jump/chain helpers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError, type KdpError } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import {
  KUBE_PROXY_JUMPS,
  kubeShapedPayload,
} from '../../../dataplane/kernel/testing/iptables-kube-shape.ts';

const NS = 'kdp-u-node';
const BASE = `*nat
:KUBE-A - [0:0]
:KUBE-B - [0:0]
:KUBE-C - [0:0]
-A PREROUTING -j KUBE-A
-A OUTPUT -j KUBE-C
-A KUBE-A -j KUBE-B
-A KUBE-B -j RETURN
-A KUBE-C -j RETURN
COMMIT
`;

/** The -A lines and user chains of a table, as a comparison key. */
async function rules(f: FakeIptables, table: 'nat' | 'filter' = 'nat'): Promise<string[]> {
  return (await f.save(NS, table)).split('\n').filter((l) => l.startsWith('-A') || /^:KUBE/.test(l));
}

async function withBase(): Promise<FakeIptables> {
  const f = new FakeIptables({ prefix: 'kdp-u-' });
  await f.restore(NS, BASE);
  return f;
}

async function rejected(p: Promise<unknown>, line: number, reason: RegExp): Promise<KdpError> {
  let error: KdpError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isKdpError(e, KERNEL_ERR.rejected), `expected a rejection, got ${String(e)}`);
    error = e;
    return true;
  });
  assert.equal(error!.details?.line, line, error!.message);
  assert.match(error!.message, reason);
  return error!;
}

test('without --noflush every table in the payload starts empty: rules, user chains and built-ins', async () => {
  const f = await withBase();
  await f.restore(NS, '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-A - [0:0]\n-A KUBE-A -j ACCEPT\nCOMMIT\n');
  assert.deepEqual(await rules(f), [':KUBE-A - [0:0]', '-A KUBE-A -j ACCEPT']);
});

test('with --noflush only declared user chains are emptied; declared built-ins keep their rules', async () => {
  const f = await withBase();
  await f.restore(NS, '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-A - [0:0]\n-A KUBE-A -j ACCEPT\nCOMMIT\n', {
    noflush: true,
  });
  assert.deepEqual(await rules(f), [
    ':KUBE-A - [0:0]',
    ':KUBE-B - [0:0]',
    ':KUBE-C - [0:0]',
    '-A PREROUTING -j KUBE-A',
    '-A OUTPUT -j KUBE-C',
    '-A KUBE-A -j ACCEPT',
    '-A KUBE-B -j RETURN',
    '-A KUBE-C -j RETURN',
  ]);
});

test('a refused block changes nothing in its table; earlier blocks stay committed', async () => {
  const f = await withBase();
  const before = await f.save(NS);
  const e = await rejected(
    f.restore(
      NS,
      '*filter\n:KUBE-F - [0:0]\n-A KUBE-F -j RETURN\nCOMMIT\n*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j KUBE-NOPE\nCOMMIT\n',
      { noflush: true },
    ),
    7,
    /line 7 refused \(-A KUBE-A -j KUBE-NOPE\): Chain 'KUBE-NOPE' does not exist; tables committed before it: filter/,
  );
  assert.deepEqual(e.details?.committedTables, ['filter']);
  assert.equal(await f.save(NS, 'nat'), before);
  assert.deepEqual(await rules(f, 'filter'), [':KUBE-F - [0:0]', '-A KUBE-F -j RETURN']);
  // A flushing restore that fails leaves the old table too.
  await rejected(f.restore(NS, '*nat\n-A KUBE-X -j RETURN\nCOMMIT\n'), 2, /Chain 'KUBE-X' does not exist/);
  assert.equal(await f.save(NS, 'nat'), before);
  assert.equal(f.rejectedRestores, 2);
});

test('the payload checks iptables-restore and the kernel make, blamed on the same line', async () => {
  const cases: [payload: string, line: number, reason: RegExp][] = [
    [
      '*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j KUBE-LATER\n:KUBE-LATER - [0:0]\nCOMMIT\n',
      3,
      /KUBE-LATER' does not exist/,
    ],
    ['*nat\n-A KUBE-Z -j RETURN\nCOMMIT\n', 2, /Chain 'KUBE-Z' does not exist/],
    ['*nat\n-X KUBE-B\nCOMMIT\n', 2, /Too many links/],
    ['*nat\n-F KUBE-A\n-X KUBE-B\nCOMMIT\n', 3, /Directory not empty/],
    ['*nat\n-X PREROUTING\nCOMMIT\n', 2, /built-in chain/],
    ['*nat\n-X KUBE-NOSUCH\nCOMMIT\n', 2, /does not exist/],
    ['*nat\n-F KUBE-NOSUCH\nCOMMIT\n', 2, /does not exist/],
    ['*nat\n-D KUBE-A -j KUBE-C\nCOMMIT\n', 2, /does a matching rule exist/],
    [
      '*nat\n:KUBE-A - [0:0]\n-A KUBE-A -p tcp --dportx 80 -j RETURN\nCOMMIT\n',
      3,
      /unknown option "--dportx"/,
    ],
    ['*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j RETURN\n', 4, /COMMIT expected/],
    ['*foo\nCOMMIT\n', 1, /table name 'foo' invalid/],
    ['-A KUBE-A -j RETURN\n', 1, /no table opened/],
    ['*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j PREROUTING\nCOMMIT\n', 3, /built-in chain PREROUTING/],
    ['*nat\n:KUBE-X ACCEPT [0:0]\nCOMMIT\n', 2, /Bad built-in chain name/],
    ['*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j REJECT\nCOMMIT\n', 3, /only valid in the filter table/],
    [
      '*filter\n:KUBE-A - [0:0]\n-A KUBE-A -p tcp -j DNAT --to-destination 1.1.1.1:80\nCOMMIT\n',
      3,
      /nat table/,
    ],
    ['*nat\n:KUBE-D - [0:0]\n-A KUBE-D -j DROP\nCOMMIT\n', 3, /not intended for filtering/],
    [
      '*nat\n:KUBE-M - [0:0]\n-A PREROUTING -j KUBE-M\n-A KUBE-M -j MASQUERADE\nCOMMIT\n',
      4,
      /reachable from PREROUTING/,
    ],
    [
      '*filter\n:KUBE-L - [0:0]\n:KUBE-K - [0:0]\n-A INPUT -j KUBE-L\n-A KUBE-L -j KUBE-K\n-A KUBE-K -j KUBE-L\nCOMMIT\n',
      6,
      /loop/,
    ],
    ['*filter\n-A OUTPUT -i eth0 -j ACCEPT\nCOMMIT\n', 2, /Can't use -i with OUTPUT/],
    ['*nat\n:ACCEPT - [0:0]\nCOMMIT\n', 2, /clash with a target/],
    ['*nat\n:KUBE-A - [0:0]\n-I KUBE-A 2 -j RETURN\nCOMMIT\n', 3, /Index of insertion too big/],
  ];
  for (const [payload, line, reason] of cases) {
    const f = await withBase();
    const before = await f.save(NS);
    await rejected(f.restore(NS, payload, { noflush: true }), line, reason);
    assert.equal(await f.save(NS), before, payload);
  }
});

test('what the kernel allows: an unreachable loop, a restricted target in an unreachable chain, counters', async () => {
  const f = await withBase();
  await f.restore(
    NS,
    '*nat\n:KUBE-L - [0:0]\n:KUBE-K - [0:0]\n-A KUBE-L -j KUBE-K\n-A KUBE-K -j KUBE-L\nCOMMIT\n',
    {
      noflush: true,
    },
  );
  await f.restore(NS, '*nat\n:KUBE-Q - [0:0]\n-A KUBE-Q -j MASQUERADE\n-A POSTROUTING -j KUBE-Q\nCOMMIT\n', {
    noflush: true,
  });
  await f.restore(NS, '*filter\n:FORWARD DROP [5:6]\n:KUBE-F - [0:0]\n[3:4] -A KUBE-F -j RETURN\nCOMMIT\n', {
    counters: true,
  });
  assert.match(await f.save(NS, 'filter'), /^:FORWARD DROP \[0:0\]$/m);
  // Declaring a chain twice empties it twice; -N, -I with positions, -D, -R and -X work in restore.
  await f.restore(
    NS,
    '*nat\n-N KUBE-NEW\n-I KUBE-A 1 -j KUBE-NEW\n-I KUBE-A -j RETURN\n-I KUBE-A 3 -j KUBE-C\n-R KUBE-C 1 -j ACCEPT\n-D KUBE-A 1\nCOMMIT\n',
    { noflush: true },
  );
  assert.deepEqual(
    (await rules(f)).filter((l) => /^-A KUBE-[AC] /.test(l)),
    ['-A KUBE-A -j KUBE-NEW', '-A KUBE-A -j KUBE-C', '-A KUBE-A -j KUBE-B', '-A KUBE-C -j ACCEPT'],
  );
  await f.restore(NS, '*nat\n:KUBE-K - [0:0]\n:KUBE-L - [0:0]\n-X KUBE-K\n-X KUBE-L\nCOMMIT\n', {
    noflush: true,
  });
  assert.deepEqual(await f.listChains(NS, 'nat', 'KUBE-'), [
    'KUBE-A',
    'KUBE-B',
    'KUBE-C',
    'KUBE-NEW',
    'KUBE-Q',
  ]);
});

test('save prints tables as iptables-save: built-ins in order, user chains sorted, canonical rules', async () => {
  const f = new FakeIptables({ prefix: 'kdp-u-' });
  await f.restore(
    NS,
    '*nat\n:KUBE-Z - [0:0]\n:KUBE-A - [0:0]\n-A KUBE-Z -d 10.96.0.1 -m tcp -p tcp --dport 443 -j KUBE-A\nCOMMIT\n',
  );
  assert.equal(
    await f.save(NS),
    [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':KUBE-A - [0:0]',
      ':KUBE-Z - [0:0]',
      '-A KUBE-Z -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j KUBE-A',
      'COMMIT',
      '',
    ].join('\n'),
  );
  // A table never restored prints its empty built-ins, as `iptables-save -t filter` does.
  assert.equal(
    await f.save(NS, 'filter'),
    '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n',
  );
});

test('restores, bytes and calls are counted; the last payload is kept', async () => {
  const f = await withBase();
  const payload = '*nat\n:KUBE-A - [0:0]\nCOMMIT\n';
  await f.restore(NS, payload, { noflush: true });
  assert.equal(f.restores, 2);
  assert.equal(f.restoredBytes, Buffer.byteLength(BASE) + Buffer.byteLength(payload));
  assert.deepEqual(f.lastRestore, { ns: NS, payload, options: { noflush: true } });
  await f.ensureJumps(NS, KUBE_PROXY_JUMPS);
  assert.equal(f.restores, 2, 'the helpers do not count as restore() calls');
  assert.equal(f.callCount('ensureJumps'), 1);
  f.resetCounts();
  assert.equal(f.restores + f.restoredBytes + f.callCount('restore'), 0);
});

test('the guard refuses the host namespace and foreign names; a FakeKernel decides which namespaces exist', async () => {
  const f = new FakeIptables({ prefix: 'kdp-u-' });
  for (const ns of ['', 'default', 'kdp-other-x'])
    await assert.rejects(f.restore(ns, BASE), (e: unknown) => isKdpError(e, KERNEL_ERR.hostNamespace));
  const kernel = new FakeKernel({ prefix: 'kdp-u-' });
  const k = new FakeIptables({ prefix: 'kdp-u-', kernel });
  await assert.rejects(k.save(NS), (e: unknown) => isKdpError(e, KERNEL_ERR.notFound));
  await kernel.netns.create(NS);
  await k.restore(NS, BASE);
  assert.equal(k.ruleCount(NS), 5);
  // A namespace deleted and made again starts with empty tables, as in the kernel.
  await kernel.netns.delete(NS);
  await kernel.netns.create(NS);
  assert.equal(k.ruleCount(NS), 0);
});

test('ensureJumps adds missing chains and rules once; deleteJumps and deleteChains undo them', async () => {
  const f = new FakeIptables({ prefix: 'kdp-u-' });
  assert.equal(await f.ensureJumps(NS, KUBE_PROXY_JUMPS), 15, '6 chains and 9 rules');
  assert.equal(await f.ensureJumps(NS, KUBE_PROXY_JUMPS), 0);
  assert.match(
    await f.save(NS, 'filter'),
    /^-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES$/m,
  );
  await f.ensureJumps(NS, [{ table: 'nat', from: 'PREROUTING', to: 'KUBE-FIRST', position: 'prepend' }]);
  assert.match(await f.save(NS, 'nat'), /^:KUBE-SERVICES - \[0:0\]\n-A PREROUTING -j KUBE-FIRST\n/m);
  // A chain still jumped to cannot go; after the jumps are gone it can.
  await assert.rejects(f.deleteChains(NS, 'nat', ['KUBE-SERVICES']), (e: unknown) =>
    isKdpError(e, KERNEL_ERR.rejected),
  );
  assert.equal(await f.deleteJumps(NS, KUBE_PROXY_JUMPS), 9);
  assert.equal(await f.deleteJumps(NS, KUBE_PROXY_JUMPS), 0);
  assert.equal(await f.deleteChains(NS, 'nat', ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NOT-THERE']), 2);
  assert.deepEqual(await f.listChains(NS, 'nat', 'KUBE-'), ['KUBE-FIRST']);
});

test("kube-proxy's shape: 10 services x 10 endpoints restore with the rule counts of upstream's layout", async () => {
  const f = new FakeIptables({ prefix: 'kdp-u-' });
  await f.ensureJumps(NS, KUBE_PROXY_JUMPS);
  await f.restore(NS, kubeShapedPayload({ services: 10, endpointsPerService: 10 }), { noflush: true });
  const chains = await f.listChains(NS, 'nat');
  assert.equal(chains.filter((c) => c.startsWith('KUBE-SVC-')).length, 10);
  assert.equal(chains.filter((c) => c.startsWith('KUBE-SEP-')).length, 100);
  // KUBE-SERVICES: one per service + the nodeports rule; KUBE-SVC: masq + one per endpoint;
  // KUBE-SEP: masq + DNAT; KUBE-POSTROUTING 3, KUBE-MARK-MASQ 1, built-in jumps 3.
  assert.equal(f.ruleCount(NS, 'nat'), 11 + 10 * 11 + 100 * 2 + 3 + 1 + 3);
  // An idempotent re-sync leaves the same rules.
  const before = await f.save(NS);
  await f.restore(NS, kubeShapedPayload({ services: 10, endpointsPerService: 10 }), { noflush: true });
  assert.equal(await f.save(NS), before);
});
