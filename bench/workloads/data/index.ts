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
 *   tcp-crr          wrk with "Connection: close" against kdp/http: every request a new TCP
 *                    connection (connect, request, response, close): connections_per_s
 *   http             wrk --latency against kdp/http with keep-alive: requests_per_s, p50/p99
 */
import type { TrialValue } from '../../lib/workload.ts';
import { parseIperfTcp, parseIperfUdp, parseSockperf, parseWrk } from './parsers.ts';
import { machineBusySeconds, runTool } from './tools.ts';
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
  {
    name: 'tcp-crr',
    description: `wrk, ${WRK_CONNECTIONS} connections, "Connection: close" against kdp/http: new connections per second`,
    server: 'http',
    async trial(t, o) {
      const r = parseWrk(
        await runTool(t.run, wrkArgv(t, o, ['-H', 'Connection: close']), o.seconds, o.signal),
      );
      return [v('connections_per_s', 'connections/s', 'higher', r.requestsPerSecond)];
    },
  },
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

export function findDataWorkload(name: string): DataWorkload | undefined {
  return DATA_WORKLOADS.find((w) => w.name === name);
}
