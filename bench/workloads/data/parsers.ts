/**
 * Parsers of the traffic tools' machine-readable output: iperf3 -J (JSON), sockperf's percentile
 * lines and wrk --latency's report. Pure functions on the text a tool printed, so they are
 * unit-tested on captured output; a parser that cannot find what it needs throws
 * KDP_ERR_BENCH_PARSE quoting the start of the text, never returns a NaN that would poison a
 * median.
 */
import { KdpError } from '../../../dataplane/errors.ts';

export const BENCH_PARSE_ERROR = 'KDP_ERR_BENCH_PARSE';

function parseError(tool: string, what: string, text: string): KdpError {
  const head = text.trim().slice(0, 300);
  return new KdpError(BENCH_PARSE_ERROR, `${tool}: cannot find ${what} in its output: ${head || '(empty)'}`);
}

function finite(tool: string, what: string, value: unknown, text: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw parseError(tool, what, text);
  return value;
}

interface IperfSum {
  bytes?: number;
  seconds?: number;
  bits_per_second?: number;
  retransmits?: number;
  packets?: number;
  lost_packets?: number;
  lost_percent?: number;
}

interface IperfJson {
  error?: string;
  end?: { sum_sent?: IperfSum; sum_received?: IperfSum; sum?: IperfSum };
}

function iperfJson(text: string): IperfJson {
  let doc: IperfJson;
  try {
    doc = JSON.parse(text) as IperfJson;
  } catch {
    throw parseError('iperf3', 'a JSON document (-J)', text);
  }
  // iperf3 -J reports its own failures (server busy, connection refused) in the document.
  if (doc.error) throw new KdpError(BENCH_PARSE_ERROR, `iperf3: ${doc.error}`);
  return doc;
}

export interface IperfTcpResult {
  /** What the receiver got, in Gbit/s. */
  gbps: number;
  /** Bytes the receiver got. */
  bytes: number;
  /** TCP retransmissions the sender counted. */
  retransmits: number;
}

export function parseIperfTcp(text: string): IperfTcpResult {
  const end = iperfJson(text).end;
  const received = end?.sum_received;
  return {
    gbps: finite('iperf3', 'end.sum_received.bits_per_second', received?.bits_per_second, text) / 1e9,
    bytes: finite('iperf3', 'end.sum_received.bytes', received?.bytes, text),
    retransmits: finite('iperf3', 'end.sum_sent.retransmits', end?.sum_sent?.retransmits ?? 0, text),
  };
}

export interface IperfUdpResult {
  /** Datagrams the receiver got per second. */
  pps: number;
  /** Payload the receiver got, in Gbit/s (datagrams received x datagram size). */
  gbps: number;
  lossPercent: number;
}

/**
 * UDP: iperf3 3.x's "receiver" bit rate has been computed from the sender's byte count in some
 * versions, so the received rate is derived from what the receiver counted: packets - lost.
 */
export function parseIperfUdp(text: string, datagramBytes: number): IperfUdpResult {
  const end = iperfJson(text).end;
  const sum = end?.sum ?? end?.sum_received;
  const packets = finite('iperf3', 'end.sum.packets', sum?.packets, text);
  const lost = finite('iperf3', 'end.sum.lost_packets', sum?.lost_packets, text);
  const seconds = finite('iperf3', 'end.sum.seconds', sum?.seconds, text);
  if (seconds <= 0) throw parseError('iperf3', 'a test duration above zero', text);
  const received = Math.max(0, packets - lost);
  return {
    pps: received / seconds,
    gbps: (received * datagramBytes * 8) / seconds / 1e9,
    lossPercent: packets > 0 ? (lost / packets) * 100 : 0,
  };
}

export interface SockperfLatency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/**
 * sockperf ping-pong's "---> percentile 99.900 =  143.832" lines, in microseconds. sockperf
 * reports latency as half the round trip (its convention); kdp keeps it as reported.
 */
export function parseSockperf(text: string): SockperfLatency {
  const pct = (p: string): number => {
    const m = new RegExp(`percentile ${p.replace('.', '\\.')} =\\s*([\\d.]+)`).exec(text);
    return finite('sockperf', `percentile ${p}`, m ? Number(m[1]) : undefined, text);
  };
  return { p50: pct('50.000'), p90: pct('90.000'), p99: pct('99.000'), p999: pct('99.900') };
}

const DURATION_UNITS: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };

/** "41.00us", "3.11ms", "1.20s" -> microseconds. */
export function wrkDurationUs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw parseError('wrk', `a duration (got "${text}")`, text);
  return Number(m[1]) * DURATION_UNITS[m[2]];
}

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  /** From --latency's distribution, microseconds; absent without --latency. */
  p50Us?: number;
  p99Us?: number;
  /** Connect, read, write and timeout errors plus non-2xx/3xx responses. */
  errors: number;
}

export function parseWrk(text: string): WrkResult {
  const rps = /^Requests\/sec:\s*([\d.]+)/m.exec(text);
  const total = /^\s*(\d+) requests in /m.exec(text);
  const dist = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(text);
    return m ? wrkDurationUs(m[1]) : undefined;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors =
    (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return {
    requestsPerSecond: finite('wrk', 'Requests/sec', rps ? Number(rps[1]) : undefined, text),
    requests: finite('wrk', '"N requests in"', total ? Number(total[1]) : undefined, text),
    p50Us: dist('50'),
    p99Us: dist('99'),
    errors,
  };
}
