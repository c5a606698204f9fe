/**
 * Topology resolution: defaults, every bad field named with its value (all problems in one
 * error), explicit node lists, CLI flags and YAML; and the derived names and address plan.
 */
import { test } from 'node:test';
import { overlayBackendNames } from '../../../dataplane/overlay/backends/registry.ts';
import { proxyModeNames } from '../../../dataplane/proxy/modes.ts';
import assert from 'node:assert/strict';
import { isKdpError, type KdpError } from '../../../dataplane/errors.ts';
import { TOPOLOGY_INVALID, resolveTopology } from '../../../dataplane/cluster/topology.ts';
import {
  parseTopologyFlags,
  topologyFromFlags,
  topologyFromYaml,
  topologyInputFromOptions,
} from '../../../dataplane/cluster/topology-parse.ts';

function problems(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (e) {
    assert.ok(isKdpError(e, TOPOLOGY_INVALID), `expected ${TOPOLOGY_INVALID}, got ${String(e)}`);
    const list = (e as KdpError).details!.problems as { field: string; message: string }[];
    for (const p of list) assert.ok((e as Error).message.includes(`${p.field}: ${p.message}`));
    return Object.fromEntries(list.map((p) => [p.field, p.message]));
  }
  assert.fail('expected the topology to be rejected');
}

test('an empty topology gets every default', () => {
  assert.deepEqual(resolveTopology({}), {
    cluster: 'default',
    underlayCidr: '198.18.0.0/16',
    podCidr: '10.244.0.0/16',
    nodeCidrMaskSize: 24,
    serviceCidr: '10.96.0.0/16',
    nodePortRange: { min: 30000, max: 32767 },
    mtu: 1500,
    proxyMode: 'iptables',
    overlay: 'host-gw',
    nodes: [
      { index: 1, name: 'node-1', pods: ['pod-1-1', 'pod-1-2'] },
      { index: 2, name: 'node-2', pods: ['pod-2-1', 'pod-2-2'] },
    ],
  });
});

test("the brief's example message, word for word", () => {
  assert.throws(() => resolveTopology({ nodes: 0 }), {
    code: TOPOLOGY_INVALID,
    message: 'invalid topology: nodes: must be an integer from 1 to 250, got 0',
  });
});

test('each bad field is named with its value, all at once', () => {
  const found = problems(() =>
    resolveTopology({
      cluster: 'Bad_Name',
      nodes: 251,
      podsPerNode: -1,
      underlayCidr: '198.18.0.1/16',
      podCidr: 'ten',
      nodeCidrMaskSize: 31,
      serviceCidr: '10.0.0.0/8',
      nodePortRange: '40000-30000',
      mtu: 9001,
      proxyMode: 'kernelspace',
      overlay: 'geneve',
    }),
  );
  assert.deepEqual(found, {
    cluster: `must be a DNS label (lowercase letters, digits and '-') of at most 20 characters, got "Bad_Name"`,
    underlayCidr: 'must be an IPv4 network CIDR like 198.18.0.0/16, got "198.18.0.1/16"',
    podCidr: 'must be an IPv4 network CIDR like 10.244.0.0/16, got "ten"',
    nodeCidrMaskSize: 'must be an integer from 8 to 30, got 31',
    nodePortRange: 'must be a port range MIN-MAX within 1-65535 like 30000-32767, got "40000-30000"',
    mtu: 'must be an integer from 576 to 9000, got 9001',
    proxyMode: `must be one of ${proxyModeNames().join(', ')}, got "kernelspace"`,
    overlay: `must be one of ${overlayBackendNames().join(', ')}, got "geneve"`,
    serviceCidr: 'prefix must be from /12 to /30, got "10.0.0.0/8"',
    podsPerNode: 'must be an integer from 0 to 253, got -1',
    nodes: 'must be an integer from 1 to 250, got 251',
  });
});

test('wrong types are reported, not coerced', () => {
  const found = problems(() => resolveTopology({ nodes: '3' as never, mtu: 1500.5, cluster: 7 as never }));
  assert.equal(found.nodes, 'must be an integer from 1 to 250, got "3"');
  assert.equal(found.mtu, 'must be an integer from 576 to 9000, got 1500.5');
  assert.equal(
    found.cluster,
    `must be a DNS label (lowercase letters, digits and '-') of at most 20 characters, got 7`,
  );
  assert.throws(() => resolveTopology([] as never), { code: TOPOLOGY_INVALID });
});

test('cross-field checks: overlapping ranges, too many nodes for the pod CIDR, too many pods per node', () => {
  const overlap = problems(() => resolveTopology({ serviceCidr: '10.244.128.0/17' }));
  assert.deepEqual(overlap, { serviceCidr: '"10.244.128.0/17" overlaps podCidr "10.244.0.0/16"' });
  const tooMany = problems(() => resolveTopology({ podCidr: '10.244.0.0/22', nodes: 5 }));
  assert.deepEqual(tooMany, { nodes: '5 nodes need 5 /24 subnets but podCidr "10.244.0.0/22" has 4' });
  const smallSubnets = problems(() => resolveTopology({ nodeCidrMaskSize: 28, podsPerNode: 14 }));
  assert.deepEqual(smallSubnets, { podsPerNode: 'must be an integer from 0 to 13, got 14' });
  const smallUnderlay = problems(() => resolveTopology({ underlayCidr: '198.18.0.0/30', nodes: 3 }));
  assert.deepEqual(smallUnderlay, { underlayCidr: '"198.18.0.0/30" has 2 addresses for 3 nodes' });
});

test('unknown fields are refused, with a hint for kebab-case', () => {
  assert.deepEqual(
    problems(() => resolveTopology({ 'pods-per-node': 3, colour: 'blue' } as never)),
    {
      'pods-per-node': 'unknown field (did you mean podsPerNode?)',
      colour: 'unknown field',
    },
  );
});

test('an explicit node list: names and pods optional, duplicates and bad names refused', () => {
  const t = resolveTopology({
    podsPerNode: 1,
    nodes: [{ name: 'worker-a', pods: ['web', 'db'] }, { pods: 0 }, {}],
  });
  assert.deepEqual(t.nodes, [
    { index: 1, name: 'worker-a', pods: ['web', 'db'] },
    { index: 2, name: 'node-2', pods: [] },
    { index: 3, name: 'node-3', pods: ['pod-3-1'] },
  ]);
  assert.deepEqual(
    problems(() =>
      resolveTopology({
        nodes: [
          { name: 'a', pods: ['x', 'x'] },
          { name: 'a', pods: 'two' as never },
          { name: 'B!' },
          5 as never,
        ],
      }),
    ),
    {
      'nodes[0].pods': 'duplicate pod name "x"',
      'nodes[1].name': 'duplicate node name "a"',
      'nodes[1].pods': 'must be an integer from 0 to 253, got "two"',
      'nodes[2].name': `must be a DNS subdomain (lowercase letters, digits, '-', '.'), got "B!"`,
      'nodes[3]': 'must be an object with optional name and pods, got 5',
    },
  );
  assert.deepEqual(
    problems(() => resolveTopology({ nodes: [] })),
    { nodes: 'must list from 1 to 250 nodes, got 0' },
  );
  assert.deepEqual(
    problems(() => resolveTopology({ nodes: [{ name: 'a', role: 'x' } as never] })),
    {
      'nodes[0].role': 'unknown field',
    },
  );
});

test('CLI flags: both spellings, numbers converted, unknown or valueless flags refused', () => {
  const t = topologyFromFlags([
    '--nodes',
    '3',
    '--pods-per-node=4',
    '--cluster',
    'lab',
    '--proxy-mode',
    'none',
    '--node-port-range',
    '31000-31999',
  ]);
  assert.equal(t.cluster, 'lab');
  assert.equal(t.nodes.length, 3);
  assert.deepEqual(t.nodes[2].pods, ['pod-3-1', 'pod-3-2', 'pod-3-3', 'pod-3-4']);
  assert.equal(t.proxyMode, 'none');
  assert.deepEqual(t.nodePortRange, { min: 31000, max: 31999 });
  assert.deepEqual(
    problems(() => topologyFromFlags(['--nodes', 'three'])),
    {
      nodes: 'must be an integer from 1 to 250, got "three"',
    },
  );
  const flagProblems = problems(() => parseTopologyFlags(['--nodez', '3', '--mtu']));
  assert.match(flagProblems['--nodez'], /^unknown flag/);
  assert.equal(flagProblems['--mtu'], 'needs a value');
  assert.deepEqual(
    topologyInputFromOptions({ nodes: '2', mtu: '1450', overlay: 'vxlan', other: 'x', cluster: undefined }),
    {
      nodes: 2,
      mtu: 1450,
      overlay: 'vxlan',
    },
  );
});

test('YAML: fields as in TypeScript, bad values named, bad documents refused', () => {
  const t = topologyFromYaml(`
cluster: lab
nodes:
  - name: a
    pods: [web]
  - pods: 2
mtu: 1450
overlay: vxlan
nodePortRange: {min: 30000, max: 30100}
`);
  assert.deepEqual(
    t.nodes.map((n) => [n.name, n.pods]),
    [
      ['a', ['web']],
      ['node-2', ['pod-2-1', 'pod-2-2']],
    ],
  );
  assert.equal(t.mtu, 1450);
  assert.deepEqual(t.nodePortRange, { min: 30000, max: 30100 });
  assert.equal(topologyFromYaml('').nodes.length, 2);
  assert.deepEqual(
    problems(() => topologyFromYaml('nodes: 0\nmtu: big\n')),
    {
      nodes: 'must be an integer from 1 to 250, got 0',
      mtu: 'must be an integer from 576 to 9000, got "big"',
    },
  );
  assert.match(problems(() => topologyFromYaml('nodes: [1, 2'))['(yaml)'], /^does not parse/);
  assert.match(problems(() => topologyFromYaml('- a\n- b\n'))['(yaml)'], /must be a mapping/);
});
