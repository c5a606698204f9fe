// Services and EndpointSlices as the apiserver and the endpointslice controller would hold them.
import type { EndpointSlice, Service, ServiceSpec } from '../../../dataplane/api/types.ts';
import { LABEL_SERVICE_NAME } from '../../../dataplane/api/types.ts';

export function service(name: string, namespace: string, spec: ServiceSpec): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

export interface EpInput {
  ip: string;
  ready?: boolean;
  hostname?: string;
}

export function slice(
  svc: string,
  namespace: string,
  endpoints: EpInput[],
  ports: { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[] = [],
  addressType: 'IPv4' | 'IPv6' = 'IPv4',
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svc}-${addressType.toLowerCase()}`,
      namespace,
      labels: { [LABEL_SERVICE_NAME]: svc },
    },
    addressType,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.hostname ? { hostname: e.hostname } : {}),
    })),
    ports,
  };
}

/** A small cluster: ClusterIP, dual-stack, headless, ExternalName, and the kubernetes Service. */
export function sampleCluster(): { services: Service[]; slices: EndpointSlice[] } {
  return {
    services: [
      service('kubernetes', 'default', {
        clusterIP: '10.96.0.1',
        ports: [{ name: 'https', port: 443, protocol: 'TCP' }],
      }),
      service('backend-service', 'default', {
        clusterIP: '10.96.0.20',
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
          { port: 9000, protocol: 'TCP' },
        ],
      }),
      service('dual', 'other', {
        clusterIP: '10.96.0.30',
        clusterIPs: ['10.96.0.30', 'fd00:10:96::30'],
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
      }),
      service('db', 'other', {
        clusterIP: 'None',
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      }),
      service('ext', 'other', { type: 'ExternalName', externalName: 'example.org.' }),
    ],
    slices: [
      slice('backend-service', 'default', [{ ip: '10.244.1.5' }], [{ name: 'http', port: 8080 }]),
      slice(
        'db',
        'other',
        [{ ip: '10.244.1.7', hostname: 'db-0' }, { ip: '10.244.2.8' }, { ip: '10.244.2.9', ready: false }],
        [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      ),
    ],
  };
}
