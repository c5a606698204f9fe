// Full and partial syncs against the fake kernel: idempotent full re-syncs, partial syncs that
// write only the changed service's chains (and no dispatch chain when only endpoints changed),
// chain deletion, a ruleset reached by partial syncs equal to a fresh full sync's, stale chains
// from before the proxier, restore failures and the full retry, SCTP, node-ips node ports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSlice, Service } from '../../../../dataplane/api/types.ts';
import {
  at,
  ep,
  HTTP,
  L1,
  R1,
  R2,
  slice,
  svc,
  THIS_NODE_IP,
  thisNode,
} from '../../../../dataplane/proxy/compliance/index.ts';
import { KdpError } from '../../../../dataplane/errors.ts';
import { FakeIptables } from '../../../../dataplane/kernel/testing/fake-iptables.ts';
import { sample } from '../fixtures.ts';
import { cluster, generated, lastPayload, NS, trace } from './helpers.ts';

test('a second full sync with no changes writes the same payload and leaves the same ruleset', async () => {
  const { services, slices } = generated(5, 3);
  const c = await cluster(services, slices);
  const payload = c.iptables.lastRestore!.payload;
  const saved = await c.iptables.save(NS);
  // A Node change forces a full sync (as upstream); labels do not change any rule.
  c.proxier.onNodeUpdate(thisNode(), {
    ...thisNode(),
    metadata: { ...thisNode().metadata, labels: { x: 'y' } },
  });
  await c.settle();
  assert.equal(c.proxier.lastWrite?.kind, 'full');
  assert.equal(c.iptables.lastRestore!.payload, payload);
  assert.equal(await c.iptables.save(NS), saved);
  assert.deepEqual(c.iptables.lastRestore!.options, { noflush: false });
});

test("an endpoint change rewrites only that service's chains, not the dispatch chains", async () => {
  const { services, slices } = generated(10, 3);
  const c = await cluster(services, slices);
  const before = c.iptables.restores;
  const changed = slice('svc4', [ep('172.16.0.1'), ep('172.16.0.2'), ep('172.16.0.9')], slices[4].ports);
  await c.set(
    services,
    slices.map((s, i) => (i === 4 ? changed : s)),
  );
  assert.equal(c.iptables.restores, before + 1, 'one restore');
  const w = c.proxier.lastWrite!;
  assert.equal(w.kind, 'partial');
  assert.deepEqual(w.dispatch, []);
  const lines = lastPayload(c);
  assert.equal(lines[0], '*nat', 'no filter block');
  assert.ok(!lines.includes('*filter'));
  const declared = lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);
  const own = c.proxier.programmed.get('ns1/svc4:8080/TCP')!;
  const removedSep = declared.filter((ch) => !own.chains.includes(ch));
  assert.deepEqual(
    declared.filter((ch) => own.chains.includes(ch)).sort(),
    [...own.chains].sort(),
    'every chain of svc4 is rewritten',
  );
  assert.equal(removedSep.length, 1, "the removed endpoint's chain");
  assert.ok(lines.includes(`-X ${removedSep[0]}`));
  assert.ok(!declared.includes('KUBE-SERVICES') && !declared.includes('KUBE-NODEPORTS'));
  assert.ok(lines.every((l) => !l.startsWith('-A') || own.chains.some((ch) => l.startsWith(`-A ${ch} `))));
  assert.deepEqual(
    trace(c, { from: 'pod', source: '10.244.1.10', destination: '10.0.0.5', protocol: 'tcp', port: 84 })
      .outcomes,
    ['172.16.0.1:8080', '172.16.0.2:8080', '172.16.0.9:8080'],
  );
});

test('a new service rewrites the dispatch chains it appears in; one without endpoints only filter KUBE-SERVICES', async () => {
  const { services, slices } = generated(3, 2);
  const c = await cluster(services, slices);
  await c.set([...services, svc('empty', '10.96.0.99')], slices);
  assert.deepEqual(c.proxier.lastWrite!.dispatch, ['filter KUBE-SERVICES']);
  const lines = lastPayload(c);
  assert.deepEqual(lines.slice(0, 2), ['*filter', ':KUBE-SERVICES - [0:0]']);
  assert.ok(!lines.includes('*nat'), 'nat untouched');
  assert.equal(
    trace(c, { from: 'pod', source: '10.244.1.10', destination: '10.96.0.99', protocol: 'tcp', port: 80 })
      .outcomes[0],
    'REJECT',
  );

  // Its first endpoint: the REJECT goes, the ClusterIP jump comes.
  await c.set([...services, svc('empty', '10.96.0.99')], [...slices, slice('empty', [ep(R1)])]);
  assert.deepEqual(c.proxier.lastWrite!.dispatch, ['nat KUBE-SERVICES', 'filter KUBE-SERVICES']);
  assert.deepEqual(
    trace(c, { from: 'pod', source: '10.244.1.10', destination: '10.96.0.99', protocol: 'tcp', port: 80 })
      .outcomes,
    [at(R1)],
  );
});

test('removing a service deletes its chains and its dispatch rules', async () => {
  const { services, slices } = generated(3, 2);
  const c = await cluster(services, slices);
  const gone = c.proxier.programmed.get('ns1/svc1:8080/TCP')!.chains;
  await c.set([services[0], services[2]], [slices[0], slices[2]]);
  const lines = lastPayload(c);
  for (const ch of gone) assert.ok(lines.includes(`-X ${ch}`), ch);
  assert.deepEqual(c.proxier.lastWrite!.dispatch, ['nat KUBE-SERVICES']);
  const chains = [...c.iptables.ruleset(NS).get('nat')!.keys()];
  for (const ch of gone) assert.ok(!chains.includes(ch));
  assert.equal(c.proxier.programmed.get('ns1/svc1:8080/TCP'), undefined);
});

test('an update that changes no rule writes nothing', async () => {
  const c = await cluster([svc('web', '10.96.0.10')], [slice('web', [ep(R1), ep(R2)])]);
  const before = c.iptables.restores;
  const zoned = slice('web', [{ ...ep(R1), zone: 'z1' }, ep(R2)]);
  await c.set([svc('web', '10.96.0.10')], [zoned]);
  assert.equal(c.iptables.restores, before);
  assert.equal(c.proxier.lastWrite?.payload, undefined);
});

/** A little deterministic pseudo-random generator, so the walk below is the same on every run. */
function rng(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

test('after many partial syncs the ruleset equals a fresh full sync of the same objects', async () => {
  const random = rng(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const shapes = (i: number): Partial<Service['spec']>[] => [
    {},
    { type: 'NodePort', ports: [{ ...HTTP, nodePort: 30100 + i }] },
    { type: 'NodePort', ports: [{ ...HTTP, nodePort: 30100 + i }], externalTrafficPolicy: 'Local' },
    { internalTrafficPolicy: 'Local' },
    { sessionAffinity: 'ClientIP', externalIPs: ['198.18.5.1'] },
  ];
  const pool = [L1, '10.244.1.22', R1, R2, '10.244.2.23'];
  let services: Service[] = [];
  let slices: EndpointSlice[] = [];
  const c = await cluster(services, slices);
  const seen = new Set<string>();
  for (let step = 0; step < 60; step++) {
    const i = Math.floor(random() * 6);
    const name = `s${i}`;
    const action = random();
    if (action < 0.3) {
      services = [
        ...services.filter((s) => s.metadata.name !== name),
        svc(name, `10.96.1.${i + 1}`, pick(shapes(i))),
      ];
    } else if (action < 0.4) {
      services = services.filter((s) => s.metadata.name !== name);
    } else {
      const eps = pool
        .filter(() => random() < 0.5)
        .map((ip) => ep(ip, { ready: random() < 0.8, serving: true, terminating: random() < 0.2 }));
      slices = [
        ...slices.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] !== name),
        slice(name, eps),
      ];
    }
    await c.set(services, slices);
    const w = c.proxier.lastWrite!;
    if (w.kind === 'partial' && w.payload) seen.add(w.dispatch.length ? 'dispatch' : 'own chains only');
    if (w.removed) seen.add('chains removed');
    // The fake refuses a jump to a missing chain; check the ruleset itself all the same.
    for (const table of c.iptables.ruleset(NS).values())
      for (const chain of table.values())
        for (const rule of chain.rules)
          if (rule.target?.kind === 'chain') assert.ok(table.has(rule.target.chain), `dangling ${rule.text}`);
  }
  assert.ok(c.iptables.restores > 20);
  assert.deepEqual(
    [...seen].sort(),
    ['chains removed', 'dispatch', 'own chains only'],
    'the walk covers each kind',
  );
  const fresh = await cluster(services, slices);
  assert.equal(await c.iptables.save(NS), await fresh.iptables.save(NS));
});

test("the first sync deletes service chains left from before, and nobody else's chains", async () => {
  // A restarted agent: a new proxier on a kernel that still holds an old service's chains.
  const iptables = new FakeIptables();
  await iptables.restore(
    NS,
    [
      '*nat',
      ':KUBE-SVC-OLD - [0:0]',
      ':KUBE-SEP-OLD - [0:0]',
      ':MINE - [0:0]',
      '-A KUBE-SVC-OLD -j KUBE-SEP-OLD',
      'COMMIT',
      '',
    ].join('\n'),
  );
  const c = await cluster([svc('web', '10.96.0.10')], [slice('web', [ep(R1)])], { iptables });
  const nat = [...iptables.ruleset(NS).get('nat')!.keys()];
  assert.ok(!nat.includes('KUBE-SVC-OLD') && !nat.includes('KUBE-SEP-OLD'));
  assert.ok(nat.includes('MINE'));
  assert.equal(c.proxier.lastWrite!.removed, 2);
});

test('a refused restore counts a failure, and the retry is a full sync that reads the tables back', async () => {
  const c = await cluster([svc('web', '10.96.0.10')], [slice('web', [ep(R1)])]);
  const real = c.iptables.restore.bind(c.iptables);
  let refuse = 1;
  c.iptables.restore = async (ns, payload, options) => {
    if (refuse-- > 0) throw new KdpError('KDP_ERR_KERNEL_REJECTED', 'refused for the test');
    return real(ns, payload, options);
  };
  const calls = (name: string) => c.iptables.callCount(name);
  const saves = calls('save');
  await assert.rejects(c.set([svc('web', '10.96.0.10')], [slice('web', [ep(R1), ep(R2)])]), /refused/);
  const m = c.proxier.metrics;
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total'), 1);
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total'), 1);
  assert.equal(c.proxier.programmed.trusted, false);
  // The runner retries after retryPeriod (default: syncPeriod, 30 s).
  await c.clock.advance(30_000);
  assert.equal(c.proxier.lastWrite!.kind, 'full');
  assert.equal(calls('save'), saves + 1, 'nat and filter read back before the rebuild');
  assert.equal(c.iptables.lastRestore!.options.noflush, false);
  assert.deepEqual(
    trace(c, { from: 'pod', source: '10.244.1.10', destination: '10.96.0.10', protocol: 'tcp', port: 80 })
      .outcomes,
    [at(R1), at(R2)],
  );
});

test('SCTP service ports are programmed only when enabled', async () => {
  const sig = svc('sig', '10.96.0.40', { ports: [{ name: 'sig', protocol: 'SCTP', port: 3868 }] });
  const sl = slice('sig', [ep(R1)], [{ name: 'sig', protocol: 'SCTP', port: 3868 }]);
  const off = await cluster([sig], [sl]);
  assert.equal(off.proxier.programmed.sortedKeys().length, 0);
  assert.ok(!(await off.iptables.save(NS)).includes('sctp'));
  const on = await cluster([sig], [sl], { sctp: true });
  assert.deepEqual(on.proxier.programmed.sortedKeys(), ['ns1/sig:sig/SCTP']);
  assert.deepEqual(
    trace(on, { from: 'pod', source: '10.244.1.10', destination: '10.96.0.40', protocol: 'sctp', port: 3868 })
      .outcomes,
    [at(R1, 3868)],
  );
});

test("node-ips node ports: one tail rule per node address, rewritten when the node's addresses change", async () => {
  const np = svc('web', '10.96.0.10', { type: 'NodePort', ports: [{ ...HTTP, nodePort: 30080 }] });
  const c = await cluster([np], [slice('web', [ep(R1)])], { nodePortAddresses: 'node-ips' });
  const tail = lastPayload(c).filter(
    (l) => l.includes('-j KUBE-NODEPORTS') && l.startsWith('-A KUBE-SERVICES'),
  );
  assert.deepEqual(tail, [
    `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d ${THIS_NODE_IP} -j KUBE-NODEPORTS`,
  ]);
  const external = {
    from: 'external' as const,
    source: '198.18.0.100',
    protocol: 'tcp' as const,
    port: 30080,
  };
  assert.deepEqual(trace(c, { ...external, destination: THIS_NODE_IP }).outcomes, [at(R1)]);
  const moved = thisNode();
  moved.status = { addresses: [{ type: 'InternalIP', address: '198.18.0.9' }] };
  c.proxier.onNodeUpdate(thisNode(), moved);
  await c.settle();
  assert.ok(lastPayload(c).some((l) => l.endsWith('-d 198.18.0.9 -j KUBE-NODEPORTS')));
  assert.ok(!lastPayload(c).some((l) => l.endsWith(`-d ${THIS_NODE_IP} -j KUBE-NODEPORTS`)));
});

const FOREIGN = [
  '*filter',
  ':FORWARD DROP [0:0]',
  ':OVERLAY-FWD - [0:0]',
  '-A FORWARD -j OVERLAY-FWD',
  '-A OVERLAY-FWD -s 10.244.0.0/16 -j ACCEPT',
  'COMMIT',
  '*nat',
  ':KUBE-OLD - [0:0]',
  '-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
  '-A PREROUTING -j KUBE-OLD',
  '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  'COMMIT',
  '',
].join('\n');

test("full syncs rebuild nat and filter keeping everyone else's chains, rules and policies", async () => {
  const iptables = new FakeIptables();
  await iptables.restore(NS, '*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n');
  await iptables.restore(NS, FOREIGN, { noflush: true });
  const c = await cluster([svc('web', '10.96.0.10')], [slice('web', [ep(R1)])], { iptables });
  const saved = () => iptables.save(NS);
  const lines = (await saved()).split('\n');
  assert.ok(lines.includes(':FORWARD DROP [0:0]'), 'policy kept');
  assert.ok(lines.includes('-A OVERLAY-FWD -s 10.244.0.0/16 -j ACCEPT'));
  assert.ok(lines.includes('-A FORWARD -j OVERLAY-FWD'));
  assert.ok(lines.includes('-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE'));
  assert.ok(!lines.some((l) => l.includes('KUBE-OLD')), 'a stale KUBE chain and the jump to it are gone');
  // Our jump that was there stays in its place (after nothing here); the missing ones are put first.
  const natOutput = lines.filter((l) => l.startsWith('-A OUTPUT '));
  assert.deepEqual(
    natOutput.filter((l) => l.includes('KUBE-SERVICES')).length,
    2,
    'filter and nat OUTPUT jumps',
  );
  const post = lines.filter((l) => l.startsWith('-A POSTROUTING '));
  assert.deepEqual(post, [
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
  ]);
  assert.deepEqual(
    trace(c, { from: 'pod', source: '10.244.1.10', destination: '10.96.0.10', protocol: 'tcp', port: 80 })
      .outcomes,
    [at(R1)],
  );

  // Someone adds a rule after the first sync: the next full sync reads it and keeps it.
  await iptables.restore(NS, '*nat\n-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n', { noflush: true });
  c.proxier.onNodeUpdate(thisNode(), {
    ...thisNode(),
    metadata: { ...thisNode().metadata, labels: { x: 'y' } },
  });
  await c.settle();
  assert.equal(c.proxier.lastWrite?.kind, 'full');
  assert.ok((await saved()).includes('-A POSTROUTING -o eth9 -j MASQUERADE'));
});

test("rereadForeignRules false: others' rules are read once, and what they add later is not kept", async () => {
  const iptables = new FakeIptables();
  await iptables.restore(NS, '*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n');
  await iptables.restore(NS, FOREIGN, { noflush: true });
  const c = await cluster([svc('web', '10.96.0.10')], [slice('web', [ep(R1)])], {
    iptables,
    rereadForeignRules: false,
  });
  const saves = iptables.callCount('save');
  await iptables.restore(NS, '*nat\n-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n', { noflush: true });
  c.proxier.onNodeUpdate(thisNode(), {
    ...thisNode(),
    metadata: { ...thisNode().metadata, labels: { x: 'y' } },
  });
  await c.settle();
  assert.equal(c.proxier.lastWrite?.kind, 'full');
  assert.equal(iptables.callCount('save'), saves, 'no iptables-save');
  const saved = await iptables.save(NS);
  assert.ok(
    saved.includes('-A OVERLAY-FWD -s 10.244.0.0/16 -j ACCEPT'),
    'what was there at the first sync stays',
  );
  assert.ok(!saved.includes('eth9'), 'what came later is gone');
});
