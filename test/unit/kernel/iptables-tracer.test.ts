/**
 * The packet tracer on hand-written rules in kube-proxy's shape: a ClusterIP with three
 * endpoints and statistic probabilities 1/3, 1/2, 1; a NodePort; externalTrafficPolicy Local
 * with and without a local endpoint (DROP from outside when there is none); REJECT for a service
 * without endpoints from every direction; hairpin masquerade through KUBE-MARK-MASQ and
 * KUBE-POSTROUTING; ClientIP affinity with recent; policies, marks and -o against routes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import { KUBE_PROXY_JUMPS } from '../../../dataplane/kernel/testing/iptables-kube-shape.ts';
import {
  tracePacket,
  type TraceNode,
  type TraceOptions,
  type TracePacket,
} from '../../../dataplane/kernel/testing/iptables-tracer.ts';

const NS = 'kdp-u-node-1';
const NODE_IP = '192.168.0.2';
const POD = '10.244.1.20';
const EXTERNAL = '203.0.113.7';
const NODE: TraceNode = { localAddresses: [NODE_IP, '10.244.1.1'] };

const FILTER = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
-A KUBE-SERVICES -m comment --comment "ns6/empty:http has no endpoints" -m tcp -p tcp -d 10.96.0.60 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns6/empty:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30060 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/local:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30020 -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;

/** Masquerade rule of a service chain, then its endpoint chains. */
function service(svc: string, name: string, ip: string, endpoints: string[], affinity = false): string[] {
  const lines = [
    `-A KUBE-SERVICES -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${ip} --dport 80 -j KUBE-SVC-${svc}`,
    `-A KUBE-SVC-${svc} -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${ip} --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
  ];
  if (affinity)
    endpoints.forEach((_, i) =>
      lines.push(
        `-A KUBE-SVC-${svc} -m recent --name KUBE-SEP-${svc}${i + 1} --rcheck --seconds 10800 --reap -j KUBE-SEP-${svc}${i + 1}`,
      ),
    );
  endpoints.forEach((ep, i) => {
    const left = endpoints.length - i;
    const lb = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : '';
    const set = affinity ? `-m recent --name KUBE-SEP-${svc}${i + 1} --set ` : '';
    lines.push(
      `-A KUBE-SVC-${svc} -m comment --comment "${name} -> ${ep}:8080" ${lb}-j KUBE-SEP-${svc}${i + 1}`,
      `-A KUBE-SEP-${svc}${i + 1} -m comment --comment ${name} -s ${ep} -j KUBE-MARK-MASQ`,
      `-A KUBE-SEP-${svc}${i + 1} -m comment --comment ${name} ${set}-m tcp -p tcp -j DNAT --to-destination ${ep}:8080`,
    );
  });
  return lines;
}

function chains(names: string[]): string[] {
  return names.map((n) => `:${n} - [0:0]`);
}

const NAT = [
  '*nat',
  ...chains(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']),
  ...chains(['KUBE-SVC-WEB', 'KUBE-SEP-WEB1', 'KUBE-SEP-WEB2', 'KUBE-SEP-WEB3', 'KUBE-EXT-WEB']),
  ...chains(['KUBE-SVC-LOCAL', 'KUBE-SEP-LOCAL1', 'KUBE-EXT-LOCAL']),
  ...chains(['KUBE-SVC-KEEP', 'KUBE-SEP-KEEP1', 'KUBE-SEP-KEEP2', 'KUBE-EXT-KEEP', 'KUBE-SVL-KEEP']),
  ...chains(['KUBE-SVC-STICKY', 'KUBE-SEP-STICKY1', 'KUBE-SEP-STICKY2']),
  '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
  '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
  '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
  // ns1/web: three endpoints, one on this node; NodePort 30010, externalTrafficPolicy Cluster.
  ...service('WEB', 'ns1/web:http', '10.96.0.10', ['10.244.1.5', '10.244.2.5', '10.244.3.5']),
  '-A KUBE-NODEPORTS -m comment --comment ns1/web:http -m tcp -p tcp --dport 30010 -j KUBE-EXT-WEB',
  '-A KUBE-EXT-WEB -m comment --comment "masquerade traffic for ns1/web:http external destinations" -j KUBE-MARK-MASQ',
  '-A KUBE-EXT-WEB -j KUBE-SVC-WEB',
  // ns2/local: externalTrafficPolicy Local, its only endpoint on another node.
  ...service('LOCAL', 'ns2/local:http', '10.96.0.20', ['10.244.2.7']),
  '-A KUBE-NODEPORTS -m comment --comment ns2/local:http -m tcp -p tcp --dport 30020 -j KUBE-EXT-LOCAL',
  '-A KUBE-EXT-LOCAL -m comment --comment "pod traffic for ns2/local:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-LOCAL',
  '-A KUBE-EXT-LOCAL -m comment --comment "masquerade LOCAL traffic for ns2/local:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
  '-A KUBE-EXT-LOCAL -m comment --comment "route LOCAL traffic for ns2/local:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-LOCAL',
  // ns3/keep: externalTrafficPolicy Local with one endpoint here and one elsewhere.
  ...service('KEEP', 'ns3/keep:http', '10.96.0.30', ['10.244.1.8', '10.244.2.8']),
  '-A KUBE-NODEPORTS -m comment --comment ns3/keep:http -m tcp -p tcp --dport 30030 -j KUBE-EXT-KEEP',
  '-A KUBE-EXT-KEEP -m comment --comment "pod traffic for ns3/keep:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-KEEP',
  '-A KUBE-EXT-KEEP -m comment --comment "masquerade LOCAL traffic for ns3/keep:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
  '-A KUBE-EXT-KEEP -m comment --comment "route LOCAL traffic for ns3/keep:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-KEEP',
  '-A KUBE-EXT-KEEP -j KUBE-SVL-KEEP',
  '-A KUBE-SVL-KEEP -m comment --comment "ns3/keep:http -> 10.244.1.8:8080" -j KUBE-SEP-KEEP1',
  // ns4/sticky: ClientIP affinity over two endpoints.
  ...service('STICKY', 'ns4/sticky:http', '10.96.0.40', ['10.244.2.9', '10.244.3.9'], true),
  '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  'COMMIT',
  '',
].join('\n');

async function node(): Promise<FakeIptables> {
  const f = new FakeIptables({ prefix: 'kdp-u-' });
  await f.ensureJumps(NS, KUBE_PROXY_JUMPS);
  await f.restore(NS, FILTER + NAT, { noflush: true });
  return f;
}

async function trace(
  packet: Partial<TracePacket> & Pick<TracePacket, 'destination' | 'port'>,
  options?: TraceOptions,
) {
  const f = await node();
  return tracePacket(f.ruleset(NS), NODE, { from: 'pod', source: POD, protocol: 'tcp', ...packet }, options);
}

const WEB = ['10.244.1.5:8080', '10.244.2.5:8080', '10.244.3.5:8080'];

test('a ClusterIP with three endpoints reaches each with a third of the traffic, unmasqueraded from a pod', async () => {
  const r = await trace({ destination: '10.96.0.10', port: 80 });
  assert.deepEqual(r.outcomes, WEB);
  assert.deepEqual(r.destinations, WEB);
  assert.equal(r.masquerade, false);
  for (const ep of WEB) assert.ok(Math.abs(r.shares[ep] - 1 / 3) < 1e-9, `${ep}: ${r.shares[ep]}`);
  // The first rule's probability is the kernel's rounded fraction, so the first share is exact.
  assert.equal(r.shares[WEB[0]], Math.round(2 ** 31 * 0.3333333333) / 2 ** 31);
  assert.ok(r.paths.every((p) => p.verdict === 'ACCEPT' && p.dnat && !p.local));
  assert.ok(
    r.hits.includes(
      '[nat] -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB',
    ),
  );
});

test('hairpin: a pod reaching itself through its service is masqueraded; the other endpoints are not', async () => {
  const r = await trace({ source: '10.244.1.5', destination: '10.96.0.10', port: 80 });
  assert.deepEqual(r.destinations, WEB);
  const masq = Object.fromEntries(r.paths.map((p) => [p.destination, p.masquerade]));
  assert.deepEqual(masq, { '10.244.1.5:8080': true, '10.244.2.5:8080': false, '10.244.3.5:8080': false });
  assert.ok(
    r.paths.every((p) => p.mark === 0),
    'KUBE-POSTROUTING clears the masquerade bit',
  );
});

test('from the node itself a ClusterIP is DNATed in OUTPUT and masqueraded (source outside the pod CIDR)', async () => {
  const r = await trace({ from: 'local', source: NODE_IP, destination: '10.96.0.10', port: 80 });
  assert.deepEqual(r.destinations, WEB);
  assert.ok(r.paths.every((p) => p.masquerade));
});

test('a NodePort from outside reaches every endpoint, masqueraded', async () => {
  const r = await trace({ from: 'external', source: EXTERNAL, destination: NODE_IP, port: 30010 });
  assert.deepEqual(r.destinations, WEB);
  assert.ok(r.paths.every((p) => p.masquerade && p.verdict === 'ACCEPT'));
  // A port no service has is delivered to the node untouched.
  const other = await trace({ from: 'external', source: EXTERNAL, destination: NODE_IP, port: 31999 });
  assert.deepEqual(other.outcomes, ['ACCEPT']);
  assert.ok(other.paths[0].local);
});

test('externalTrafficPolicy Local without a local endpoint: DROP from outside, served from pods and the node', async () => {
  const outside = await trace({ from: 'external', source: EXTERNAL, destination: NODE_IP, port: 30020 });
  assert.deepEqual(outside.outcomes, ['DROP']);
  const pod = await trace({ destination: NODE_IP, port: 30020 });
  assert.deepEqual(pod.outcomes, ['10.244.2.7:8080']);
  assert.equal(pod.masquerade, false);
  const local = await trace({ from: 'local', source: NODE_IP, destination: NODE_IP, port: 30020 });
  assert.deepEqual(local.outcomes, ['10.244.2.7:8080']);
  assert.equal(local.masquerade, true);
});

test('externalTrafficPolicy Local with a local endpoint: only it, with the client address kept', async () => {
  const r = await trace({ from: 'external', source: EXTERNAL, destination: NODE_IP, port: 30030 });
  assert.deepEqual(r.outcomes, ['10.244.1.8:8080']);
  assert.equal(r.masquerade, false);
});

test('a service without endpoints is REJECTed from a pod, from the node and at its NodePort', async () => {
  assert.deepEqual((await trace({ destination: '10.96.0.60', port: 80 })).outcomes, ['REJECT']);
  assert.deepEqual(
    (await trace({ from: 'local', source: NODE_IP, destination: '10.96.0.60', port: 80 })).outcomes,
    ['REJECT'],
  );
  assert.deepEqual(
    (await trace({ from: 'external', source: EXTERNAL, destination: NODE_IP, port: 30060 })).outcomes,
    ['REJECT'],
  );
  // Another port of the same address matches nothing and goes on unchanged.
  assert.deepEqual((await trace({ destination: '10.96.0.60', port: 81 })).outcomes, ['ACCEPT']);
});

test('ClientIP affinity: each choice records the client; a client already recorded gets only its endpoint', async () => {
  const first = await trace({ destination: '10.96.0.40', port: 80 });
  assert.deepEqual(first.destinations, ['10.244.2.9:8080', '10.244.3.9:8080']);
  const byEndpoint = Object.fromEntries(first.paths.map((p) => [p.destination, p.recentSet]));
  assert.deepEqual(byEndpoint, {
    '10.244.2.9:8080': ['KUBE-SEP-STICKY1'],
    '10.244.3.9:8080': ['KUBE-SEP-STICKY2'],
  });
  for (const p of first.paths) {
    const again = await trace({ destination: '10.96.0.40', port: 80 }, { recent: p.recentSet });
    assert.deepEqual(again.outcomes, [p.destination]);
    assert.equal(again.paths.length, 1);
  }
  const unknown = await trace({ destination: '10.96.0.40', port: 80 }, { recent: 'unknown' });
  assert.deepEqual(unknown.destinations, ['10.244.2.9:8080', '10.244.3.9:8080']);
  assert.ok(unknown.paths.length > first.paths.length);
});

test('policies, marks and -o: a DROP policy lets through only what KUBE-FORWARD accepts', async () => {
  const f = new FakeIptables({ prefix: 'kdp-u-' });
  await f.ensureJumps(NS, KUBE_PROXY_JUMPS);
  await f.restore(NS, FILTER.replace('*filter\n', '*filter\n:FORWARD DROP [0:0]\n') + NAT, { noflush: true });
  const node: TraceNode = {
    ...NODE,
    routes: [
      { cidr: '10.244.2.0/24', dev: 'eth0' },
      { cidr: '10.244.1.0/24', dev: 'cni0' },
    ],
  };
  const t = (p: Partial<TracePacket> & Pick<TracePacket, 'destination' | 'port'>) =>
    tracePacket(f.ruleset(NS), node, { from: 'external', source: EXTERNAL, protocol: 'tcp', ...p });
  // NodePort traffic carries the masquerade mark, so KUBE-FORWARD accepts it past the DROP policy.
  assert.deepEqual(t({ destination: NODE_IP, port: 30010 }).destinations, WEB);
  // Unmarked forwarded traffic hits the policy.
  assert.deepEqual(t({ destination: '10.244.2.50', port: 80 }).outcomes, ['DROP']);
  await f.restore(NS, '*filter\n-A FORWARD -o cni0 -j ACCEPT\nCOMMIT\n', { noflush: true });
  assert.deepEqual(t({ destination: '10.244.1.50', port: 80 }).outcomes, ['ACCEPT']);
  assert.deepEqual(t({ destination: '10.244.2.50', port: 80 }).outcomes, ['DROP']);
});
