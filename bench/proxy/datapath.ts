/**
 * The iptables proxy mode's data-path benchmark (root):
 *
 *   node --import tsx bench/proxy/datapath.ts [--rounds 5] [--seconds 5] [--quick] [--out FILE]
 *
 * A 2-node cluster (real agents, iptables mode, nft backend): an iperf3 server pod (kdp/iperf3)
 * and a sockperf server pod (kdp/sockperf, UDP) on node-2, each behind a ClusterIP Service, and
 * a client pod on node-1. In alternating rounds the client runs, against the server pod's own
 * address (direct, pod to pod across nodes) and against its ClusterIP (DNAT on node-1 by the
 * proxy's rules): `iperf3 -c` (TCP throughput, one stream) and `sockperf ping-pong` (UDP
 * request latency, 64-byte messages; sockperf reports half the round trip, in microseconds).
 * Direct and ClusterIP are measured in the same run, interleaved, so the ratio is fair on a noisy
 * machine. Writes JSON under bench/results/ and prints Markdown. --quick: one round of 1 s.
 */
import { parseArgs } from 'node:util';
import type { Pod, Service } from '../../dataplane/api/types.ts';
import { Cluster } from '../../dataplane/cluster/cluster.ts';
import { machineInfo, writeResult, type MachineInfo } from '../lib/machine.ts';
import { bootstrapRatio, median, type Interval } from '../lib/stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    quick: { type: 'boolean' },
    out: { type: 'string' },
  },
});
const rounds = Number(values.rounds ?? (values.quick ? 1 : 5));
const seconds = Number(values.seconds ?? (values.quick ? 1 : 5));
const log = (m: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

type Path = 'direct' | 'clusterIP';

export interface DatapathResult {
  benchmark: 'proxy-datapath';
  command: string;
  machine: MachineInfo;
  options: { rounds: number; seconds: number; messageBytes: number };
  /** Per round, per path. */
  iperf3Gbps: Record<Path, number[]>;
  sockperfP50Us: Record<Path, number[]>;
  sockperfP99Us: Record<Path, number[]>;
  ratios: { throughput: Interval; p50: Interval; p99: Interval };
  file?: string;
}

await using cluster = await Cluster.create(
  { cluster: `bdp${process.pid}`.slice(0, 20), nodes: 2, podsPerNode: 0 },
  { handleSignals: true },
);
const api = cluster.client;
const [iperf, sockperf] = await Promise.all([
  cluster.addPod('iperf3', { image: 'kdp/iperf3', node: 'node-2', labels: { app: 'iperf3' }, ports: [5201] }),
  cluster.addPod('sockperf', { image: 'kdp/sockperf', node: 'node-2', labels: { app: 'sockperf' } }),
  cluster.addPod('client', { image: 'kdp/pause', node: 'node-1' }),
]);
const service = (name: string, port: number, protocol: 'TCP' | 'UDP') =>
  api.resource<Service>('services').create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { selector: { app: name }, ports: [{ name: 'p', port, targetPort: port, protocol }] },
  });
const [iperfSvc, sockperfSvc] = await Promise.all([
  service('iperf3', 5201, 'TCP'),
  service('sockperf', 11111, 'UDP'),
]);
const target = (pod: Pod, svc: Service): Record<Path, string> => ({
  direct: pod.status!.podIP!,
  clusterIP: svc.spec.clusterIP!,
});
const iperfAt = target(iperf, iperfSvc);
const sockperfAt = target(sockperf, sockperfSvc);

async function run(argv: string[]): Promise<string> {
  const r = await cluster.exec('client', argv, { timeoutMs: (seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function iperf3(ip: string, secs: number): Promise<number> {
  const out = JSON.parse(await run(['iperf3', '-c', ip, '-p', '5201', '-t', String(secs), '-J'])) as {
    end: { sum_received: { bits_per_second: number } };
  };
  return out.end.sum_received.bits_per_second / 1e9;
}

async function sockperfPingPong(ip: string, secs: number): Promise<{ p50: number; p99: number }> {
  const out = await run(['sockperf', 'ping-pong', '-i', ip, '-p', '11111', '-t', String(secs), '-m', '64']);
  const pct = (p: string) => Number(new RegExp(`percentile ${p} =\\s+([\\d.]+)`).exec(out)?.[1]);
  return { p50: pct('50\\.000'), p99: pct('99\\.000') };
}

// The proxy programs new Services within its min sync period: wait until the ClusterIPs answer.
const deadline = Date.now() + 30_000;
for (;;) {
  try {
    await iperf3(iperfAt.clusterIP, 1);
    await sockperfPingPong(sockperfAt.clusterIP, 1);
    break;
  } catch (e) {
    if (Date.now() > deadline) throw e;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const result: DatapathResult = {
  benchmark: 'proxy-datapath',
  command: `node --import tsx bench/proxy/datapath.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  options: { rounds, seconds, messageBytes: 64 },
  iperf3Gbps: { direct: [], clusterIP: [] },
  sockperfP50Us: { direct: [], clusterIP: [] },
  sockperfP99Us: { direct: [], clusterIP: [] },
  ratios: {} as DatapathResult['ratios'],
};
for (let r = 0; r < rounds; r++) {
  // Alternate which path goes first, so neither always runs on a warmer (or busier) machine.
  const order: Path[] = r % 2 ? ['clusterIP', 'direct'] : ['direct', 'clusterIP'];
  for (const path of order) {
    result.iperf3Gbps[path].push(await iperf3(iperfAt[path], seconds));
    const lat = await sockperfPingPong(sockperfAt[path], seconds);
    result.sockperfP50Us[path].push(lat.p50);
    result.sockperfP99Us[path].push(lat.p99);
  }
  log(`round ${r + 1}/${rounds}: ${JSON.stringify(result.iperf3Gbps)}`);
}
result.ratios = {
  throughput: bootstrapRatio(result.iperf3Gbps.clusterIP, result.iperf3Gbps.direct),
  p50: bootstrapRatio(result.sockperfP50Us.clusterIP, result.sockperfP50Us.direct),
  p99: bootstrapRatio(result.sockperfP99Us.clusterIP, result.sockperfP99Us.direct),
};
result.file = writeResult('proxy-datapath', result, values.out);

const f = (v: number, d = 2) => v.toFixed(d);
const ci = (i: Interval) => `${f(i.estimate)}x (${f(i.low)}-${f(i.high)})`;
const m = result.machine;
console.log(
  [
    `proxy data path benchmark: ${m.cpus} x ${m.cpuModel}, kernel ${m.kernel}, load ${m.loadAverage.join(' ')}, ${m.date}`,
    `result: ${result.file}; ${rounds} rounds of ${seconds} s per path and tool, interleaved`,
    '',
    '| path (node-1 pod to node-2 pod) | iperf3 TCP, Gbit/s | sockperf UDP p50, µs | sockperf UDP p99, µs |',
    '| --- | ---: | ---: | ---: |',
    ...(['direct', 'clusterIP'] as Path[]).map(
      (p) =>
        `| ${p === 'direct' ? 'direct (pod IP)' : 'through the ClusterIP'} | ${f(median(result.iperf3Gbps[p]))} | ${f(median(result.sockperfP50Us[p]), 1)} | ${f(median(result.sockperfP99Us[p]), 1)} |`,
    ),
    `| ClusterIP / direct (95% CI) | ${ci(result.ratios.throughput)} | ${ci(result.ratios.p50)} | ${ci(result.ratios.p99)} |`,
  ].join('\n'),
);
