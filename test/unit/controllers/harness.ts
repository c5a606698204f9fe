// The real in-process apiserver stack for controller tests (store, registry with every strategy,
// allocators, dispatcher, in-process client), a transport that counts write requests per resource,
// object builders, and a bounded poll for conditions that controllers bring about asynchronously.
import { createAllocators } from '../../../dataplane/api/allocators/index.ts';
import { createDispatcher } from '../../../dataplane/api/http/dispatch.ts';
import { Registry } from '../../../dataplane/api/registry/generic-registry.ts';
import { createStrategies } from '../../../dataplane/api/registry/strategies/index.ts';
import { Store } from '../../../dataplane/api/store/store.ts';
import type { Condition, KubeObject, Node, Pod, Service } from '../../../dataplane/api/types.ts';
import { createClient } from '../../../dataplane/client/client.ts';
import { createInProcessTransport } from '../../../dataplane/client/inprocess-transport.ts';
import type { ApiClient, Transport } from '../../../dataplane/client/interface.ts';
import type { Log } from '../../../dataplane/log.ts';

export interface Stack {
  client: ApiClient;
  store: Store;
  /** Write requests (POST/PUT/PATCH/DELETE) so far, by the last plural path segment they name. */
  writes(resource: string): number;
  close(): void;
}

const PLURALS = [
  'pods',
  'services',
  'endpoints',
  'endpointslices',
  'nodes',
  'replicasets',
  'deployments',
  'namespaces',
  'events',
];

export async function stack(namespaces: string[] = ['default']): Promise<Stack> {
  const store = new Store();
  const registry = new Registry(
    store,
    createStrategies(),
    createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 30000, last: 32767 } }),
  );
  const inner = createInProcessTransport(createDispatcher(registry));
  const counts = new Map<string, number>();
  const counting: Transport = {
    request(req) {
      if (req.method !== 'GET') {
        const resource =
          req.path
            .split('/')
            .filter((s) => PLURALS.includes(s))
            .pop() ?? '?';
        counts.set(resource, (counts.get(resource) ?? 0) + 1);
      }
      return inner.request(req);
    },
    watch: (req, onEvent) => inner.watch(req, onEvent),
    close: () => inner.close(),
  };
  const client = createClient(counting);
  for (const name of namespaces) {
    await client.resource('namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  return {
    client,
    store,
    writes: (resource) => counts.get(resource) ?? 0,
    close() {
      client.close();
      store.close();
    },
  };
}

/** A logger that keeps what it is told, for assertions. */
export function captureLog(): Log & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const log = ((level, message) => {
    lines.push({ level, message });
  }) as Log & { lines: typeof lines };
  log.lines = lines;
  return log;
}

export const fastRetry = { baseDelayMs: 5, maxDelayMs: 200 };

export function readyCondition(
  ready: boolean,
  at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
): Condition {
  return { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: at };
}

export async function makeNode(
  client: ApiClient,
  name: string,
  opts: {
    ready?: boolean;
    unschedulable?: boolean;
    labels?: Record<string, string>;
    ip?: string;
    podCIDR?: string;
  } = {},
): Promise<Node> {
  const nodes = client.resource<Node>('nodes');
  const node = await nodes.create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } },
    spec: {
      unschedulable: opts.unschedulable,
      ...(opts.podCIDR ? { podCIDR: opts.podCIDR, podCIDRs: [opts.podCIDR] } : {}),
    },
  });
  if (opts.ready === undefined && !opts.ip) return node;
  return nodes.updateStatus({
    ...node,
    status: {
      addresses: opts.ip ? [{ type: 'InternalIP', address: opts.ip }] : [],
      conditions: opts.ready === undefined ? [] : [readyCondition(opts.ready)],
    },
  });
}

export interface PodSpecOpts {
  labels?: Record<string, string>;
  node?: string;
  ip?: string;
  ready?: boolean;
  ports?: { name?: string; containerPort: number }[];
  namespace?: string;
}

/** A Pod as a kubelet would have reported it: bound, with an IP and a Ready condition. */
export async function makePod(client: ApiClient, name: string, o: PodSpecOpts = {}): Promise<Pod> {
  const pods = client.resource<Pod>('pods');
  const pod = await pods.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', labels: o.labels ?? {} },
    spec: {
      nodeName: o.node,
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', ports: o.ports ?? [] }],
    },
  });
  if (!o.ip) return pod;
  return pods.updateStatus({
    ...pod,
    status: {
      phase: 'Running',
      podIP: o.ip,
      podIPs: [{ ip: o.ip }],
      conditions: [readyCondition(o.ready ?? true)],
    },
  });
}

export async function makeService(
  client: ApiClient,
  name: string,
  spec: Partial<Service['spec']>,
  namespace = 'default',
) {
  return client.resource<Service>('services').create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec },
  });
}

export function sortedNames(objs: KubeObject[]): string[] {
  return objs.map((o) => o.metadata.name!).sort();
}
