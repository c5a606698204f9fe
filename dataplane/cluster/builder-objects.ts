/**
 * The Kubernetes objects the builder creates: a Node per topology node (labels, underlay address
 * as InternalIP) and Pods bound to a node. A Pod's image picks what the node agent runs in it
 * (kdp/http answers HTTP with its pod name, kdp/echo echoes, kdp/pause runs nothing, anything
 * else is a host program); the builder's own pods are kdp/http by default.
 */
import type { Container, Node, Pod } from '../api/types.ts';
import type { Topology, TopologyNode } from './topology.ts';
import { nodeUnderlayIp } from './topology-addresses.ts';
import { TOPOLOGY_POD_NAMESPACE } from './topology-names.ts';

export const LABEL_CLUSTER = 'kdp.dev/cluster';
/** Marks the pods the builder made from the topology (as opposed to Deployments' or a user's). */
export const LABEL_TOPOLOGY_POD = 'kdp.dev/topology-pod';
export const DEFAULT_POD_IMAGE = 'kdp/http';
/** kdp/http listens here unless the container says otherwise. */
export const HTTP_PORT = 8080;

export function nodeObject(topology: Topology, node: TopologyNode): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        [LABEL_CLUSTER]: topology.cluster,
      },
    },
    spec: {},
  };
}

/** The Node's status as the builder knows it; the agent adds conditions (Ready) and heartbeats. */
export function nodeStatus(topology: Topology, node: TopologyNode): Node['status'] {
  return {
    addresses: [
      { type: 'InternalIP', address: nodeUnderlayIp(topology, node.index) },
      { type: 'Hostname', address: node.name },
    ],
  };
}

export interface PodOptions {
  /** Kubernetes namespace; default "default". */
  namespace?: string;
  /** Node to bind to; left to the scheduler when absent. */
  node?: string;
  /** Default kdp/http. */
  image?: string;
  command?: string[];
  args?: string[];
  ports?: number[];
  labels?: Record<string, string>;
  env?: Record<string, string>;
  /** A TCP port whose listening makes the pod Ready (a tcpSocket readinessProbe), for host programs. */
  readyPort?: number;
  terminationGracePeriodSeconds?: number;
}

/** kdp/http's port is written into the Pod (Services target it); other images keep the agent's defaults. */
function defaultPorts(image: string): number[] {
  return image === 'kdp/http' ? [HTTP_PORT] : [];
}

export function podObject(name: string, options: PodOptions = {}): Pod {
  const image = options.image ?? DEFAULT_POD_IMAGE;
  const ports = options.ports ?? defaultPorts(image);
  const container: Container = {
    name: image.replace(/^.*\//, '').replace(/[^a-z0-9-]/g, '-') || 'main',
    image,
    ...(options.command ? { command: options.command } : {}),
    ...(options.args ? { args: options.args } : {}),
    ...(options.env
      ? { env: Object.entries(options.env).map(([envName, value]) => ({ name: envName, value })) }
      : {}),
    ...(ports.length ? { ports: ports.map((p) => ({ containerPort: p, protocol: 'TCP' as const })) } : {}),
    ...(options.readyPort !== undefined
      ? { readinessProbe: { tcpSocket: { port: options.readyPort } } }
      : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace ?? TOPOLOGY_POD_NAMESPACE,
      labels: options.labels ?? {},
    },
    spec: {
      ...(options.node ? { nodeName: options.node } : {}),
      containers: [container],
      restartPolicy: 'Always',
      ...(options.terminationGracePeriodSeconds !== undefined
        ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds }
        : {}),
    },
  };
}

/** The pods a topology declares, bound to their nodes. */
export function topologyPods(topology: Topology, image = DEFAULT_POD_IMAGE): Pod[] {
  return topology.nodes.flatMap((node) =>
    node.pods.map((name) =>
      podObject(name, {
        node: node.name,
        image,
        labels: { [LABEL_TOPOLOGY_POD]: 'true', [LABEL_CLUSTER]: topology.cluster },
      }),
    ),
  );
}

export function isPodReady(pod: Pod): boolean {
  return !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isNodeReady(node: Node): boolean {
  return !!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? TOPOLOGY_POD_NAMESPACE}/${pod.metadata.name}`;
}
