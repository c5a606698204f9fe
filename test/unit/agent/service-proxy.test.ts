// The agent's service proxy against the real in-process apiserver, with the iptables mode on a
// fake iptables: Services and EndpointSlices created through the API become rules in the node's
// namespace; /metrics and /healthz are served (loopback, port 0 here); closing the agent stops
// syncing and leaves the rules; proxy mode none runs nothing. The agent's proxy flags are parsed
// as kube-proxy's (durations) and bad ones are usage errors (exit 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSlice, Service } from '../../../dataplane/api/types.ts';
import { durationMs, runAgent } from '../../../dataplane/agent/main.ts';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import { iptablesProxierOn } from '../../../dataplane/proxy/iptables/mode.ts';
import { agentWorld, CLUSTER, waitFor } from './fixture.ts';

test('the agent programs Services into its node namespace and serves the proxy metrics', async () => {
  const w = await agentWorld();
  try {
    const iptables = new FakeIptables({ prefix: clusterPrefix(CLUSTER) });
    const agent = await w.startAgent(1, {
      proxy: {
        mode: 'iptables',
        clusterCIDR: '10.244.0.0/16',
        minSyncPeriodMs: 0,
        createProxier: (ctx) => iptablesProxierOn({ iptables, conntrack: new FakeConntrack() }, ctx),
        metrics: { host: '127.0.0.1', port: 0 },
      },
    });
    const [node] = w.nodes;
    const svc = await w.client.resource<Service>('services').create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    });
    await w.client.resource<EndpointSlice>('discovery.k8s.io/endpointslices').create({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: node.name }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    const rules = await waitFor('the Service DNATed in the node namespace', async () => {
      const saved = await iptables.save(node.netns, 'nat').catch(() => '');
      return saved.includes('--to-destination 10.244.1.5:8080') && saved;
    });
    assert.match(rules, new RegExp(`-A KUBE-SERVICES -d ${svc.spec.clusterIP}/32 .*-j KUBE-SVC-`));
    assert.match(rules, /! -s 10\.244\.0\.0\/16 .*-j KUBE-MARK-MASQ/, 'masquerade outside the cluster CIDR');

    const port = agent.proxy!.metricsServer!.port;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} \d+$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/proxyMode`)).text(), 'iptables');

    await agent.close();
    assert.equal(await iptables.save(node.netns, 'nat'), rules, 'closing the agent leaves the rules');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'the metrics server is closed');
  } finally {
    await w.close();
  }
});

test('proxy mode none runs no proxier', async () => {
  const w = await agentWorld();
  try {
    const agent = await w.startAgent(1, { proxy: { mode: 'none', metrics: { host: '127.0.0.1', port: 0 } } });
    assert.equal(agent.proxy, undefined);
  } finally {
    await w.close();
  }
});

test("proxy flags take kube-proxy's durations; bad ones exit 2 before anything starts", async () => {
  assert.equal(durationMs('--sync-period', '30s'), 30_000);
  assert.equal(durationMs('--sync-period', '1m30s'), 90_000);
  assert.equal(durationMs('--min-sync-period', '250ms'), 250);
  assert.equal(durationMs('--min-sync-period', '0s'), 0);
  assert.throws(() => durationMs('--sync-period', '30'), /not a duration/);
  const base = ['--cluster', 'c', '--node', 'n', '--socket', '/nonexistent', '--state-dir', '/nonexistent'];
  const write = process.stderr.write;
  process.stderr.write = () => true;
  try {
    for (const bad of [
      ['--proxy-mode', 'kernelspace'],
      ['--iptables-backend', 'ebpf'],
      ['--proxy-mode', 'none', '--iptables-backend', 'nft'],
      ['--cluster-cidr', '10.244.0.1/16'],
      ['--min-sync-period', 'soon'],
      ['--sync-period', '1s', '--min-sync-period', '2s'],
      ['--metrics-bind-address', '10249'],
      ['--overlay-engine', 'baseline'],
      ['--overlay', 'vxlan', '--overlay-engine', 'batched'],
    ]) {
      assert.equal(await runAgent([...base, ...bad]), 2, bad.join(' '));
    }
  } finally {
    process.stderr.write = write;
  }
});
