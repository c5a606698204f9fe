/**
 * The iptables proxy mode as things change, in real clusters with real packets: scaling a
 * Deployment down moves traffic off the removed (draining) pods without one failed request; a
 * UDP flow pinned by conntrack to a removed backend moves to a live one (its stale entry is
 * deleted); an agent stopped with SIGTERM leaves its rules working and its successor's first
 * full sync writes exactly the same rules; with proxy mode none nothing is programmed, and a
 * proxier's cleanup (and `agent --cleanup`, kube-proxy --cleanup) leaves no KUBE- chain or jump.
 * The root namespace is unchanged afterwards. Run as root:
 *   node --import tsx --test test/integration/proxy/iptables-lifecycle.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Pod, Service } from '../../../dataplane/api/types.ts';
import { AGENT_MAIN } from '../../../dataplane/cluster/builder-agents.ts';
import { Cluster, runIn } from '../../../dataplane/cluster/cluster.ts';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import { netnsPath } from '../../../dataplane/kernel/name-checks.ts';
import { createIptablesProxier } from '../../../dataplane/proxy/iptables/iptables-proxier.ts';
import { runProxier } from '../../../dataplane/proxy/wire.ts';
import { uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';
import {
  addBackends,
  backendsOf,
  createBackendDeployment,
  createService,
  errorsOf,
  inPod,
  metric,
  nodeMetrics,
  nodeRules,
  proxySynced,
  requests,
  streamRequests,
} from './helpers.ts';
import { until } from '../../helpers/until.ts';

const HTTP = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }];

test('iptables mode: scale down, stale UDP conntrack, agent restart', async (t) => {
  const cluster = uniqueCluster();
  const dir = mkdtempSync(join(tmpdir(), 'kdp-proxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 0 }, { handleSignals: false });
    const node1 = c.nodes[0];
    await c.addPod('client', { image: 'kdp/pause', node: 'node-1' });
    const client = inPod(c, 'client');
    const ipOf = async (name: string) =>
      (await c.client.resource<Pod>('pods').get(name, 'default')).status!.podIP!;

    await t.test('scaling a Deployment down moves traffic off the removed pods, nothing fails', async () => {
      await createBackendDeployment(c.client, 'drain', 4, { drainMs: 4000 });
      const svc = await createService(c.client, 'drain', { ports: HTTP });
      await c.waitForPods('app=drain', 4);
      await using stream = streamRequests(client, 'http', {
        ...{ dir, name: 'scale', ip: svc.spec.clusterIP!, port: 80 },
        ...{ intervalMs: 20, waitFirstMs: 15_000 },
      });
      await until('all 4 backends to answer', () => backendsOf(stream.soFar()).size === 4 || undefined, {
        intervalMs: 50,
      });
      await c.scale('drain', 2, { wait: false });
      const removed = await until(
        '2 pods to be terminating',
        async () => {
          const pods = await c.pods({ labelSelector: 'app=drain' });
          const going = pods.filter((p) => p.metadata.deletionTimestamp);
          return going.length === 2 ? going : undefined;
        },
        { intervalMs: 50 },
      );
      const removedIps = removed.map((p) => p.status!.podIP!);
      const movedAt = await until(
        'node-1 to stop sending new connections to them',
        async () => {
          const rules = await nodeRules(node1.netns);
          return removedIps.every((ip) => !rules.includes(`--to-destination ${ip}:`))
            ? Date.now()
            : undefined;
        },
        { intervalMs: 50 },
      );
      const names = removed.map((p) => p.metadata.name!);
      await until('20 answers after that', () => stream.soFar().filter((a) => a.t > movedAt).length >= 20, {
        intervalMs: 50,
      });
      const answers = await stream.stop();
      assert.deepEqual(errorsOf(answers), [], 'no request failed');
      const after = backendsOf(answers.filter((a) => a.t > movedAt));
      assert.equal(after.size, 2, `the 2 remaining pods answer: ${[...after.keys()]}`);
      assert.ok(![...after.keys()].some((n) => names.includes(n)), 'no answer from a removed pod');
    });

    await t.test('a UDP flow moves to a live backend once its endpoint is removed', async () => {
      await addBackends(
        c,
        ['udp-a', 'udp-b'].map((name) => ({
          name,
          node: 'node-2',
          labels: { app: 'udp' },
          http: [],
          udp: [9000],
        })),
      );
      const svc = await createService(c.client, 'udp', {
        ports: [{ name: 'dns', port: 90, targetPort: 9000, protocol: 'UDP' }],
      });
      // One source port: every datagram belongs to one conntrack entry, pinned to one backend.
      await using stream = streamRequests(client, 'udp', {
        ...{ dir, name: 'udp', ip: svc.spec.clusterIP!, port: 90, sourcePort: 40_000 },
        ...{ intervalMs: 100, timeoutMs: 300, waitFirstMs: 15_000 },
      });
      const first = await until(
        '5 UDP answers',
        () => {
          const got = stream.soFar().filter((a) => a.body);
          return got.length >= 5 ? got : undefined;
        },
        { intervalMs: 50 },
      );
      assert.equal(backendsOf(first).size, 1, 'conntrack keeps the flow on one backend');
      const gone = [...backendsOf(first).keys()][0];
      const other = gone === 'udp-a' ? 'udp-b' : 'udp-a';
      const goneIp = await ipOf(gone);
      await c.deletePod(gone, { wait: false });
      const movedAt = await until(
        `the flow to reach ${other}`,
        () => {
          return stream.soFar().find((a) => a.body?.startsWith(`${other} `))?.t;
        },
        { intervalMs: 50 },
      );
      const later = (await stream.stop()).filter((a) => a.t >= movedAt && a.body);
      assert.deepEqual([...backendsOf(later).keys()], [other], 'it stays on the live backend');
      const left = await runIn(netnsPath(node1.netns), ['conntrack', '-L', '-p', 'udp', '--dst-nat', goneIp]);
      assert.equal(left.stdout.trim(), '', `no conntrack entry DNATed to ${goneIp} is left`);
    });

    await t.test('an agent restart keeps the rules and reprograms exactly them', async () => {
      await until('node-1 to have synced every change', () => proxySynced(node1.netns), { intervalMs: 50 });
      const before = await nodeRules(node1.netns);
      assert.match(before, /^:KUBE-SVC-/m);
      const svc = await c.client.resource<Service>('services').get('drain', 'default');
      await using stream = streamRequests(client, 'http', {
        ...{ dir, name: 'restart', ip: svc.spec.clusterIP!, port: 80 },
        ...{ intervalMs: 20, waitFirstMs: 15_000 },
      });
      await until('the client to be answered', () => stream.soFar().length >= 5 || undefined, {
        intervalMs: 50,
      });
      const old = c.agent('node-1');
      const killedAt = Date.now();
      process.kill(old.pid!, 'SIGTERM');
      await until('the agent to have exited', () => c.agent('node-1').state !== 'running' || undefined, {
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      assert.equal(await nodeRules(node1.netns), before, 'a stopped agent leaves its rules');
      await until(
        'the new agent to have run a full sync',
        async () => {
          const a = c.agent('node-1');
          if (a.state !== 'running' || a.pid === old.pid) return undefined;
          const m = await nodeMetrics(node1.netns).catch(() => '');
          const full = metric(m, 'kubeproxy_sync_full_proxy_rules_duration_seconds_count') ?? 0;
          const at = metric(m, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds') ?? 0;
          return full >= 1 && at * 1000 > killedAt ? true : undefined;
        },
        { intervalMs: 50 },
      );
      assert.equal(await nodeRules(node1.netns), before, 'the same rules after the first full sync');
      assert.deepEqual(errorsOf(await stream.stop()), [], 'traffic flowed throughout');
    });
  });
});

test('proxy mode none programs nothing; cleanup removes every KUBE- chain and jump', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create(
      { cluster, nodes: 1, podsPerNode: 0, proxyMode: 'none' },
      { handleSignals: false },
    );
    const netns = c.nodes[0].netns;
    await addBackends(c, [{ name: 'web', node: 'node-1', labels: { app: 'web' } }]);
    await c.addPod('client', { image: 'kdp/pause', node: 'node-1' });
    const svc = await createService(c.client, 'web', { ports: HTTP });
    const client = inPod(c, 'client');
    assert.doesNotMatch(await nodeRules(netns), /KUBE-/);
    const [unproxied] = await requests(client, 'http', {
      ip: svc.spec.clusterIP!,
      port: 80,
      count: 1,
      timeoutMs: 1000,
    });
    assert.ok(unproxied.error, 'without a proxy the ClusterIP does not answer');

    const program = async () => {
      const proxier = createIptablesProxier({
        nodeName: 'node-1',
        netns,
        clusterCIDR: c.topology.podCidr,
        prefix: clusterPrefix(cluster),
        minSyncPeriodMs: 0,
      });
      const running = await runProxier(proxier, { client: c.client });
      const answers = await requests(client, 'http', {
        ip: svc.spec.clusterIP!,
        port: 80,
        count: 3,
        waitFirstMs: 15_000,
      });
      assert.deepEqual(errorsOf(answers), []);
      await running.stop();
      return proxier;
    };

    await t.test(
      'agent --cleanup (kube-proxy --cleanup) removes the rules a stopped proxier left',
      async () => {
        await program();
        assert.match(await nodeRules(netns), /-j KUBE-SERVICES/, 'stopping leaves the rules');
        const r = await runIn(netnsPath(netns), [
          process.execPath,
          '--import',
          import.meta.resolve('tsx'),
          AGENT_MAIN,
          '--cluster',
          cluster,
          '--cleanup',
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /proxy rules removed/);
        assert.doesNotMatch(await nodeRules(netns), /KUBE-/);
      },
    );

    await t.test("a proxier's cleanup leaves the node's tables without KUBE- chains", async () => {
      const proxier = await program();
      await proxier.cleanup();
      assert.doesNotMatch(await nodeRules(netns), /KUBE-/);
    });
  });
});
