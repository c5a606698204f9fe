// Rule injection: Service and port names, annotations and EndpointSlice fields (hostname,
// nodeName, zone, port names) carrying quotes, newlines, spaces and `-j ACCEPT` fragments are
// fed straight to the proxier (no apiserver validation in front of it, as when the agent runs
// against another cluster). The restore must be accepted, and the programmed rules must be the
// rules of the same objects with harmless names: same chains' rule counts, same targets, same
// packet outcomes; a hostile string may appear only inside a comment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSlice, Service } from '../../../../dataplane/api/types.ts';
import { at, ep, POD_CLIENT, R1, slice, svc } from '../../../../dataplane/proxy/compliance/index.ts';
import { cluster, NS, trace } from './helpers.ts';

const FRAGMENTS = [
  '" -j ACCEPT -m comment --comment "',
  'x\n-A INPUT -j ACCEPT\n',
  "' -j ACCEPT '",
  'a b -j ACCEPT',
  '\\" -j ACCEPT #',
  'COMMIT\n*filter\n-A INPUT -j ACCEPT',
];

interface Shape {
  name: string;
  portName: string;
  annotation: string;
  epField: string;
}

function objects(s: Shape): { services: Service[]; slices: EndpointSlice[] } {
  const service = svc(s.name, '10.96.0.10', {
    type: 'NodePort',
    ports: [{ name: s.portName, protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
  });
  service.metadata.annotations = { note: s.annotation };
  const endpoint = { ...ep(R1), hostname: s.epField, zone: s.epField, nodeName: s.epField };
  return {
    services: [service],
    slices: [slice(s.name, [endpoint], [{ name: s.portName, protocol: 'TCP', port: 8080 }])],
  };
}

/**
 * Per table, each rule's matches and target without its comment, per-service chain names
 * (hashes of the names) made alike, sorted: what the rules do, whatever the names were.
 */
function behaviour(c: Awaited<ReturnType<typeof cluster>>): string[] {
  const out: string[] = [];
  for (const [table, chains] of c.iptables.ruleset(NS))
    for (const chain of chains.values())
      for (const r of chain.rules) {
        const text = r.text.replace(/-m comment --comment ("[^"]*"|\S+) ?/g, '');
        out.push(
          `${table} ${chain.name} ${text}`.replace(/KUBE-(SVC|SEP|EXT|SVL|FW)-[A-Z0-9]+/g, 'KUBE-$1-*'),
        );
      }
  return out.sort();
}

for (const [i, fragment] of FRAGMENTS.entries()) {
  test(`hostile strings inject nothing (${i}: ${JSON.stringify(fragment)})`, async () => {
    const b = objects({ name: 'web', portName: 'http', annotation: 'ok', epField: 'node-b' });
    const benign = await cluster(b.services, b.slices);
    const h = objects({
      name: `web${fragment}`,
      portName: `http${fragment}`,
      annotation: fragment,
      epField: fragment,
    });
    const hostile = await cluster(h.services, h.slices);
    assert.deepEqual(hostile.errors, [], 'the restore was accepted');
    assert.deepEqual(behaviour(hostile), behaviour(benign));
    const packet = {
      from: 'pod' as const,
      source: POD_CLIENT,
      destination: '10.96.0.10',
      protocol: 'tcp' as const,
      port: 80,
    };
    assert.deepEqual(trace(hostile, packet).outcomes, [at(R1)]);
  });
}

test('addresses, ports and protocols that are not what they claim are never programmed', async () => {
  const b = objects({ name: 'web', portName: 'http', annotation: 'ok', epField: 'node-b' });
  // The Service whose only fault is an external IP is programmed, without it: its twin has none.
  const benign = await cluster(
    [...b.services, svc('extip', '10.96.0.52')],
    [...b.slices, slice('extip', [ep(R1)], [{ name: 'http', protocol: 'TCP', port: 8080 }])],
  );
  const h = objects({ name: 'web', portName: 'http', annotation: 'ok', epField: 'node-b' });
  const evil = (text: string) => text as never;
  // Extra objects beside the benign ones, each hostile in one field; none may add a rule.
  const bad = (
    name: string,
    spec: Record<string, unknown>,
    slicePort?: Record<string, unknown>,
    address = R1,
  ) => ({
    service: svc(name, (spec.clusterIP as string) ?? '10.96.0.50', spec as never),
    slice: slice(
      name,
      [{ ...ep(R1), addresses: [address] }],
      [{ name: 'http', protocol: 'TCP', port: 8080, ...slicePort } as never],
    ),
  });
  const cases = [
    bad('ip', { clusterIP: '10.96.0.51 -j ACCEPT' }),
    bad('extip', { clusterIP: '10.96.0.52', externalIPs: [evil('1.2.3.4 -j ACCEPT')] }),
    bad('proto', {
      clusterIP: '10.96.0.53',
      ports: [{ name: 'http', protocol: evil('tcp -j ACCEPT'), port: 80 }],
    }),
    bad('port', {
      clusterIP: '10.96.0.54',
      ports: [{ name: 'http', protocol: 'TCP', port: evil('80 -j ACCEPT') }],
    }),
    bad('nodeport', {
      clusterIP: '10.96.0.55',
      type: 'NodePort',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: evil('1 -j ACCEPT') }],
    }),
  ];
  const epCases = [
    bad('epaddr', { clusterIP: '10.96.0.56' }, undefined, '10.244.2.21 -j ACCEPT'),
    bad('epport', { clusterIP: '10.96.0.57' }, { port: evil('8080 -j ACCEPT') }),
  ];

  const hostile = await cluster(
    [...h.services, ...cases.map((c) => c.service), ...epCases.map((c) => c.service)],
    [...h.slices, ...cases.map((c) => c.slice), ...epCases.map((c) => c.slice)],
  );
  assert.deepEqual(hostile.errors, [], 'the restore was accepted');
  const saved = await hostile.iptables.save(NS);
  assert.ok(!/-j ACCEPT/.test(saved.replace(/^-A KUBE-FORWARD .*$/gm, '')), 'no ACCEPT outside KUBE-FORWARD');
  assert.ok(!saved.includes('1.2.3.4'), 'no rule for the bad external IP');
  // The Services whose endpoints were hostile exist, without endpoints: they reject.
  const behaviourOf = (c: typeof hostile) =>
    behaviour(c).filter((l) => !l.startsWith('filter KUBE-SERVICES'));
  assert.deepEqual(behaviourOf(hostile), behaviourOf(benign));
  for (const ip of ['10.96.0.56', '10.96.0.57'])
    assert.deepEqual(
      trace(hostile, { from: 'pod', source: POD_CLIENT, destination: ip, protocol: 'tcp', port: 80 })
        .outcomes,
      ['REJECT'],
    );
});
