/**
 * The small cluster every compliance case lives in, and builders for its objects: the proxier's
 * node (node-a, 198.18.0.2, pods in 10.244.1.0/24) and another node (node-b, pods in
 * 10.244.2.0/24), a client outside the cluster on the underlay, and Services / EndpointSlices as
 * the apiserver returns them (defaults filled in), compact enough for a table row.
 */
import {
  LABEL_SERVICE_NAME,
  type Endpoint,
  type EndpointSlice,
  type EndpointSlicePort,
  type Node,
  type Service,
  type ServicePort,
  type ServiceSpec,
} from '../../api/types.ts';

export const THIS_NODE = 'node-a';
export const THIS_NODE_IP = '198.18.0.2';
export const THIS_NODE_POD_CIDR = '10.244.1.0/24';
/** The bridge address pods of this node use as their gateway (also a local address of the node). */
export const THIS_NODE_POD_GATEWAY = '10.244.1.1';
export const OTHER_NODE = 'node-b';
export const CLUSTER_CIDR = '10.244.0.0/16';
/** A pod on this node that is no endpoint of anything. */
export const POD_CLIENT = '10.244.1.10';
/** A client outside the cluster, on the underlay. */
export const EXTERNAL_CLIENT = '198.18.0.100';

/** Endpoint addresses: L* on this node, R* on the other one. */
export const L1 = '10.244.1.21';
export const L2 = '10.244.1.22';
export const R1 = '10.244.2.21';
export const R2 = '10.244.2.22';

export function thisNode(): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: THIS_NODE, labels: { 'kubernetes.io/hostname': THIS_NODE } },
    spec: { podCIDR: THIS_NODE_POD_CIDR, podCIDRs: [THIS_NODE_POD_CIDR] },
    status: { addresses: [{ type: 'InternalIP', address: THIS_NODE_IP }] },
  };
}

export const HTTP: ServicePort = { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 };
export const HTTP_TARGET: EndpointSlicePort = { name: 'http', protocol: 'TCP', port: 8080 };

/** A Service in namespace `ns1`; ClusterIP type with port http 80 -> 8080 unless `spec` says otherwise. */
export function svc(
  name: string,
  clusterIP: string,
  spec: Partial<ServiceSpec> = {},
  lbIngress: string[] = [],
): Service {
  const s: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ns1' },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: clusterIP === 'None' ? ['None'] : [clusterIP],
      ports: [HTTP],
      selector: { app: name },
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ...spec,
    },
  };
  if (s.spec.type === 'NodePort' || s.spec.type === 'LoadBalancer')
    s.spec.externalTrafficPolicy ??= 'Cluster';
  if (lbIngress.length) s.status = { loadBalancer: { ingress: lbIngress.map((ip) => ({ ip })) } };
  return s;
}

export interface EpOpts {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** An endpoint on this node (L*) or the other (R*), by its address. */
export function ep(ip: string, o: EpOpts = {}): Endpoint {
  const ready = o.ready ?? true;
  return {
    addresses: [ip],
    nodeName: ip.startsWith('10.244.1.') ? THIS_NODE : OTHER_NODE,
    conditions: { ready, serving: o.serving ?? ready, terminating: o.terminating ?? false },
  };
}

/** The EndpointSlice of Service `name` (namespace ns1) with `endpoints` on `ports`. */
export function slice(
  name: string,
  endpoints: Endpoint[],
  ports: EndpointSlicePort[] = [HTTP_TARGET],
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-abcde`, namespace: 'ns1', labels: { [LABEL_SERVICE_NAME]: name } },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

/** `ip:8080`, the target port of HTTP. */
export function at(ip: string, port = 8080): string {
  return `${ip}:${port}`;
}

/** The source address a flow has unless it names one. */
export function defaultSource(from: 'pod' | 'external' | 'node'): string {
  return from === 'pod' ? POD_CLIENT : from === 'node' ? THIS_NODE_IP : EXTERNAL_CLIENT;
}
