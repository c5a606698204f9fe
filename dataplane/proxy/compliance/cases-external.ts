/**
 * Compliance cases for traffic to external destinations (node ports on the node's address,
 * external IPs, load balancer ingress IPs) and for the traffic policies: externalTrafficPolicy
 * Local keeps the client's address and uses this node's endpoints only (DROP when it has none,
 * but pods and the node itself still reach every endpoint, as if through the load balancer);
 * internalTrafficPolicy Local does the same for ClusterIP traffic.
 */
import type { ComplianceCase } from './types.ts';
import { at, ep, HTTP, L1, R1, R2, slice, svc, THIS_NODE_IP } from './case-topology.ts';

const CIP = '10.96.0.20';
const EIP = '198.18.5.1';
const LB = '198.18.6.1';
const NODE_PORT = 30080;
const nodePort = { ...HTTP, nodePort: NODE_PORT };

export const EXTERNAL_CASES: readonly ComplianceCase[] = [
  {
    name: 'nodeport',
    feature: 'a NodePort on the node address reaches every endpoint, masqueraded',
    services: [svc('web', CIP, { type: 'NodePort', ports: [nodePort] })],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      {
        name: 'outside client',
        from: 'external',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
      {
        name: 'pod',
        from: 'pod',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
      {
        name: 'node itself',
        from: 'node',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
      {
        name: 'another port of the node',
        from: 'external',
        to: THIS_NODE_IP,
        port: 30081,
        expect: 'DELIVERED',
      },
      {
        name: 'ClusterIP still works',
        from: 'pod',
        to: CIP,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: false,
      },
    ],
  },
  {
    name: 'external-ips',
    feature: 'externalIPs reach every endpoint on the service port, masqueraded',
    services: [svc('web', CIP, { externalIPs: [EIP] })],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      {
        name: 'outside client',
        from: 'external',
        to: EIP,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
      { name: 'pod', from: 'pod', to: EIP, port: 80, expect: [at(L1), at(R1)], masquerade: true },
      { name: 'another port', from: 'external', to: EIP, port: 81, expect: 'DELIVERED' },
    ],
  },
  {
    name: 'loadbalancer',
    feature: 'load balancer ingress IPs and the node port of a LoadBalancer Service reach every endpoint',
    services: [svc('web', CIP, { type: 'LoadBalancer', ports: [nodePort] }, [LB])],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      {
        name: 'to the LB IP',
        from: 'external',
        to: LB,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
      {
        name: 'to the node port',
        from: 'external',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
    ],
  },
  {
    name: 'external-no-endpoints',
    feature: 'external destinations of a Service without endpoints refuse at once',
    services: [svc('empty', CIP, { type: 'LoadBalancer', ports: [nodePort], externalIPs: [EIP] }, [LB])],
    slices: [],
    flows: [
      { name: 'node port', from: 'external', to: THIS_NODE_IP, port: NODE_PORT, expect: 'REJECT' },
      { name: 'external IP', from: 'external', to: EIP, port: 80, expect: 'REJECT' },
      { name: 'LB IP', from: 'external', to: LB, port: 80, expect: 'REJECT' },
      { name: 'ClusterIP', from: 'pod', to: CIP, port: 80, expect: 'REJECT' },
    ],
  },
  {
    name: 'etp-local',
    feature: 'externalTrafficPolicy Local: outside clients keep their address and reach local endpoints only',
    services: [
      svc('web', CIP, { type: 'LoadBalancer', ports: [nodePort], externalTrafficPolicy: 'Local' }, [LB]),
    ],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      {
        name: 'node port',
        from: 'external',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(L1)],
        masquerade: false,
      },
      { name: 'LB IP', from: 'external', to: LB, port: 80, expect: [at(L1)], masquerade: false },
      {
        name: 'pod to LB IP: all endpoints',
        from: 'pod',
        to: LB,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: false,
      },
      {
        name: 'node to LB IP: all, masqueraded',
        from: 'node',
        to: LB,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
      {
        name: 'ClusterIP is Cluster',
        from: 'external',
        to: CIP,
        port: 80,
        expect: [at(L1), at(R1)],
        masquerade: true,
      },
    ],
  },
  {
    name: 'etp-local-no-local-endpoint',
    feature:
      'externalTrafficPolicy Local without a local endpoint drops outside traffic, not pod or node traffic',
    services: [
      svc('web', CIP, { type: 'LoadBalancer', ports: [nodePort], externalTrafficPolicy: 'Local' }, [LB]),
    ],
    slices: [slice('web', [ep(R1), ep(R2)])],
    flows: [
      { name: 'node port', from: 'external', to: THIS_NODE_IP, port: NODE_PORT, expect: 'DROP' },
      { name: 'LB IP', from: 'external', to: LB, port: 80, expect: 'DROP' },
      { name: 'pod to LB IP', from: 'pod', to: LB, port: 80, expect: [at(R1), at(R2)], masquerade: false },
      { name: 'pod to node port', from: 'pod', to: THIS_NODE_IP, port: NODE_PORT, expect: [at(R1), at(R2)] },
      {
        name: 'node to its node port',
        from: 'node',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(R1), at(R2)],
        masquerade: true,
      },
    ],
  },
  {
    name: 'etp-local-terminating',
    feature: 'externalTrafficPolicy Local falls back to a serving terminating local endpoint',
    services: [svc('web', CIP, { type: 'NodePort', ports: [nodePort], externalTrafficPolicy: 'Local' })],
    slices: [slice('web', [ep(L1, { ready: false, serving: true, terminating: true }), ep(R1)])],
    flows: [
      {
        name: 'node port',
        from: 'external',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(L1)],
        masquerade: false,
      },
      { name: 'ClusterIP uses the ready one', from: 'pod', to: CIP, port: 80, expect: [at(R1)] },
    ],
  },
  {
    name: 'itp-local',
    feature: "internalTrafficPolicy Local sends ClusterIP traffic to this node's endpoints only",
    services: [svc('web', CIP, { internalTrafficPolicy: 'Local' })],
    slices: [slice('web', [ep(L1), ep(R1)])],
    flows: [
      { name: 'pod', from: 'pod', to: CIP, port: 80, expect: [at(L1)], masquerade: false },
      { name: 'node', from: 'node', to: CIP, port: 80, expect: [at(L1)], masquerade: true },
    ],
  },
  {
    name: 'itp-local-no-local-endpoint',
    feature:
      'internalTrafficPolicy Local without a local endpoint drops ClusterIP traffic; external traffic is Cluster',
    services: [svc('web', CIP, { type: 'NodePort', ports: [nodePort], internalTrafficPolicy: 'Local' })],
    slices: [slice('web', [ep(R1), ep(R2)])],
    flows: [
      { name: 'pod to ClusterIP', from: 'pod', to: CIP, port: 80, expect: 'DROP' },
      { name: 'node to ClusterIP', from: 'node', to: CIP, port: 80, expect: 'DROP' },
      {
        name: 'node port',
        from: 'external',
        to: THIS_NODE_IP,
        port: NODE_PORT,
        expect: [at(R1), at(R2)],
        masquerade: true,
      },
    ],
  },
];
