/**
 * The servers and clients the data-plane workloads need in one cluster, made once per cluster and
 * shared by every cell of that (mode, backend): on node-2 an iperf3, a sockperf (TCP) and an
 * HTTP server pod, each behind a NodePort Service; a client pod on node-2 (same node) and one on
 * node-1 (across nodes); an external client on the underlay. A path then says who runs the tool
 * and which address it aims at:
 *
 *   pod-pod-same-node   node-2 client -> server pod IP (the node's bridge, no proxy)
 *   pod-pod-cross-node  node-1 client -> server pod IP (the overlay)
 *   pod-clusterip       node-1 client -> ClusterIP (the proxy's DNAT on node-1, then the overlay)
 *   external-nodeport   external client -> node-1's underlay address:NodePort (DNAT + SNAT on
 *                       node-1, then the overlay to node-2), as traffic from outside arrives
 *
 * iperf3 uses one port number for its TCP control connection and its UDP data, so its Service
 * has TCP and UDP ports of the same number, and the same explicit NodePort for both.
 */
import type { Pod, Service, ServicePort } from '../../../dataplane/api/types.ts';
import type { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { KdpError } from '../../../dataplane/errors.ts';
import { CONNBENCH_BINARY, CONNBENCH_PORT } from './connbench.ts';
import type { Runner } from './tools.ts';

export const DATA_PATHS = [
  'pod-pod-same-node',
  'pod-pod-cross-node',
  'pod-clusterip',
  'external-nodeport',
] as const;
export type DataPath = (typeof DATA_PATHS)[number];

export type ServerKind = 'iperf3' | 'sockperf' | 'http' | 'connbench';

interface ServerSpec {
  image: string;
  port: number;
  nodePort: number;
  udp?: boolean;
  /** A host program (no built-in image): its argv; the pod is Ready once `port` listens. */
  command?: string[];
}

const SERVERS: Record<ServerKind, ServerSpec> = {
  iperf3: { image: 'kdp/iperf3', port: 5201, nodePort: 30201, udp: true },
  // A TCP container port makes kdp/sockperf serve TCP (sockperf server --tcp).
  sockperf: { image: 'kdp/sockperf', port: 11111, nodePort: 30111 },
  http: { image: 'kdp/http', port: 8080, nodePort: 30080 },
  // The new-connection workloads' server (build/kdp-connbench), TCP and UDP on one port.
  connbench: {
    image: 'kdp-bench/connbench',
    port: CONNBENCH_PORT,
    nodePort: 30070,
    udp: true,
    command: [CONNBENCH_BINARY, 'serve', '--port', String(CONNBENCH_PORT)],
  },
};

export interface Target {
  /** Runs a tool where this path's client is. */
  run: Runner;
  host: string;
  port: number;
}

export interface DataWorld {
  target(path: DataPath, server: ServerKind): Target;
}

const serverPod = (kind: ServerKind) => `bench-${kind}`;

/** The service-port key (ns/name:port/PROTOCOL) of a server's TCP port, as the proxies key it. */
export const measuredServiceKey = (kind: ServerKind) => `default/${serverPod(kind)}:tcp/TCP`;

function service(kind: ServerKind): Service {
  const s = SERVERS[kind];
  const ports: ServicePort[] = [
    { name: 'tcp', port: s.port, targetPort: s.port, protocol: 'TCP', nodePort: s.nodePort },
  ];
  if (s.udp)
    ports.push({ name: 'udp', port: s.port, targetPort: s.port, protocol: 'UDP', nodePort: s.nodePort });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serverPod(kind), namespace: 'default' },
    spec: { type: 'NodePort', selector: { app: serverPod(kind) }, ports },
  };
}

/** TCP connect from `run`'s namespace to host:port within 2 s (bash's /dev/tcp: no extra tools). */
async function connects(run: Runner, host: string, port: number): Promise<boolean> {
  const r = await run(['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`], {
    timeoutMs: 5000,
  });
  return r.code === 0;
}

/** Builds the world in `cluster` (a 2-node cluster) and waits until every path answers. */
export async function createDataWorld(cluster: Cluster, signal?: AbortSignal): Promise<DataWorld> {
  const [node1, node2] = cluster.nodes;
  if (!node1 || !node2)
    throw new KdpError('KDP_ERR_BENCH_SETUP', `cluster "${cluster.name}" needs 2 nodes for the data paths`);
  const kinds = Object.keys(SERVERS) as ServerKind[];
  const pods = await Promise.all([
    ...kinds.map((k) =>
      cluster.addPod(serverPod(k), {
        image: SERVERS[k].image,
        node: node2.name,
        labels: { app: serverPod(k) },
        ports: [SERVERS[k].port],
        ...(SERVERS[k].command ? { command: SERVERS[k].command, readyPort: SERVERS[k].port } : {}),
      }),
    ),
    cluster.addPod('bench-client-near', { image: 'kdp/pause', node: node2.name }),
    cluster.addPod('bench-client-far', { image: 'kdp/pause', node: node1.name }),
  ]);
  const podIp = new Map<ServerKind, string>(kinds.map((k, i) => [k, (pods[i] as Pod).status!.podIP!]));
  const services = cluster.client.resource<Service>('services');
  const clusterIp = new Map<ServerKind, string>();
  for (const k of kinds) clusterIp.set(k, (await services.create(service(k))).spec.clusterIP!);
  const external = await cluster.addExternalClient({ name: 'bench' });
  const inPod =
    (pod: string): Runner =>
    (argv, o) =>
      cluster.exec(pod, argv, o);
  const near = inPod('bench-client-near');
  const far = inPod('bench-client-far');
  const outside: Runner = (argv, o) => external.exec(argv, o);
  const world: DataWorld = {
    target(path, kind) {
      const s = SERVERS[kind];
      switch (path) {
        case 'pod-pod-same-node':
          return { run: near, host: podIp.get(kind)!, port: s.port };
        case 'pod-pod-cross-node':
          return { run: far, host: podIp.get(kind)!, port: s.port };
        case 'pod-clusterip':
          return { run: far, host: clusterIp.get(kind)!, port: s.port };
        case 'external-nodeport':
          return { run: outside, host: node1.underlayIp, port: s.nodePort };
      }
    },
  };
  // The proxy programs new Services within its sync period: wait until every path answers.
  const deadline = Date.now() + 60_000;
  for (const path of DATA_PATHS) {
    for (const kind of ['http', 'sockperf', 'connbench'] as const) {
      const t = world.target(path, kind);
      while (!(await connects(t.run, t.host, t.port))) {
        signal?.throwIfAborted();
        if (Date.now() > deadline)
          throw new KdpError(
            'KDP_ERR_BENCH_SETUP',
            `${path}: ${kind} server at ${t.host}:${t.port} did not answer within 60 s in cluster "${cluster.name}"`,
          );
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
  return world;
}
