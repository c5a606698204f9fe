/**
 * Compliance cases for ClusterIP traffic: load balancing over every ready endpoint, masquerade of
 * traffic from outside the pod network (or of all of it), hairpin, REJECT without endpoints,
 * not-ready and terminating endpoints, several ports, UDP, SCTP, ClientIP affinity, and Services
 * that are not proxied at all.
 */
import type { ComplianceCase } from './types.ts';
import { at, ep, HTTP, HTTP_TARGET, L1, L2, R1, R2, slice, svc } from './case-topology.ts';

const CIP = '10.96.0.10';
const three = [at(L1), at(R1), at(R2)];

export const CLUSTER_IP_CASES: readonly ComplianceCase[] = [
  {
    name: 'clusterip-load-balancing',
    feature: 'a ClusterIP spreads new connections evenly over every ready endpoint, on any node',
    services: [svc('web', CIP)],
    slices: [slice('web', [ep(L1), ep(R1), ep(R2)])],
    flows: [
      { name: 'pod to ClusterIP', from: 'pod', to: CIP, port: 80, expect: three, masquerade: false },
      {
        name: 'node to ClusterIP (masqueraded)',
        from: 'node',
        to: CIP,
        port: 80,
        expect: three,
        masquerade: true,
      },
      {
        name: 'off-cluster client routed to the ClusterIP (masqueraded)',
        from: 'external',
        to: CIP,
        port: 80,
        expect: three,
        masquerade: true,
      },
      {
        name: 'another port of the ClusterIP is not a service',
        from: 'pod',
        to: CIP,
        port: 81,
        expect: 'DELIVERED',
        unservedClusterIPPort: true,
      },
      {
        name: 'UDP to a TCP service port',
        from: 'pod',
        to: CIP,
        port: 80,
        protocol: 'UDP',
        expect: 'DELIVERED',
        unservedClusterIPPort: true,
      },
      { name: 'pod to pod directly is untouched', from: 'pod', to: R1, port: 8080, expect: 'DELIVERED' },
    ],
  },
  {
    name: 'clusterip-hairpin',
    feature: 'an endpoint reaching itself through its Service is masqueraded, so the reply comes back',
    services: [svc('web', CIP)],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      {
        name: 'endpoint to its own ClusterIP',
        from: 'pod',
        source: L1,
        to: CIP,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: [at(L1)],
      },
    ],
  },
  {
    name: 'clusterip-masquerade-all',
    feature: 'with masqueradeAll every connection to a ClusterIP is masqueraded',
    env: { masqueradeAll: true },
    services: [svc('web', CIP)],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      {
        name: 'pod to ClusterIP',
        from: 'pod',
        to: CIP,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
    ],
  },
  {
    name: 'clusterip-no-cluster-cidr',
    feature: 'without a cluster CIDR, ClusterIP traffic is not masqueraded (pods cannot be told apart)',
    env: { clusterCIDR: null },
    services: [svc('web', CIP)],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      {
        name: 'pod to ClusterIP',
        from: 'pod',
        to: CIP,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: false,
      },
      {
        name: 'off-cluster client to ClusterIP',
        from: 'external',
        to: CIP,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: false,
      },
    ],
  },
  {
    name: 'clusterip-no-endpoints',
    feature: 'a Service without endpoints refuses connections at once (REJECT), from anywhere',
    services: [svc('empty', '10.96.0.11')],
    slices: [],
    flows: [
      { name: 'pod', from: 'pod', to: '10.96.0.11', port: 80, expect: 'REJECT' },
      { name: 'node', from: 'node', to: '10.96.0.11', port: 80, expect: 'REJECT' },
      { name: 'off-cluster client', from: 'external', to: '10.96.0.11', port: 80, expect: 'REJECT' },
    ],
  },
  {
    name: 'clusterip-not-ready',
    feature: 'endpoints that are not ready get no new connections; none ready and none serving: REJECT',
    services: [svc('web', CIP), svc('down', '10.96.0.12')],
    slices: [slice('web', [ep(L1), ep(R1, { ready: false })]), slice('down', [ep(R2, { ready: false })])],
    flows: [
      { name: 'only the ready one', from: 'pod', to: CIP, port: 80, expect: [at(L1)] },
      { name: 'nothing ready', from: 'pod', to: '10.96.0.12', port: 80, expect: 'REJECT' },
    ],
  },
  {
    name: 'clusterip-terminating-fallback',
    feature: 'with no ready endpoint, serving terminating ones take the traffic; ready ones win when present',
    services: [svc('draining', CIP), svc('mixed', '10.96.0.12')],
    slices: [
      slice('draining', [
        ep(L1, { ready: false, serving: true, terminating: true }),
        ep(R1, { ready: false, serving: false, terminating: true }),
        ep(R2, { ready: false, serving: true, terminating: true }),
      ]),
      slice('mixed', [ep(L1), ep(R1, { ready: false, serving: true, terminating: true })]),
    ],
    flows: [
      { name: 'serving terminating endpoints', from: 'pod', to: CIP, port: 80, expect: [at(L1), at(R2)] },
      { name: 'ready endpoint preferred', from: 'pod', to: '10.96.0.12', port: 80, expect: [at(L1)] },
    ],
  },
  {
    name: 'clusterip-several-ports',
    feature: 'each port of a Service goes to its own target port',
    services: [
      svc('web', CIP, { ports: [HTTP, { name: 'https', protocol: 'TCP', port: 443, targetPort: 8443 }] }),
    ],
    slices: [slice('web', [ep(L1), ep(R1)], [HTTP_TARGET, { name: 'https', protocol: 'TCP', port: 8443 }])],
    flows: [
      { name: 'http', from: 'pod', to: CIP, port: 80, expect: [at(L1), at(R1)] },
      { name: 'https', from: 'pod', to: CIP, port: 443, expect: [at(L1, 8443), at(R1, 8443)] },
    ],
  },
  {
    name: 'clusterip-udp',
    feature: 'UDP service ports are proxied like TCP ones, and only for UDP',
    services: [
      svc('dns', '10.96.0.53', { ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 }] }),
    ],
    slices: [slice('dns', [ep(L1), ep(R1)], [{ name: 'dns', protocol: 'UDP', port: 5353 }])],
    flows: [
      {
        name: 'UDP',
        from: 'pod',
        to: '10.96.0.53',
        port: 53,
        protocol: 'UDP',
        expect: [at(L1, 5353), at(R1, 5353)],
      },
      {
        name: 'TCP to the UDP port',
        from: 'pod',
        to: '10.96.0.53',
        port: 53,
        expect: 'DELIVERED',
        unservedClusterIPPort: true,
      },
    ],
  },
  {
    name: 'clusterip-sctp',
    feature: 'SCTP service ports are proxied where the kernel has SCTP',
    requires: ['sctp'],
    services: [
      svc('sig', '10.96.0.40', { ports: [{ name: 'sig', protocol: 'SCTP', port: 3868, targetPort: 3868 }] }),
    ],
    slices: [slice('sig', [ep(L1), ep(R1)], [{ name: 'sig', protocol: 'SCTP', port: 3868 }])],
    flows: [
      {
        name: 'SCTP',
        from: 'pod',
        to: '10.96.0.40',
        port: 3868,
        protocol: 'SCTP',
        expect: [at(L1, 3868), at(R1, 3868)],
      },
    ],
  },
  {
    name: 'clusterip-session-affinity',
    feature: 'sessionAffinity ClientIP sends a returning client to the endpoint it had',
    services: [svc('sticky', CIP, { sessionAffinity: 'ClientIP' })],
    slices: [slice('sticky', [ep(L1), ep(L2), ep(R1)])],
    flows: [
      {
        name: 'first connection',
        from: 'pod',
        to: CIP,
        port: 80,
        expect: [at(L1), at(L2), at(R1)],
        sticky: true,
      },
      {
        name: 'from outside, returning',
        from: 'external',
        to: CIP,
        port: 80,
        expect: [at(L1), at(L2), at(R1)],
        sticky: true,
        masquerade: true,
      },
    ],
  },
  {
    name: 'not-proxied',
    feature: 'headless and ExternalName Services are not proxied',
    services: [
      svc('headless', 'None'),
      { ...svc('alias', ''), spec: { type: 'ExternalName', externalName: 'example.com' } },
    ],
    slices: [slice('headless', [ep(R1)])],
    flows: [{ name: 'pod to a headless endpoint', from: 'pod', to: R1, port: 8080, expect: 'DELIVERED' }],
  },
];
