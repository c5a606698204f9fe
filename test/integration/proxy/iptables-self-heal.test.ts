/**
 * Self-healing on the real kernel, with both iptables backends: a pod requests a ClusterIP
 * continuously (a new connection every 20 ms) while someone damages the rules inside the node's
 * namespace, one kind after another (`iptables -t nat -F`, the PREROUTING jump deleted, nat
 * KUBE-SERVICES deleted with -X, `iptables -t filter -F`), and the proxy's periodic check notices
 * each and rewrites everything with a full sync. Per damage the test requires the same rules as
 * before, traffic answering again, and exactly one full sync forced by the check in the agent's
 * metrics (none before any damage): so the repair came from the check, not from the periodic
 * sync. The failed requests and the gap to the first answer of the unbroken run after the damage
 * are reported as diagnostics, not asserted (they depend on the machine's load: the check period
 * stretches to 10x a slow check's duration); docs/PERFORMANCE.md has measured figures.
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
import { netnsPath } from '../../../dataplane/kernel/name-checks.ts';
import { uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';
import {
  addBackends,
  createService,
  inPod,
  metric,
  nodeMetrics,
  nodeRules,
  streamRequests,
  type Answer,
} from './helpers.ts';
import { until } from '../../helpers/until.ts';

const HTTP = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }];
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

const PORTALS = ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'];

/** Damage someone else does inside the node's namespace: iptables commands, in order. */
const DAMAGE: { name: string; commands: string[][] }[] = [
  { name: 'nat -F', commands: [['-t', 'nat', '-F']] },
  { name: 'the PREROUTING jump deleted', commands: [['-t', 'nat', '-D', 'PREROUTING', ...PORTALS]] },
  {
    name: 'nat KUBE-SERVICES flushed, unhooked and deleted (-X)',
    commands: [
      ['-t', 'nat', '-F', 'KUBE-SERVICES'],
      ['-t', 'nat', '-D', 'PREROUTING', ...PORTALS],
      ['-t', 'nat', '-D', 'OUTPUT', ...PORTALS],
      ['-t', 'nat', '-X', 'KUBE-SERVICES'],
    ],
  },
  { name: 'filter -F', commands: [['-t', 'filter', '-F']] },
];

for (const backend of ['nft', 'legacy'] as const) {
  test(`iptables mode (${backend}): the periodic check repairs outside damage and traffic comes back`, async (t) => {
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
        ...{ intervalMs: 20, timeoutMs: 200, waitFirstMs: 15_000, maxMs: 180_000 },
      });
      await until('10 answers', () => stream.soFar().filter((a) => a.body).length >= 10 || undefined, {
        intervalMs: 50,
      });
      const before = await nodeRules(netns, backend);
      assert.match(before, /^-A PREROUTING .*-j KUBE-SERVICES$/m, `${backend} holds the rules`);
      // Full syncs the periodic check forced.
      const repairs = async () =>
        metric(await nodeMetrics(netns), 'kdp_proxy_kernel_state_repairs_total') ?? 0;
      assert.equal(await repairs(), 0, 'intact rules pass the check on this backend (no spurious full sync)');

      const rounds: { damage: string; damagedAt: number }[] = [];
      for (const [n, damage] of DAMAGE.entries()) {
        const damagedAt = Date.now();
        rounds.push({ damage: damage.name, damagedAt });
        for (const args of damage.commands) {
          const r = await runIn(netnsPath(netns), [`iptables-${backend}`, '-w', ...args]);
          assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        }
        await until(
          `the proxy to repair: ${damage.name}`,
          async () => (await nodeRules(netns, backend)) === before || undefined,
          { timeoutMs: 10_000, intervalMs: 50 },
        );
        await until(
          `30 answers after the repair of: ${damage.name}`,
          () => {
            const r = recovery(stream.soFar(), damagedAt);
            return r.recoveredAt !== undefined &&
              stream.soFar().filter((a) => a.t > r.recoveredAt! && a.body).length >= 30
              ? true
              : undefined;
          },
          { intervalMs: 50 },
        );
        assert.equal(await repairs(), n + 1, `one forced full sync per damage (${damage.name})`);
      }
      const answers = await stream.stop();
      for (const [i, round] of rounds.entries()) {
        const next = rounds[i + 1]?.damagedAt ?? Infinity;
        const mine = answers.filter((a) => a.t < next);
        const { failed, recoveredAt } = recovery(mine, round.damagedAt);
        const gap = recoveredAt! - round.damagedAt;
        const total = mine.filter((a) => a.t >= round.damagedAt).length;
        t.diagnostic(
          `${backend}, ${round.damage}: ${failed}/${total} requests failed; traffic back after ${gap} ms`,
        );
        assert.ok(recoveredAt !== undefined, `${round.damage}: traffic came back`);
      }
    });
  });
}
