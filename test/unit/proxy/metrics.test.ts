import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import { thisNode } from '../../../dataplane/proxy/compliance/topology.ts';
import { IPTABLES_METRIC_NAMES } from '../../../dataplane/proxy/iptables/metrics.ts';
import { IptablesProxier } from '../../../dataplane/proxy/iptables/proxier.ts';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { RecordingProxier } from '../../../dataplane/proxy/testing/recording-proxier.ts';
import { endpoint, sample, service, slice } from './fixtures.ts';

function setup(mode = 'recording') {
  const clock = new FakeClock();
  const p = new RecordingProxier({
    nodeName: 'node-a',
    clock,
    minSyncPeriodMs: 1000,
    syncPeriodMs: 30_000,
    mode,
  });
  return { clock, p, m: p.metrics };
}

test('change counters and pending gauges follow events and syncs', async () => {
  const { clock, p, m } = setup();
  p.start();
  p.onServiceAdd(service('a'));
  p.onServiceAdd(service('b'));
  p.onEndpointSliceAdd(slice('a', 'a-1', [endpoint('10.244.0.5')]));
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_service_changes_total'), 2);
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_service_changes_pending'), 2);
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_endpoint_changes_total'), 1);
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending'), 1);
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  await clock.advance(0);
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_service_changes_pending'), 0);
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending'), 0);
  assert.equal(await sample(m, 'kdp_proxy_service_ports'), 2);
  assert.equal(await sample(m, 'kdp_proxy_endpoints'), 1);
  assert.equal(
    await sample(m, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds'),
    clock.now() / 1000,
  );
  await p.stop();
});

test('sync durations split into full and partial; last sync timestamp', async () => {
  const { clock, p, m } = setup();
  p.start();
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  await clock.advance(0);
  p.onServiceAdd(service('a'));
  await clock.advance(1000);
  p.onServiceAdd(service('b'));
  await clock.advance(1000);
  const d = 'kubeproxy_sync_proxy_rules_duration_seconds';
  const full = 'kubeproxy_sync_full_proxy_rules_duration_seconds';
  const partial = 'kubeproxy_sync_partial_proxy_rules_duration_seconds';
  assert.equal(p.syncs.length, 3);
  assert.equal(await sample(m, d, `${d}_count`), 3);
  assert.equal(await sample(m, full, `${full}_count`), 1);
  assert.equal(await sample(m, partial, `${partial}_count`), 2);
  assert.equal(await sample(m, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds'), clock.now() / 1000);
  await p.stop();
});

test('network programming latency: one observation per applied trigger time, now minus the trigger', async () => {
  const { clock, p, m } = setup();
  p.start();
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  await clock.advance(0);
  await clock.advance(10_000);
  const t1 = new Date(clock.now() - 250).toISOString();
  const t2 = new Date(clock.now() - 100).toISOString();
  const a = slice('web', 'web-1', [endpoint('10.244.0.5')], { trigger: t1 });
  p.onEndpointSliceAdd(a);
  p.onEndpointSliceUpdate(a, slice('web', 'web-1', [endpoint('10.244.0.6')], { trigger: t2 }));
  await clock.advance(0);
  const h = 'kubeproxy_network_programming_duration_seconds';
  assert.equal(await sample(m, h, `${h}_count`), 2);
  assert.equal(await sample(m, h, `${h}_sum`), 0.35);
  assert.equal(await sample(m, h, `${h}_bucket`, { le: '0.1' }), 1);
  assert.equal(await sample(m, h, `${h}_bucket`, { le: '0.25' }), 2);
  await p.stop();
});

test('a failed sync counts as a failure and observes no latency', async () => {
  const { clock, p, m } = setup();
  p.start();
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  await clock.advance(0);
  p.failNext(new Error('boom'));
  p.onEndpointSliceAdd(
    slice('web', 'web-1', [endpoint('10.244.0.5')], { trigger: new Date(clock.now()).toISOString() }),
  );
  await clock.advance(1000);
  const h = 'kubeproxy_network_programming_duration_seconds';
  assert.equal(await sample(m, 'kdp_proxy_sync_failures_total'), 1);
  assert.equal(await sample(m, h, `${h}_count`), 0);
  const d = 'kubeproxy_sync_proxy_rules_duration_seconds';
  assert.equal(await sample(m, d, `${d}_count`), 1, 'only the successful first sync');
  await p.stop();
});

test("the mode's report sets the no-local-endpoint gauges", async () => {
  const { clock, p, m } = setup();
  p.report = { noLocalEndpoints: { internal: 2, external: 1 } };
  p.start();
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  await clock.advance(0);
  const nle = 'kubeproxy_sync_proxy_rules_no_local_endpoints_total';
  assert.equal(await sample(m, nle, nle, { traffic_policy: 'internal' }), 2);
  assert.equal(await sample(m, nle, nle, { traffic_policy: 'external' }), 1);
  const text = await m.text();
  assert.match(text, /^# TYPE kubeproxy_network_programming_duration_seconds histogram$/m);
  assert.match(m.contentType, /^text\/plain/);
  await p.stop();
});

test("a mode's own metrics are in its proxier's registry only; each proxier has its own registry", async () => {
  const a = setup().m;
  const clock = new FakeClock();
  const ipt = new IptablesProxier({
    nodeName: 'node-a',
    netns: 'kdp-fake-node-a',
    iptables: new FakeIptables(),
    conntrack: new FakeConntrack(),
    clock,
    minSyncPeriodMs: 0,
  });
  const b = ipt.metrics;
  assert.equal(a.registry.getSingleMetric('kubeproxy_sync_proxy_rules_iptables_total'), undefined);
  for (const name of IPTABLES_METRIC_NAMES) assert.ok(b.registry.getSingleMetric(name), name);
  assert.notEqual(a.registry, b.registry);
  // The iptables mode counts its rules per table after a sync.
  ipt.start();
  ipt.onNodeAdd(thisNode());
  ipt.onServicesSynced();
  ipt.onEndpointSlicesSynced();
  await clock.advance(0);
  await ipt.stop();
  const text = await b.text();
  assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [1-9]\d*$/m);
});
