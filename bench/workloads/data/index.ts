/**
 * The data-plane workloads: one trial of each is one run of a traffic tool from a path's client
 * to a server (world.ts), parsed into TrialValues. The runner calls trial() once per round; the
 * servers live as long as the cluster. Sizes: `seconds` per trial, rates bounded where a flood
 * would only measure the sender (udp-stream).
 *
 *   tcp-stream-1/-4  iperf3 -J, 1 or 4 streams: throughput_gbps, retransmits, and
 *                    cpu_seconds_per_gbit (the whole machine's non-idle CPU during the trial
 *                    over the Gbit received: an end-to-end cost per bit)
 *   udp-stream       iperf3 -u at a bounded offered rate, 1400-byte datagrams: received
 *                    throughput_gbps, loss_percent
 *   udp-pps          iperf3 -u, 64-byte datagrams, unbounded rate: packets_per_s received
 *   tcp-rr           sockperf ping-pong --tcp, 64-byte messages: latency p50/p90/p99/p99.9 (us)
 *   tcp-crr          kdp-connbench (connbench.ts), one connection at a time, closed loop: connect,
 *                    16-byte request, 2-byte answer, close: connections_per_s, connect and
 *                    transaction p50/p99, failures. Every connection's first packet walks the
 *                    proxy's rules, so this is where modes differ with many Services.
 *   tcp-crr-rate     the same at a fixed offered rate (CRR_OFFERED_RATE/s): connect and
 *                    transaction p50/p99 without the closed loop's self-pacing, failures, late starts
 *   udp-new-flow     kdp-connbench: one datagram from a new source port per flow, answered: flows_per_s
 *   http             wrk --latency against kdp/http with keep-alive: requests_per_s, p50/p99
 */
import type { TrialValue } from '../../lib/workload.ts';
import { connbenchArgv, type ConnbenchWorkload, parseConnbench } from './connbench.ts';
import { parseIperfTcp, parseIperfUdp, parseSockperf, parseWrk } from './parsers.ts';
import { BENCH_TOOL_ERROR, machineBusySeconds, runTool } from './tools.ts';
import { KdpError } from '../../../dataplane/errors.ts';
import type { ServerKind, Target } from './world.ts';

export interface TrialOptions {
  seconds: number;
  quick: boolean;
  signal?: AbortSignal;
}

export interface DataWorkload {
  name: string;
  description: string;
  server: ServerKind;
  /** Whether its cells repeat at every background-Services size (each connection's first packet walks the rules). */
  scalesWithServices?: boolean;
  trial(target: Target, o: TrialOptions): Promise<TrialValue[]>;
}

const v = (name: string, unit: string, better: TrialValue['better'], value: number): TrialValue => ({
  name,
  unit,
  better,
  value,
});

function tcpStream(streams: number): DataWorkload {
  return {
    name: `tcp-stream-${streams}`,
    description: `iperf3 TCP, ${streams} stream${streams > 1 ? 's' : ''}: throughput and CPU cost per Gbit`,
    server: 'iperf3',
    async trial(t, o) {
      const argv = [
        'iperf3',
        '-c',
        t.host,
        '-p',
        String(t.port),
        '-t',
        String(o.seconds),
        '-P',
        String(streams),
      ];
      const cpuBefore = machineBusySeconds();
      const out = await runTool(t.run, [...argv, '-J', '--connect-timeout', '5000'], o.seconds, o.signal);
      const cpu = machineBusySeconds() - cpuBefore;
      const r = parseIperfTcp(out);
      const gbit = (r.bytes * 8) / 1e9;
      return [
        v('throughput_gbps', 'Gbit/s', 'higher', r.gbps),
        v('retransmits', 'count', 'lower', r.retransmits),
        v('cpu_seconds_per_gbit', 's/Gbit', 'lower', gbit > 0 ? cpu / gbit : 0),
      ];
    },
  };
}

function udp(
  name: string,
  description: string,
  datagram: number,
  rate: (quick: boolean) => string,
): DataWorkload {
  return {
    name,
    description,
    server: 'iperf3',
    async trial(t, o) {
      const argv = ['iperf3', '-c', t.host, '-p', String(t.port), '-u', '-l', String(datagram)];
      argv.push('-b', rate(o.quick), '-t', String(o.seconds), '-J', '--connect-timeout', '5000');
      const r = parseIperfUdp(await runTool(t.run, argv, o.seconds, o.signal), datagram);
      return name === 'udp-pps'
        ? [v('packets_per_s', 'packets/s', 'higher', r.pps), v('loss_percent', '%', 'lower', r.lossPercent)]
        : [v('throughput_gbps', 'Gbit/s', 'higher', r.gbps), v('loss_percent', '%', 'lower', r.lossPercent)];
    },
  };
}

const WRK_CONNECTIONS = 4;

function wrkArgv(t: Target, o: TrialOptions, extra: string[]): string[] {
  const url = `http://${t.host}:${t.port}/`;
  return ['wrk', '-t1', `-c${WRK_CONNECTIONS}`, `-d${o.seconds}s`, '--timeout', '2s', ...extra, url];
}

/** tcp-crr-rate's offered load: well below what one closed-loop client reaches at 10k Services here. */
export const CRR_OFFERED_RATE = 2000;

function connbench(name: string, tool: ConnbenchWorkload, rate: number): DataWorkload {
  const what =
    tool === 'tcp-crr'
      ? 'new TCP connection per request (connect, request, answer, close)'
      : 'one datagram per new source port, answered';
  const loop = rate > 0 ? `at ${rate}/s offered` : 'closed loop';
  return {
    name,
    description: `kdp-connbench, ${what}, ${loop}`,
    server: 'connbench',
    scalesWithServices: true,
    async trial(t, o) {
      const argv = connbenchArgv(tool, t.host, t.port, { seconds: o.seconds, rate });
      const r = parseConnbench(await runTool(t.run, argv, o.seconds, o.signal));
      if (r.completed === 0)
        throw new KdpError(BENCH_TOOL_ERROR, `${argv.join(' ')}: all ${r.attempts} attempts failed`);
      const values: TrialValue[] = [];
      if (tool === 'udp-new-flow') values.push(v('flows_per_s', 'flows/s', 'higher', r.rate));
      else if (rate === 0) values.push(v('connections_per_s', 'connections/s', 'higher', r.rate));
      if (tool === 'tcp-crr') {
        values.push(v('connect_p50_us', 'us', 'lower', r.connectP50Us));
        values.push(v('connect_p99_us', 'us', 'lower', r.connectP99Us));
      }
      values.push(v('transaction_p50_us', 'us', 'lower', r.txnP50Us));
      values.push(v('transaction_p99_us', 'us', 'lower', r.txnP99Us));
      values.push(v('failures', 'count', 'lower', r.failures));
      if (rate > 0) values.push(v('late_starts', 'count', 'lower', r.late));
      return values;
    },
  };
}

export const DATA_WORKLOADS: DataWorkload[] = [
  tcpStream(1),
  tcpStream(4),
  udp(
    'udp-stream',
    'iperf3 UDP at a bounded rate, 1400-byte datagrams: received throughput, loss',
    1400,
    (q) => (q ? '200M' : '1G'),
  ),
  // -b 0: as fast as the sender can; the measure is what arrives.
  udp('udp-pps', 'iperf3 UDP, 64-byte datagrams, unbounded: packets per second received', 64, () => '0'),
  {
    name: 'tcp-rr',
    description: 'sockperf TCP ping-pong, 64-byte messages: latency percentiles (half round trip, us)',
    server: 'sockperf',
    async trial(t, o) {
      const argv = ['sockperf', 'ping-pong', '--tcp', '-i', t.host, '-p', String(t.port)];
      argv.push('-t', String(Math.max(1, o.seconds)), '-m', '64');
      const r = parseSockperf(await runTool(t.run, argv, o.seconds, o.signal));
      return [
        v('latency_p50_us', 'us', 'lower', r.p50),
        v('latency_p90_us', 'us', 'lower', r.p90),
        v('latency_p99_us', 'us', 'lower', r.p99),
        v('latency_p999_us', 'us', 'lower', r.p999),
      ];
    },
  },
  connbench('tcp-crr', 'tcp-crr', 0),
  connbench('tcp-crr-rate', 'tcp-crr', CRR_OFFERED_RATE),
  connbench('udp-new-flow', 'udp-new-flow', 0),
  {
    name: 'http',
    description: `wrk --latency, ${WRK_CONNECTIONS} keep-alive connections against kdp/http`,
    server: 'http',
    async trial(t, o) {
      const r = parseWrk(await runTool(t.run, wrkArgv(t, o, ['--latency']), o.seconds, o.signal));
      const values = [v('requests_per_s', 'requests/s', 'higher', r.requestsPerSecond)];
      if (r.p50Us !== undefined) values.push(v('latency_p50_us', 'us', 'lower', r.p50Us));
      if (r.p99Us !== undefined) values.push(v('latency_p99_us', 'us', 'lower', r.p99Us));
      return values;
    },
  },
];

export function dataWorkloadNames(): string[] {
  return DATA_WORKLOADS.map((w) => w.name);
}

export function scalingWorkloadNames(): string[] {
  return DATA_WORKLOADS.filter((w) => w.scalesWithServices).map((w) => w.name);
}

export function findDataWorkload(name: string): DataWorkload | undefined {
  return DATA_WORKLOADS.find((w) => w.name === name);
}
