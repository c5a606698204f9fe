/**
 * Background Services: the "N Services programmed" axis of the new-connection workloads. N
 * ClusterIP Services (one TCP port, no selector) with E endpoints each are created in bulk through
 * the cluster's apiserver, each with an EndpointSlice written as a controller would publish it,
 * with endpoint addresses from 240.0.0.0/4 (reserved, never routed: no pods behind them, as
 * upstream's scale tests do). They live in BACKGROUND_NAMESPACE, which sorts before "default", so
 * the measured Services (world.ts, in "default") come after every one of them in the key order
 * the linear modes write their dispatch rules in: the worst case for a first packet.
 * Then every node's proxier is waited for, through its metrics endpoint (kdp_proxy_service_ports
 * inside the node namespace), and how long that took is recorded with the agents' CPU.
 */
import { readFileSync } from 'node:fs';
import {
  ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
  LABEL_SERVICE_NAME,
  type EndpointSlice,
  type Service,
} from '../../../dataplane/api/types.ts';
import { type Cluster, runIn } from '../../../dataplane/cluster/cluster.ts';
import { describeError, isKdpError, KdpError } from '../../../dataplane/errors.ts';
import { numberToIpv4 } from '../../../dataplane/kernel/cidr.ts';
import { netnsPath } from '../../../dataplane/kernel/name-checks.ts';

export const BACKGROUND_NAMESPACE = 'bench-bg';
export const BACKGROUND_ERROR = 'KDP_ERR_BENCH_BACKGROUND';
/** 240.0.0.0/4: reserved for future use, routed nowhere. 2^28 addresses, reused modulo that. */
const FIRST_ADDRESS = 240n << 24n;
const ADDRESSES = 1n << 28n;
/** Creates in flight at once (the apiserver's measured sweet spot is 16-64 lanes). */
const LANES = 48;
/** A node's metrics endpoint (kube-proxy's), inside its namespace; no authentication on loopback. */
const METRICS_PORT = 10249;

export const backgroundName = (i: number) => `bg-${String(i).padStart(6, '0')}`;

export function backgroundService(i: number): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: backgroundName(i), namespace: BACKGROUND_NAMESPACE },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

export function backgroundSlice(i: number, endpoints: number): EndpointSlice {
  const name = backgroundName(i);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-bg`, namespace: BACKGROUND_NAMESPACE, labels: { [LABEL_SERVICE_NAME]: name } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: endpoints }, (_, j) => ({
      addresses: [numberToIpv4(FIRST_ADDRESS + (BigInt(i * endpoints + j) % ADDRESSES))],
      conditions: { ready: true, serving: true, terminating: false },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** One sample of Prometheus text: `name` without labels; undefined when absent. */
export function sampleValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) return undefined;
  const v = Number(line.slice(name.length + 1).trim());
  return Number.isFinite(v) ? v : undefined;
}

/** The proxier's /metrics text in a node namespace (bash's /dev/tcp: no process per language runtime). */
export async function nodeMetricsText(netns: string, signal?: AbortSignal): Promise<string> {
  const script = `exec 3<>/dev/tcp/127.0.0.1/${METRICS_PORT} && printf 'GET /metrics HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && cat <&3`;
  const r = await runIn(netnsPath(netns), ['bash', '-c', script], { timeoutMs: 10_000, signal });
  if (r.code !== 0) {
    const how = r.signal ? `no answer within 10 s (${r.signal})` : `exit ${r.code}`;
    throw new KdpError(
      BACKGROUND_ERROR,
      `cannot read the proxy metrics in ${netns}: ${how} ${r.stderr.trim()}`.trim(),
    );
  }
  return r.stdout;
}

/** Service ports a node's proxier programmed at its last successful sync. */
export async function programmedServicePorts(netns: string, signal?: AbortSignal): Promise<number> {
  const text = await nodeMetricsText(netns, signal);
  const v = sampleValue(text, 'kdp_proxy_service_ports');
  if (v === undefined)
    throw new KdpError(BACKGROUND_ERROR, `the proxy in ${netns} reports no kdp_proxy_service_ports`);
  return v;
}

/** utime + stime of a process, in seconds; 0 when it is gone. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Position (1-based) of `key` among `keys` in sorted order: where a linear mode's dispatch chain,
 * written in service-port key order, meets the measured Service.
 */
export function sortedPosition(keys: readonly string[], key: string): number {
  const sorted = [...keys].sort();
  const i = sorted.indexOf(key);
  return i < 0 ? 0 : i + 1;
}

export interface GrowResult {
  /** Background Services now. */
  services: number;
  createSeconds: number;
  /** From the first create until every node's proxier reported them all programmed. */
  syncSeconds: number;
  /** CPU seconds of every node agent over the same span, per Service added (0 when none were added). */
  agentCpuSecondsPerService: number;
  /** Position of `measuredKey` in the sorted service-port keys of the cluster. */
  dispatchPosition: number;
  dispatchTotal: number;
}

export interface GrowOptions {
  endpointsPerService: number;
  /** ns/name:port/PROTOCOL of the measured Service. */
  measuredKey: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

async function ensureNamespace(cluster: Cluster): Promise<void> {
  const api = cluster.client.resource('namespaces');
  if (await api.tryGet(BACKGROUND_NAMESPACE)) return;
  try {
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: BACKGROUND_NAMESPACE } });
  } catch (e) {
    if (!(isKdpError(e) && /exist/i.test(e.message))) throw e;
  }
}

async function serviceKeys(cluster: Cluster): Promise<string[]> {
  const list = await cluster.client.resource<Service>('services').listAll();
  return list.items.flatMap((s) =>
    s.spec.clusterIP === 'None' || s.spec.type === 'ExternalName'
      ? []
      : (s.spec.ports ?? []).map(
          (p) =>
            `${s.metadata.namespace}/${s.metadata.name}${p.name ? `:${p.name}` : ''}/${p.protocol ?? 'TCP'}`,
        ),
  );
}

/** Creates Services `from`..`to`-1 and waits until every node programmed them. */
export async function growBackground(
  cluster: Cluster,
  from: number,
  to: number,
  o: GrowOptions,
): Promise<GrowResult> {
  const nodes = cluster.nodes;
  const before = await Promise.all(nodes.map((n) => programmedServicePorts(n.netns, o.signal)));
  const cpuOf = () => nodes.reduce((sum, n) => sum + processCpuSeconds(cluster.agent(n.name).pid), 0);
  const cpuBefore = cpuOf();
  const started = performance.now();
  if (to > from) {
    await ensureNamespace(cluster);
    const services = cluster.client.resource<Service>('services');
    const slices = cluster.client.resource<EndpointSlice>('discovery.k8s.io/endpointslices');
    let next = from;
    const lane = async () => {
      while (next < to) {
        o.signal?.throwIfAborted();
        const i = next++;
        await services.create(backgroundService(i));
        await slices.create(backgroundSlice(i, o.endpointsPerService));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LANES, to - from) }, lane));
  }
  const createSeconds = (performance.now() - started) / 1000;
  o.log?.(
    `${to - from} background Services created in ${createSeconds.toFixed(1)} s; waiting for every node`,
  );
  // A node's sync work grows with N (and a loaded machine stretches it): 2 min + 30 ms a Service.
  const timeoutMs = o.timeoutMs ?? 120_000 + 30 * to;
  const deadline = Date.now() + timeoutMs;
  for (const [i, node] of nodes.entries()) {
    const want = before[i] + (to - from);
    for (;;) {
      o.signal?.throwIfAborted();
      let have: number | undefined;
      try {
        have = await programmedServicePorts(node.netns, o.signal);
      } catch (e) {
        // An agent busy with a 10k-Service sync may answer late: retry until the deadline.
        if (Date.now() > deadline) throw e;
        o.log?.(describeError(e));
      }
      if (have !== undefined && have >= want) break;
      if (Date.now() > deadline)
        throw new KdpError(
          BACKGROUND_ERROR,
          `${node.name}: its proxy programmed ${have ?? '?'} service ports, not ${want}, within ${timeoutMs / 1000} s`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const syncSeconds = (performance.now() - started) / 1000;
  const cpu = cpuOf() - cpuBefore;
  const keys = await serviceKeys(cluster);
  return {
    services: to,
    createSeconds,
    syncSeconds,
    agentCpuSecondsPerService: to > from ? cpu / (to - from) : 0,
    dispatchPosition: sortedPosition(keys, o.measuredKey),
    dispatchTotal: keys.length,
  };
}

const PROGRAMMING = 'kubeproxy_network_programming_duration_seconds';
/** Replacement endpoint addresses come from 241.0.0.0/8, also reserved and never routed. */
let nextMoved = 241n << 24n;

async function programmingSamples(
  netns: string,
  signal?: AbortSignal,
): Promise<{ count: number; sum: number }> {
  const text = await nodeMetricsText(netns, signal);
  return {
    count: sampleValue(text, `${PROGRAMMING}_count`) ?? 0,
    sum: sampleValue(text, `${PROGRAMMING}_sum`) ?? 0,
  };
}

/**
 * One endpoint change to every node's kernel, `changes` times in a row: background Service `index`
 * gets one endpoint replaced (stamped with its trigger time, as the EndpointSlice controller
 * does), and each node's kubeproxy_network_programming_duration_seconds is read until it counted
 * the change; its sum grew by exactly that change's latency (trigger time to rules programmed, in
 * the proxier's own clock). A change's figure is its slowest node's. Milliseconds, in order.
 */
export async function endpointChangeLatencies(
  cluster: Cluster,
  index: number,
  changes: number,
  o: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<number[]> {
  const slices = cluster.client.resource<EndpointSlice>('discovery.k8s.io/endpointslices');
  const name = `${backgroundName(index)}-bg`;
  const out: number[] = [];
  for (let k = 0; k < changes; k++) {
    const before = await Promise.all(cluster.nodes.map((n) => programmingSamples(n.netns, o.signal)));
    const slice = await slices.get(name, BACKGROUND_NAMESPACE);
    const endpoints = slice.endpoints.map((ep, j) =>
      j === 0 ? { ...ep, addresses: [numberToIpv4(nextMoved++)] } : ep,
    );
    const annotations = { [ANNOTATION_LAST_CHANGE_TRIGGER_TIME]: new Date().toISOString() };
    await slices.update({ ...slice, metadata: { ...slice.metadata, annotations }, endpoints });
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    let worst = 0;
    for (const [i, node] of cluster.nodes.entries()) {
      for (;;) {
        o.signal?.throwIfAborted();
        const now = await programmingSamples(node.netns, o.signal);
        if (now.count > before[i].count) {
          worst = Math.max(worst, ((now.sum - before[i].sum) / (now.count - before[i].count)) * 1000);
          break;
        }
        if (Date.now() > deadline)
          throw new KdpError(
            BACKGROUND_ERROR,
            `${node.name}: an endpoint change was not programmed within ${(o.timeoutMs ?? 60_000) / 1000} s`,
          );
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    out.push(worst);
  }
  return out;
}
