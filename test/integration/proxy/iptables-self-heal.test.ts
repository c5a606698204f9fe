/**
 * Self-healing on the real kernel, with both iptables backends: a pod requests a ClusterIP
 * continuously (a new connection every 20 ms), someone runs `iptables -t nat -F` inside the node's
 * namespace, and the proxy's periodic check notices and rewrites everything with a full sync. The
 * test counts the failed requests, measures the gap from the flush to the first request of the
 * unbroken run of answers after it, and requires the bound (1 s + one minSyncPeriod, the
 * agent's default 1 s), the same rules as before the flush, and the repair in the agent's metrics.
 * Run as root:
 *   node scripts/run-tests.mjs integration iptables-self-heal
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { processAgentSpawner } from '../../../dataplane/cluster/builder-agents.ts';
import { Cluster, runIn } from '../../../dataplane/cluster/cluster.ts';
import { netnsPath } from '../../../dataplane/kernel/names.ts';
import { uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';
import {
  addBackends,
  createService,
  inPod,
  metric,
  nodeMetrics,
  nodeRules,
  streamRequests,
  until,
  type Answer,
} from './helpers.ts';

const HTTP = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }];
/** The bound: the 1 s check period plus one minSyncPeriod (the agent's default, 1 s). */
const BOUND_MS = 1000 + 1000;

/** Failed requests from `from` on, and when the unbroken run of answers after them began. */
function recovery(answers: readonly Answer[], from: number): { failed: number; recoveredAt?: number } {
  const after = answers.filter((a) => a.t >= from);
  let lastFailure = -1;
  after.forEach((a, i) => {
    if (a.error) lastFailure = i;
  });
  const firstGood = after[lastFailure + 1];
  return { failed: after.filter((a) => a.error).length, recoveredAt: firstGood?.t };
}

for (const backend of ['nft', 'legacy'] as const) {
  test(`iptables mode (${backend}): service traffic is back within 1 s + minSyncPeriod of nat -F`, async (t) => {
    const cluster = uniqueCluster();
    const dir = mkdtempSync(join(tmpdir(), 'kdp-heal-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await withRootUnchanged(t, cluster, async () => {
      await using c = await Cluster.create(
        { cluster, nodes: 1, podsPerNode: 0 },
        {
          handleSignals: false,
          spawnAgent: (spec) => processAgentSpawner({ ...spec, extraArgs: ['--iptables-backend', backend] }),
        },
      );
      const netns = c.nodes[0].netns;
      await addBackends(c, [{ name: 'web', node: 'node-1', labels: { app: 'web' } }]);
      await c.addPod('client', { image: 'kdp/pause', node: 'node-1' });
      const svc = await createService(c.client, 'web', { ports: HTTP });
      await using stream = streamRequests(inPod(c, 'client'), 'http', {
        ...{ dir, name: backend, ip: svc.spec.clusterIP!, port: 80 },
        ...{ intervalMs: 20, timeoutMs: 200, waitFirstMs: 15_000, maxMs: 60_000 },
      });
      await until('10 answers', () => stream.soFar().filter((a) => a.body).length >= 10 || undefined);
      const before = await nodeRules(netns, backend);
      assert.match(before, /^-A PREROUTING .*-j KUBE-SERVICES$/m, `${backend} holds the rules`);
      // Full syncs the check forced, whoever found the damage (the timer or a partial sync).
      const repairs = async () => {
        const m = await nodeMetrics(netns);
        const found = (by: string) =>
          metric(m, 'kdp_proxy_kernel_state_repairs_total', `{found_by="${by}"}`) ?? 0;
        return found('timer') + found('sync');
      };
      const repairsBefore = await repairs();
      assert.equal(repairsBefore, 0, 'intact rules pass the check on this backend (no spurious full sync)');

      const flushedAt = Date.now();
      const flush = await runIn(netnsPath(netns), [`iptables-${backend}`, '-w', '-t', 'nat', '-F']);
      assert.equal(flush.code, 0, flush.stderr);
      await until(
        'the proxy to repair nat',
        async () => (await nodeRules(netns, backend)) === before || undefined,
        10_000,
      );
      await until('50 answers after the flush', () => {
        const r = recovery(stream.soFar(), flushedAt);
        return r.recoveredAt !== undefined &&
          stream.soFar().filter((a) => a.t > r.recoveredAt! && a.body).length >= 50
          ? true
          : undefined;
      });
      const answers = await stream.stop();
      const { failed, recoveredAt } = recovery(answers, flushedAt);
      const gap = recoveredAt! - flushedAt;
      const total = answers.filter((a) => a.t >= flushedAt).length;
      t.diagnostic(
        `${backend}: ${failed}/${total} requests failed after the flush; traffic back after ${gap} ms`,
      );
      assert.ok(gap <= BOUND_MS, `traffic back ${gap} ms after the flush (bound ${BOUND_MS} ms)`);
      assert.equal(await nodeRules(netns, backend), before, 'the same rules as before the flush');
      assert.ok((await repairs()) > repairsBefore, 'the periodic check found the damage');
    });
  });
}
