/**
 * What held when the cluster was probed as an attacker would, kept as regression tests with counts
 * ("what held" under failure): an agent killed with SIGKILL is restarted by its supervisor
 * (SupervisedAgent) and programs exactly the rules it left, while N of N ClusterIP requests are
 * answered; rule injection through Service annotations and port names and EndpointSlice hostname,
 * nodeName and zone changes no built-in chain and adds no ACCEPT; pods reach neither the
 * apiserver nor the agents' metrics port; /run/kdp is 0700 and the kubeconfig 0600.
 * Run as root: node scripts/run-tests.mjs integration cluster/held
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EndpointSlice, Service } from '../../../dataplane/api/types.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import {
  addBackends,
  createService,
  errorsOf,
  inPod,
  metric,
  nodeMetrics,
  nodeRules,
  requests,
  streamRequests,
  until,
} from '../proxy/helpers.ts';
import { uniqueCluster, withRootUnchanged } from './helpers.ts';

const HTTP = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }];
const HOSTILE = '" -j ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n# \\';

/** The proxy of `netns` has synced everything it was told. */
async function quiet(netns: string): Promise<boolean> {
  const m = await nodeMetrics(netns);
  const pending =
    (metric(m, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending') ?? 1) +
    (metric(m, 'kubeproxy_sync_proxy_rules_service_changes_pending') ?? 1);
  const synced = metric(m, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds') ?? 0;
  const queued = metric(m, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds') ?? Infinity;
  return pending === 0 && synced >= queued;
}

const builtinLines = (saved: string) =>
  saved.split('\n').filter((l) => /^-A [A-Z]+ /.test(l) && !l.startsWith('-A KUBE-'));
const acceptLines = (saved: string) =>
  saved.split('\n').filter((l) => / -j ACCEPT\b/.test(l) && !l.startsWith('-A KUBE-FORWARD '));

test('what held: agent kill -9, rule injection, pod reach, file modes', async (t) => {
  const cluster = uniqueCluster();
  const dir = mkdtempSync(join(tmpdir(), 'kdp-held-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 0 }, { handleSignals: false });
    const node1 = c.nodes[0];
    await addBackends(c, [{ name: 'web', node: 'node-2', labels: { app: 'web' } }]);
    await c.addPod('client', { image: 'kdp/pause', node: 'node-1' });
    const svc = await createService(c.client, 'web', { ports: HTTP });
    const client = inPod(c, 'client');
    const ip = svc.spec.clusterIP!;

    await t.test('/run/kdp is 0700 and the kubeconfig 0600', () => {
      assert.equal(statSync('/run/kdp').mode & 0o777, 0o700);
      assert.equal(statSync(c.kubeconfigPath).mode & 0o777, 0o600);
    });

    await t.test(
      'agent kill -9: restarted by its supervisor with identical rules, N/N answered',
      async () => {
        await until('node-1 to have synced', () => quiet(node1.netns));
        const before = await nodeRules(node1.netns);
        await using stream = streamRequests(client, 'http', {
          ...{ dir, name: 'kill9', ip, port: 80 },
          ...{ intervalMs: 20, waitFirstMs: 15_000 },
        });
        await until('the client to be answered', () => stream.soFar().length >= 5 || undefined);
        const old = c.agent('node-1');
        const killedAt = Date.now();
        process.kill(old.pid!, 'SIGKILL');
        const restarted = await until(
          'the supervisor to restart the agent and it to sync in full',
          async () => {
            const a = c.agent('node-1');
            if (a.state !== 'running' || a.pid === old.pid) return undefined;
            const m = await nodeMetrics(node1.netns).catch(() => '');
            const at = metric(m, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds') ?? 0;
            return at * 1000 > killedAt ? { ...a, syncedAt: Date.now() } : undefined;
          },
        );
        assert.equal(restarted.restarts, old.restarts + 1);
        assert.equal(
          await nodeRules(node1.netns),
          before,
          'identical rules (iptables-save, counters zeroed)',
        );
        await until(
          '50 more answers',
          () => stream.soFar().filter((a) => a.t > killedAt).length >= 50 || undefined,
        );
        const answers = await stream.stop();
        t.diagnostic(
          `agent restarted and synced ${restarted.syncedAt - killedAt} ms after kill -9; ${answers.length - errorsOf(answers).length}/${answers.length} answered`,
        );
        assert.deepEqual(errorsOf(answers), [], 'N/N ClusterIP requests answered');
      },
    );

    await t.test(
      'rule injection through annotations, port names and slice fields injects nothing',
      async () => {
        await until('node-1 to have synced', () => quiet(node1.netns));
        const before = await nodeRules(node1.netns);
        let refused = 0;
        const attempt = async (create: () => Promise<unknown>) => {
          try {
            await create();
          } catch {
            refused++; // the apiserver's validation refusing it is as good
          }
        };
        await attempt(() =>
          createService(c.client, 'inj-annotation', { ports: HTTP }).then(async (s) => {
            s.metadata.annotations = { note: HOSTILE };
            return c.client.resource<Service>('services').update(s);
          }),
        );
        await attempt(() =>
          createService(c.client, 'inj-port', { ports: [{ ...HTTP[0], name: `http${HOSTILE}` }] }),
        );
        const manual = await createService(c.client, 'inj-slice', { ports: HTTP, selector: undefined });
        await attempt(() =>
          c.client.resource<EndpointSlice>('discovery.k8s.io/endpointslices').create({
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: {
              name: 'inj-slice-1',
              namespace: 'default',
              labels: { 'kubernetes.io/service-name': manual.metadata.name! },
            },
            addressType: 'IPv4',
            endpoints: [{ addresses: ['10.244.2.99'], hostname: HOSTILE, nodeName: HOSTILE, zone: HOSTILE }],
            ports: [{ name: `http${HOSTILE}`, protocol: 'TCP', port: 8080 }],
          }),
        );
        await until('node-1 to have synced them', () => quiet(node1.netns));
        const after = await nodeRules(node1.netns);
        t.diagnostic(`3 hostile objects, ${refused} refused by the apiserver`);
        assert.deepEqual(builtinLines(after), builtinLines(before), 'no built-in chain changed');
        assert.deepEqual(acceptLines(after), [], 'no ACCEPT outside KUBE-FORWARD');
        assert.ok(!after.includes('\n-A INPUT -j ACCEPT'), 'no injected line');
      },
    );

    await t.test('pods reach neither the apiserver nor the agents metrics port', async () => {
      // The node's addresses as a pod sees them (underlay and the pods' gateway), and loopback.
      const apiPort = c.url ? Number(new URL(c.url).port) : undefined;
      const targets = [node1.underlayIp, node1.gateway, '127.0.0.1'].flatMap((ip) => [
        { ip, port: 10249 },
        ...(apiPort ? [{ ip, port: apiPort }] : []),
      ]);
      let refused = 0;
      for (const target of targets) {
        const [answer] = await requests(client, 'http', { ...target, count: 1, timeoutMs: 1000 });
        if (answer.error) refused++;
        else t.diagnostic(`reached ${target.ip}:${target.port}: ${answer.body}`);
      }
      t.diagnostic(`${refused}/${targets.length} unreachable from a pod`);
      assert.equal(refused, targets.length);
    });
  });
});
