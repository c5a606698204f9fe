import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connbenchArgv, parseConnbench } from '../../../bench/workloads/data/connbench.ts';

// Printed by build/kdp-connbench on this project's machine (loopback, 1 s runs).
const CRR =
  '{"tool":"kdp-connbench","workload":"tcp-crr","seconds":1.000188,"offered_rate":0.000,"attempts":6130,' +
  '"completed":6128,"failures":2,"late":0,"rate":6126.846,"connect_p50_us":19.617,"connect_p99_us":93.487,' +
  '"txn_p50_us":75.032,"txn_p99_us":3143.369}\n';
const UDP =
  '{"tool":"kdp-connbench","workload":"udp-new-flow","seconds":1.000791,"offered_rate":0.000,' +
  '"attempts":16573,"completed":16573,"failures":0,"late":0,"rate":16559.907,"connect_p50_us":0.000,' +
  '"connect_p99_us":0.000,"txn_p50_us":37.812,"txn_p99_us":338.892}\n';

test('kdp-connbench: a tcp-crr line becomes rates, percentiles and counts', () => {
  const r = parseConnbench(CRR);
  assert.equal(r.workload, 'tcp-crr');
  assert.equal(r.rate, 6126.846);
  assert.equal(r.attempts, 6130);
  assert.equal(r.failures, 2);
  assert.equal(r.connectP50Us, 19.617);
  assert.equal(r.connectP99Us, 93.487);
  assert.equal(r.txnP99Us, 3143.369);
  assert.equal(r.offeredRate, 0);
});

test('kdp-connbench: udp-new-flow, and the last JSON line wins over stray text', () => {
  const r = parseConnbench(`warming up\n${CRR}${UDP}`);
  assert.equal(r.workload, 'udp-new-flow');
  assert.equal(r.completed, 16573);
  assert.equal(r.txnP50Us, 37.812);
});

test('kdp-connbench: missing, foreign, truncated or inconsistent output is a parse error', () => {
  const bad = [
    '',
    'kdp-connbench: cannot listen on port 7070',
    CRR.slice(0, 80),
    CRR.replace('"tool":"kdp-connbench"', '"tool":"wrk"'),
    CRR.replace('"workload":"tcp-crr"', '"workload":"tcp-rr"'),
    CRR.replace('"rate":6126.846', '"rate":"fast"'),
    CRR.replace('"failures":2', '"failures":-2'),
    CRR.replace('"completed":6128', '"completed":6000'),
    CRR.replace(',"txn_p99_us":3143.369', ''),
  ];
  for (const text of bad)
    assert.throws(() => parseConnbench(text), { code: 'KDP_ERR_BENCH_PARSE' }, JSON.stringify(text));
});

test('kdp-connbench: argv names the workload, target, duration and offered rate', () => {
  assert.deepEqual(connbenchArgv('tcp-crr', '10.96.0.10', 7070, { seconds: 3, rate: 2000, binary: 'cb' }), [
    ...['cb', 'tcp-crr', '--host', '10.96.0.10', '--port', '7070', '--seconds', '3', '--rate', '2000'],
  ]);
  assert.equal(connbenchArgv('udp-new-flow', '10.0.0.1', 1, { seconds: 1 }).at(-1), '0');
});
