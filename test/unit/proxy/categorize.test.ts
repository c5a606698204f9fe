import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categorizeEndpoints } from '../../../dataplane/proxy/categorize.ts';
import type { EndpointInfo } from '../../../dataplane/proxy/service-model.ts';

/** Endpoint shorthand: `10.0.0.1:R` ready, `:T` serving-terminating, `:N` neither; `+L` local. */
function eps(...specs: string[]): EndpointInfo[] {
  return specs.map((s) => {
    const [ip, flags] = s.split(':');
    const state = flags[0];
    return {
      key: `${ip}:80`,
      ip,
      port: 80,
      ready: state === 'R',
      serving: state === 'R' || state === 'T',
      terminating: state === 'T' || state === 'X',
      isLocal: flags.includes('+L'),
      zone: '',
      nodeName: flags.includes('+L') ? 'here' : 'there',
    };
  });
}

const cluster = { usesClusterEndpoints: true, usesLocalEndpoints: false };
const internalLocal = { usesClusterEndpoints: false, usesLocalEndpoints: true };
const externalLocal = { usesClusterEndpoints: true, usesLocalEndpoints: true };

const ips = (list: EndpointInfo[]) => list.map((e) => e.ip);

const cases: {
  name: string;
  policy: { usesClusterEndpoints: boolean; usesLocalEndpoints: boolean };
  endpoints: EndpointInfo[];
  cluster: string[];
  local: string[];
  all: string[];
  any: boolean;
}[] = [
  { name: 'no endpoints', policy: cluster, endpoints: [], cluster: [], local: [], all: [], any: false },
  {
    name: 'Cluster: ready only',
    policy: cluster,
    endpoints: eps('10.0.0.1:R', '10.0.0.2:N', '10.0.0.3:T'),
    cluster: ['10.0.0.1'],
    local: [],
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'Cluster: none ready -> serving-terminating fallback',
    policy: cluster,
    endpoints: eps('10.0.0.1:N', '10.0.0.2:T', '10.0.0.3:T'),
    cluster: ['10.0.0.2', '10.0.0.3'],
    local: [],
    all: ['10.0.0.2', '10.0.0.3'],
    any: true,
  },
  {
    name: 'Cluster: terminating but not serving is never used',
    policy: cluster,
    endpoints: eps('10.0.0.1:X', '10.0.0.2:N'),
    cluster: [],
    local: [],
    all: [],
    any: false,
  },
  {
    name: 'internal Local: ready local only',
    policy: internalLocal,
    endpoints: eps('10.0.0.1:R+L', '10.0.0.2:R', '10.0.0.3:T+L'),
    cluster: [],
    local: ['10.0.0.1'],
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'internal Local: no ready local -> serving-terminating local fallback',
    policy: internalLocal,
    endpoints: eps('10.0.0.1:T+L', '10.0.0.2:R', '10.0.0.3:N+L'),
    cluster: [],
    local: ['10.0.0.1'],
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'internal Local: endpoints only elsewhere -> none local, but some exist (DROP, not REJECT)',
    policy: internalLocal,
    endpoints: eps('10.0.0.2:R', '10.0.0.3:T'),
    cluster: [],
    local: [],
    all: [],
    any: true,
  },
  {
    name: 'internal Local: nothing usable anywhere (REJECT)',
    policy: internalLocal,
    endpoints: eps('10.0.0.2:N', '10.0.0.3:N+L'),
    cluster: [],
    local: [],
    all: [],
    any: false,
  },
  {
    name: 'external Local: cluster set for internal traffic, local set for external',
    policy: externalLocal,
    endpoints: eps('10.0.0.1:R+L', '10.0.0.2:R', '10.0.0.3:N+L'),
    cluster: ['10.0.0.1', '10.0.0.2'],
    local: ['10.0.0.1'],
    all: ['10.0.0.1', '10.0.0.2'],
    any: true,
  },
  {
    name: 'external Local: local falls back to terminating while cluster has ready remote ones',
    policy: externalLocal,
    endpoints: eps('10.0.0.1:T+L', '10.0.0.2:R'),
    cluster: ['10.0.0.2'],
    local: ['10.0.0.1'],
    all: ['10.0.0.1', '10.0.0.2'],
    any: true,
  },
  {
    name: 'external Local: no local endpoint at all',
    policy: externalLocal,
    endpoints: eps('10.0.0.2:R', '10.0.0.3:R'),
    cluster: ['10.0.0.2', '10.0.0.3'],
    local: [],
    all: ['10.0.0.2', '10.0.0.3'],
    any: true,
  },
  {
    name: 'external Local: only terminating endpoints, both sets fall back',
    policy: externalLocal,
    endpoints: eps('10.0.0.1:T+L', '10.0.0.2:T'),
    cluster: ['10.0.0.1', '10.0.0.2'],
    local: ['10.0.0.1'],
    all: ['10.0.0.1', '10.0.0.2'],
    any: true,
  },
];

for (const c of cases) {
  test(`categorize: ${c.name}`, () => {
    const r = categorizeEndpoints(c.endpoints, c.policy);
    assert.deepEqual(ips(r.clusterEndpoints), c.cluster, 'cluster endpoints');
    assert.deepEqual(ips(r.localEndpoints), c.local, 'local endpoints');
    assert.deepEqual(ips(r.allReachableEndpoints), c.all, 'all reachable');
    assert.equal(r.hasAnyEndpoints, c.any, 'hasAnyEndpoints');
  });
}
