/**
 * A short matrix on a real 2-node cluster (root): the runner builds the cluster and the servers,
 * runs interleaved trials over three paths and three workloads, and writes a results JSON that
 * passes schema validation, the HTML report and the Markdown summary; nothing of the cluster is
 * left and the host's root namespace is unchanged. Also `kdp bench` itself: a SIGINT mid-run
 * tears its cluster down and exits 130.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readResults } from '../../../bench/lib/validate.ts';
import { writeOutputs } from '../../../bench/run/output.ts';
import { runMatrix } from '../../../bench/run/matrix-runner.ts';
import type { MatrixSpec } from '../../../bench/run/spec.ts';
import { defineProxyMode } from '../../../dataplane/proxy/mode-spec.ts';
import { registerProxyMode } from '../../../dataplane/proxy/modes.ts';
import { KDP_BIN, leftovers, uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';

const WORKLOADS = ['tcp-stream-1', 'tcp-rr', 'http'];
const PATHS = ['pod-pod-cross-node', 'pod-clusterip', 'external-nodeport'];

/** A mode this host cannot run, so the matrix must skip its cells and say why. */
const UNRUNNABLE = defineProxyMode({
  name: 'unrunnable',
  summary: 'a mode no host can run',
  options: (flags) => flags,
  missing: () => 'unrunnable mode needs a kernel nobody has',
  create: null,
});

test('a short matrix produces valid JSON, HTML and Markdown', { timeout: 300_000 }, async (t) => {
  const prefix = uniqueCluster();
  const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-matrix-'));
  const unregister = registerProxyMode(UNRUNNABLE);
  try {
    await withRootUnchanged(t, `${prefix}1`, async () => {
      const spec: MatrixSpec = {
        suite: 'custom',
        ...{
          modes: ['iptables', 'unrunnable'],
          backends: ['host-gw'],
          paths: PATHS,
          dataWorkloads: WORKLOADS,
        },
        ...{ controlWorkloads: [], trials: 2, warmup: 1, seconds: 1, seed: 3, quick: true },
      };
      const results = await runMatrix(spec, { controlWorkloads: [], clusterPrefix: prefix });
      const out = join(dir, 'r.json');
      writeOutputs(results, { out, markdown: join(dir, 'r.md') });
      const doc = readResults(out);
      const iptables = doc.cells.filter((c) => c.axes.mode === 'iptables');
      assert.equal(iptables.length, PATHS.length * WORKLOADS.length);
      for (const c of iptables) {
        assert.equal(c.skipped, undefined, c.id);
        assert.deepEqual(c.errors ?? [], [], c.id);
        const names = c.metrics.map((m) => m.name);
        const expected = {
          'tcp-stream-1': 'throughput_gbps',
          'tcp-rr': 'latency_p99_us',
          http: 'requests_per_s',
        };
        assert.ok(names.includes(expected[c.axes.workload as keyof typeof expected]), `${c.id}: ${names}`);
        for (const m of c.metrics) {
          assert.equal(m.trials.length, 2, `${c.id} ${m.name}`);
          for (const v of m.trials) assert.ok(Number.isFinite(v) && v >= 0, `${c.id} ${m.name} ${v}`);
        }
        const main = c.metrics.find((m) => m.name === expected[c.axes.workload as keyof typeof expected])!;
        assert.ok(main.summary.median > 0, `${c.id}: a real measurement`);
      }
      const unrunnable = doc.cells.filter((c) => c.axes.mode === 'unrunnable');
      assert.ok(unrunnable.length > 0);
      for (const c of unrunnable) assert.match(c.skipped ?? '', /a kernel nobody has/, c.id);
      assert.match(readFileSync(join(dir, 'r.html'), 'utf8'), /<canvas/);
      const md = readFileSync(join(dir, 'r.md'), 'utf8');
      for (const w of WORKLOADS) assert.ok(md.includes(w), `the summary has ${w}`);
    });
  } finally {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'kdp bench: SIGINT during the trials tears the cluster down and exits 130',
  { timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-sigint-'));
    try {
      const out = join(dir, 'never.json');
      const args = ['bench', '--suite', 'ci', '--paths', 'pod-pod-cross-node', '--workloads', 'tcp-rr'];
      const child = spawn(KDP_BIN, [...args, '--trials', '100', '--seconds', '1', '--out', out]);
      let stderr = '';
      const interrupted = new Promise<void>((resolve) =>
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          // The first trial has started: the cluster and its servers are up.
          if (/trial \d+\/\d+/.test(stderr)) resolve();
        }),
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await Promise.race([interrupted, exited]);
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.equal(existsSync(out), false, 'an interrupted run writes no results');
      assert.deepEqual(leftovers(`kb${child.pid}-1`), { namespaces: [], processes: [], stateDir: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
