import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KdpError } from '../../../dataplane/errors.ts';
import {
  parseIperfTcp,
  parseIperfUdp,
  parseSockperf,
  parseWrk,
  wrkDurationUs,
} from '../../../bench/workloads/data/parsers.ts';
import { machineBusySeconds, runTool } from '../../../bench/workloads/data/tools.ts';

// Shapes captured from iperf 3.12, sockperf 3.7 and wrk 4.1.0 on this project's machines.
const IPERF_TCP = JSON.stringify({
  start: {},
  end: {
    sum_sent: { seconds: 1.000351, bytes: 2266234880, bits_per_second: 18123517685.29, retransmits: 3 },
    sum_received: { seconds: 1.000746, bytes: 2266234880, bits_per_second: 18116364232.28 },
  },
});

const IPERF_UDP = JSON.stringify({
  end: {
    sum: {
      seconds: 2,
      bytes: 6246464,
      bits_per_second: 49964267.3,
      packets: 100000,
      lost_packets: 2500,
      lost_percent: 2.5,
    },
    sum_sent: { seconds: 2, packets: 100000, lost_packets: 0 },
  },
});

const SOCKPERF = `sockperf: Summary: Latency is 42.128 usec
sockperf: \x1b[2;35mTotal 6525 observations\x1b[0m; each percentile contains 65.25 observations
sockperf: ---> <MAX> observation = 1262.920
sockperf: ---> percentile 99.999 = 1262.920
sockperf: ---> percentile 99.990 =  423.501
sockperf: ---> percentile 99.900 =  143.832
sockperf: ---> percentile 99.000 =   87.282
sockperf: ---> percentile 90.000 =   50.412
sockperf: ---> percentile 75.000 =   46.291
sockperf: ---> percentile 50.000 =   42.843
sockperf: ---> <MIN> observation =    2.415
`;

const WRK = `Running 1s test @ http://127.0.0.1:18080/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   190.98us  599.11us   9.99ms   94.37%
  Latency Distribution
     50%   41.00us
     75%   74.00us
     90%  265.00us
     99%    3.11ms
  73200 requests in 1.10s, 8.66MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  66570.69
Transfer/sec:      7.87MB
`;

test('iperf3 TCP: received throughput, bytes and the sender retransmits', () => {
  const r = parseIperfTcp(IPERF_TCP);
  assert.ok(Math.abs(r.gbps - 18.11636423228) < 1e-9);
  assert.equal(r.bytes, 2266234880);
  assert.equal(r.retransmits, 3);
});

test('iperf3 UDP: the received rate comes from packets minus lost', () => {
  const r = parseIperfUdp(IPERF_UDP, 64);
  assert.equal(r.pps, 97500 / 2);
  assert.equal(r.gbps, (97500 * 64 * 8) / 2 / 1e9);
  assert.equal(r.lossPercent, 2.5);
});

test('iperf3 errors and unreadable output are typed parse errors', () => {
  assert.throws(() => parseIperfTcp('{"error":"the server is busy running a test. try again later"}'), {
    code: 'KDP_ERR_BENCH_PARSE',
    message: /server is busy/,
  });
  assert.throws(() => parseIperfTcp('iperf3: error'), { code: 'KDP_ERR_BENCH_PARSE', message: /JSON/ });
  assert.throws(() => parseIperfTcp('{"end":{}}'), { message: /sum_received\.bits_per_second/ });
});

test('sockperf percentiles in microseconds', () => {
  assert.deepEqual(parseSockperf(SOCKPERF), { p50: 42.843, p90: 50.412, p99: 87.282, p999: 143.832 });
  assert.throws(() => parseSockperf('sockperf: Test ended\n'), {
    code: 'KDP_ERR_BENCH_PARSE',
    message: /percentile 50/,
  });
});

test('wrk: requests per second, latency percentiles in microseconds, errors counted', () => {
  const r = parseWrk(WRK);
  assert.equal(r.requestsPerSecond, 66570.69);
  assert.equal(r.requests, 73200);
  assert.equal(r.p50Us, 41);
  assert.equal(r.p99Us, 3110);
  assert.equal(r.errors, 7);
  assert.equal(wrkDurationUs('1.50s'), 1.5e6);
  assert.throws(() => wrkDurationUs('12 parsecs'), KdpError);
  const plain = parseWrk(WRK.replace(/ {2}Latency Distribution[\s\S]*?99%.*\n/, ''));
  assert.equal(plain.p50Us, undefined);
  assert.throws(() => parseWrk('unable to connect to 10.0.0.1:80 Connection refused'), {
    code: 'KDP_ERR_BENCH_PARSE',
  });
});

test('a failed tool run is a typed error carrying its stderr', async () => {
  const failing = async () => ({
    stdout: '',
    stderr: 'iperf3: error - unable to connect\n',
    code: 1,
    signal: null,
  });
  await assert.rejects(runTool(failing, ['iperf3', '-c', '10.0.0.1'], 1), (e: unknown) => {
    assert.ok(e instanceof KdpError);
    assert.equal(e.code, 'KDP_ERR_BENCH_TOOL');
    assert.match(e.message, /iperf3 -c 10\.0\.0\.1 exited 1: iperf3: error - unable to connect/);
    assert.equal(e.details?.stderr, 'iperf3: error - unable to connect\n');
    return true;
  });
  let timeoutMs = 0;
  const ok = async (_argv: readonly string[], o: { timeoutMs?: number }) => {
    timeoutMs = o.timeoutMs ?? 0;
    return { stdout: 'fine', stderr: '', code: 0, signal: null };
  };
  assert.equal(await runTool(ok, ['true'], 3), 'fine');
  assert.equal(timeoutMs, 23_000);
});

test('machine CPU time counts every non-idle state', () => {
  const stat = 'cpu  100 20 30 4000 50 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n';
  assert.equal(machineBusySeconds(stat), (100 + 20 + 30 + 6 + 7 + 8) / 100);
  assert.ok(machineBusySeconds() > 0);
});
