/**
 * A valid minimal object of every served kind and where it is posted, for the table-generated
 * validation cases: each case breaks one thing in an otherwise valid object.
 */
export interface ServedKind {
  kind: string;
  /** Collection path the object is created in. */
  collection: string;
  /** A valid object named `name`. */
  valid(name: string): Record<string, any>;
}

const NS = '/api/v1/namespaces/default';

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

export const SERVED_KINDS: ServedKind[] = [
  {
    kind: 'Namespace',
    collection: '/api/v1/namespaces',
    valid: (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  },
  {
    kind: 'Node',
    collection: '/api/v1/nodes',
    valid: (name) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} }),
  },
  {
    kind: 'Pod',
    collection: `${NS}/pods`,
    valid: (name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: template(name).spec }),
  },
  {
    kind: 'Service',
    collection: `${NS}/services`,
    valid: (name) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { ports: [{ port: 80 }] },
    }),
  },
  {
    kind: 'Endpoints',
    collection: `${NS}/endpoints`,
    valid: (name) => ({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name },
      subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80 }] }],
    }),
  },
  {
    kind: 'Event',
    collection: `${NS}/events`,
    valid: (name) => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name },
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
      reason: 'Test',
    }),
  },
  {
    kind: 'EndpointSlice',
    collection: '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
    valid: (name) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'] }],
      ports: [{ port: 80 }],
    }),
  },
  {
    kind: 'Deployment',
    collection: '/apis/apps/v1/namespaces/default/deployments',
    valid: (name) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: template(name) },
    }),
  },
  {
    kind: 'ReplicaSet',
    collection: '/apis/apps/v1/namespaces/default/replicasets',
    valid: (name) => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: template(name) },
    }),
  },
];
