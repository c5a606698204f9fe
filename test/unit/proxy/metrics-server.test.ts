// The proxy's metrics endpoint on loopback (port 0): /metrics in Prometheus text with kube-proxy's
// names, /proxyMode, /healthz failing before the first sync and when a requested sync waits too
// long, 404 and 405 otherwise; and the bind address flag's parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKdpError } from '../../../dataplane/errors.ts';
import { parseBindAddress, proxyHealth, serveProxyMetrics } from '../../../dataplane/proxy/metrics-server.ts';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { RecordingProxier } from '../../../dataplane/proxy/testing/recording-proxier.ts';

async function get(port: number, path: string, method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

test('serves /metrics, /proxyMode and /healthz like kube-proxy', async (t) => {
  const clock = new FakeClock();
  const proxier = new RecordingProxier({ nodeName: 'node-a', clock, minSyncPeriodMs: 0 });
  proxier.start();
  const server = await serveProxyMetrics(proxier, { host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await server.close();
    await proxier.stop();
  });
  assert.equal(server.host, '127.0.0.1');

  const before = await get(server.port, '/healthz');
  assert.equal(before.status, 503, 'not healthy before the first sync');
  assert.equal(JSON.parse(before.body).reason, 'no sync has succeeded yet');

  proxier.onServicesSynced();
  proxier.onEndpointSlicesSynced();
  await clock.advance(0);
  assert.equal(proxier.syncs.length, 1);

  const metrics = await get(server.port, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.type ?? '', /^text\/plain/);
  assert.match(metrics.body, /^kubeproxy_sync_proxy_rules_duration_seconds_count 1$/m);
  assert.match(metrics.body, /^# TYPE kubeproxy_network_programming_duration_seconds histogram$/m);
  assert.equal((await get(server.port, '/proxyMode')).body, 'recording');
  assert.equal((await get(server.port, '/healthz')).status, 200);
  assert.equal((await get(server.port, '/nothing')).status, 404);
  assert.equal((await get(server.port, '/metrics', 'POST')).status, 405);
});

test('/healthz fails when a requested sync has waited longer than the health timeout', async () => {
  const clock = new FakeClock();
  const proxier = new RecordingProxier({ nodeName: 'node-a', clock, minSyncPeriodMs: 0 });
  proxier.start();
  proxier.onServicesSynced();
  proxier.onEndpointSlicesSynced();
  await clock.advance(0);
  const synced = clock.now();
  // A sync is requested (queued) and, as if the runner were stuck, never runs.
  proxier.metrics.lastQueuedTimestamp.set((synced + 1000) / 1000);
  assert.equal((await proxyHealth(proxier, 60_000, synced + 30_000)).healthy, true);
  const late = await proxyHealth(proxier, 60_000, synced + 62_000);
  assert.equal(late.healthy, false);
  assert.match(String(late.body.reason), /a requested sync has waited 61000 ms/);
  await proxier.stop();
});

test('bind addresses are host:port', () => {
  assert.deepEqual(parseBindAddress('127.0.0.1:10249'), { host: '127.0.0.1', port: 10249 });
  assert.deepEqual(parseBindAddress('[::1]:0'), { host: '::1', port: 0 });
  for (const bad of ['10249', '127.0.0.1', 'host:1', '1.2.3.4:70000']) {
    assert.throws(
      () => parseBindAddress(bad),
      (e) => isKdpError(e, 'KDP_ERR_USAGE'),
      bad,
    );
  }
});
