// The shape of the ruleset: upstream's rule counts for its generated clusters
// (pkg/proxy/iptables/number_generated_rules_test.go), counts worked out by hand for node ports
// and load balancers, the rules of one service in upstream's exact text, large-cluster mode, and
// the rule counts the proxier reports to its metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { at, ep, HTTP, L1, R1, slice, svc } from '../../../../dataplane/proxy/compliance/index.ts';
import { sample } from '../fixtures.ts';
import { cluster, generated, kubeChains, kubeRules, lastPayload } from './helpers.ts';

// nat without services: KUBE-POSTROUTING (3), KUBE-MARK-MASQ (1), the KUBE-NODEPORTS tail of
// KUBE-SERVICES (1). filter: KUBE-FORWARD (3).
const NAT_FIXED = 5;
const FILTER_FIXED = 3;

// A ClusterIP service with m > 0 endpoints adds to nat: its KUBE-SERVICES rule (1), the
// masquerade rule of KUBE-SVC (1), one KUBE-SVC -> KUBE-SEP rule per endpoint (m), two rules per
// KUBE-SEP (2m); without endpoints it adds one REJECT rule to filter instead.
const clusterIPNat = (m: number) => (m === 0 ? 0 : 2 + 3 * m);
const clusterIPFilter = (m: number) => (m === 0 ? 1 : 0);

const UPSTREAM: [services: number, endpoints: number, filter: number, nat: number][] = [
  [0, 0, 3, 5],
  [1, 0, 4, 5],
  [1, 1, 3, 10],
  [1, 2, 3, 13],
  [1, 10, 3, 37],
  [10, 0, 13, 5],
  [10, 1, 3, 55],
  [10, 2, 3, 85],
  [10, 10, 3, 325],
];

for (const [n, m, filter, nat] of UPSTREAM) {
  test(`${n} ClusterIP services x ${m} endpoints: ${filter} filter and ${nat} nat rules, as upstream`, async () => {
    // The hand count agrees with upstream's table...
    assert.equal(NAT_FIXED + n * clusterIPNat(m), nat);
    assert.equal(FILTER_FIXED + n * clusterIPFilter(m), filter);
    const { services, slices } = generated(n, m);
    const c = await cluster(services, slices);
    // ...and with what the fake kernel holds.
    assert.equal(kubeRules(c, 'nat'), nat);
    assert.equal(kubeRules(c, 'filter'), filter);
    // nat chains: 4 fixed, a KUBE-SVC per service with endpoints, a KUBE-SEP per endpoint.
    assert.equal(kubeChains(c, 'nat').length, 4 + (m > 0 ? n : 0) + n * m);
    assert.equal(kubeChains(c, 'filter').length, 5);
    const m_ = c.proxier.metrics;
    assert.equal(
      await sample(m_, 'kubeproxy_sync_proxy_rules_iptables_total', undefined, { table: 'nat' }),
      nat,
    );
    assert.equal(
      await sample(m_, 'kubeproxy_sync_proxy_rules_iptables_total', undefined, { table: 'filter' }),
      filter,
    );
  });
}

test('10 NodePort services x 10 endpoints: counted by hand', async () => {
  const { services, slices } = generated(10, 10, (i) => ({
    type: 'NodePort',
    ports: [{ name: '8080', protocol: 'TCP', port: 80 + i, targetPort: 8080, nodePort: 30000 + i }],
  }));
  const c = await cluster(services, slices);
  // Per service: ClusterIP (1) + KUBE-NODEPORTS (1) + KUBE-EXT masquerade and jump (2)
  // + KUBE-SVC masquerade (1) + 10 endpoint picks + 10 x 2 KUBE-SEP rules = 35.
  assert.equal(kubeRules(c, 'nat'), NAT_FIXED + 10 * 35);
  // Chains: fixed 4 + per service KUBE-EXT, KUBE-SVC and 10 KUBE-SEP.
  assert.equal(kubeChains(c, 'nat').length, 4 + 10 * 12);
  assert.equal(kubeRules(c, 'filter'), FILTER_FIXED);
});

test('a LoadBalancer with externalTrafficPolicy Local: counted by hand', async () => {
  const lb = svc(
    'web',
    '10.96.0.20',
    {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32100,
      ports: [{ ...HTTP, nodePort: 30080 }],
    },
    ['198.18.6.1'],
  );
  const c = await cluster([lb], [slice('web', [ep(L1), ep(R1)])]);
  // KUBE-SERVICES: ClusterIP, LB IP (2); KUBE-NODEPORTS (1); KUBE-EXT: pod short-circuit,
  // masquerade LOCAL, route LOCAL, jump to KUBE-SVL (4); KUBE-SVC: masquerade + 2 picks (3);
  // KUBE-SVL: the local endpoint (1); 2 KUBE-SEP x 2 (4).
  assert.equal(kubeRules(c, 'nat'), NAT_FIXED + 15);
  assert.equal(kubeChains(c, 'nat').length, 4 + 5);
  // The health check node port is accepted in filter KUBE-NODEPORTS.
  assert.equal(kubeRules(c, 'filter'), FILTER_FIXED + 1);
  assert.ok(
    lastPayload(c).includes(
      '-A KUBE-NODEPORTS -m comment --comment "ns1/web:http health check node port" -m tcp -p tcp --dport 32100 -j ACCEPT',
    ),
  );
});

test("one service is written in upstream's exact text", async () => {
  const s = svc('svc1', '172.30.0.41', {
    ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80 }],
  });
  const c = await cluster(
    [s],
    [slice('svc1', [ep('10.180.0.1')], [{ name: 'p80', protocol: 'TCP', port: 80 }])],
    {
      clusterCIDR: '10.0.0.0/8',
    },
  );
  const nat = lastPayload(c).slice(lastPayload(c).indexOf('*nat'));
  assert.deepEqual(nat, [
    '*nat',
    // A full sync rebuilds the table, built-in chains and the jumps into ours included.
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]',
    ':KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    '-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80',
    'COMMIT',
  ]);
});

test('statistic probabilities 1/n, 1/(n-1), ..., last unconditional; affinity with its timeout', async () => {
  const s = svc('sticky', '10.96.0.10', {
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
  });
  const ips = ['10.244.2.1', '10.244.2.2', '10.244.2.3'];
  const c = await cluster(
    [s],
    [
      slice(
        'sticky',
        ips.map((ip) => ep(ip)),
      ),
    ],
  );
  const p = c.proxier.programmed.get('ns1/sticky:http/TCP')!;
  const svcRules = p.chainRules.filter((l) => l.startsWith('-A KUBE-SVC-'));
  const seps = p.chains.filter((ch) => ch.startsWith('KUBE-SEP-'));
  assert.match(svcRules[0], /! -s 10\.244\.0\.0\/16 -j KUBE-MARK-MASQ$/);
  for (let i = 0; i < 3; i++)
    assert.ok(
      svcRules[1 + i].endsWith(`-m recent --name ${seps[i]} --rcheck --seconds 600 --reap -j ${seps[i]}`),
    );
  assert.ok(svcRules[4].endsWith(`-m statistic --mode random --probability 0.3333333333 -j ${seps[0]}`));
  assert.ok(svcRules[5].endsWith(`-m statistic --mode random --probability 0.5000000000 -j ${seps[1]}`));
  assert.ok(svcRules[6].endsWith(`"ns1/sticky:http -> ${at(ips[2])}" -j ${seps[2]}`));
  const dnat = p.chainRules.filter((l) => l.includes('DNAT'));
  assert.ok(
    dnat[0].includes(
      `-m recent --name ${seps[0]} --set -m tcp -p tcp -j DNAT --to-destination ${at(ips[0])}`,
    ),
  );
});

test('large-cluster mode drops the comments of per-endpoint rules only, and flipping it rewrites everything', async () => {
  const { services, slices } = generated(2, 3);
  const c = await cluster(services, slices, { largeClusterEndpointsThreshold: 6 });
  assert.ok(
    lastPayload(c)
      .filter((l) => l.startsWith('-A KUBE-SEP-'))
      .every((l) => l.includes('--comment')),
  );
  // Seven endpoints are more than the threshold: a partial change becomes a full rewrite.
  await c.set(services, [
    ...slices.slice(0, 1),
    slice(
      'svc1',
      [1, 2, 3, 4].map((j) => ep(`172.16.0.${j}`)),
      slices[1].ports,
    ),
  ]);
  assert.equal(c.proxier.lastWrite?.kind, 'full');
  const lines = lastPayload(c);
  const perEndpoint = lines.filter(
    (l) => l.startsWith('-A KUBE-SEP-') || /^-A KUBE-SVC-\S+ (-m statistic|-j)/.test(l),
  );
  assert.equal(perEndpoint.length, 7 * 2 + 7);
  assert.ok(
    perEndpoint.every((l) => !l.includes('--comment')),
    'no comments on per-endpoint rules',
  );
  assert.ok(lines.filter((l) => l.startsWith('-A KUBE-SERVICES')).every((l) => l.includes('--comment')));
  assert.ok(
    lines.some((l) => l.startsWith('-A KUBE-SVC-') && l.includes('cluster IP')),
    'masquerade rule keeps its comment',
  );
});

test('no_local_endpoints counts Local policies without a local endpoint', async () => {
  const c = await cluster(
    [
      svc('itp', '10.96.0.30', { internalTrafficPolicy: 'Local' }),
      svc('etp', '10.96.0.31', {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        ports: [{ ...HTTP, nodePort: 30031 }],
      }),
    ],
    [slice('itp', [ep(R1)]), slice('etp', [ep(R1)])],
  );
  const m = c.proxier.metrics;
  const metric = 'kubeproxy_sync_proxy_rules_no_local_endpoints_total';
  assert.equal(await sample(m, metric, undefined, { traffic_policy: 'internal' }), 1);
  assert.equal(await sample(m, metric, undefined, { traffic_policy: 'external' }), 1);
});
